"""Program entry, typed config, naming, providers and the offline tooling of gke-sandbox."""
