"""Alice's side of the data path: the ONNX demo model (`onnx_demo`), ONNX preparation (`onnx_pack`) and the seal tool (`seal`)."""
