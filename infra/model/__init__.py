"""Alice's side of the data path: build the demo model (`modelbuild`) and seal it (`seal`)."""
