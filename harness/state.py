"""The model's lifecycle as the server sees it: loading -> ready, or failed."""

from __future__ import annotations

import threading

from harness.loader import LoadedModel


class ModelState:
    """Loading -> ready (a verified model) or failed; set from the loader thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.loaded: LoadedModel | None = None
        self.failure: str | None = None

    def set_loaded(self, loaded: LoadedModel) -> None:
        with self._lock:
            self.loaded = loaded

    def set_failed(self, reason: str) -> None:
        with self._lock:
            self.failure = reason

    @property
    def status(self) -> str:
        if self.loaded is not None:
            return "ready"
        return "failed" if self.failure else "loading"
