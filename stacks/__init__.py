"""One module per party's stack. Each `build(config, links)` wires components and returns its exports."""
