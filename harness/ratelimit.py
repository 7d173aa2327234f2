"""Per-client token-bucket rate limit (seed 001: 100 requests per minute by default).

A bucket holds up to `per_minute` tokens and refills continuously at `per_minute / 60`
per second, so a client may burst to the limit and then sustains the rate. The buckets
live in one fixed table in shared anonymous memory, created before the workers are
forked, so every worker process draws from the same bucket for a client (otherwise a
client spreading connections over N workers would get N times the limit). Memory is
fixed: `max_clients` slots; a client hashes (keyed BLAKE2b, so nobody can aim at a slot)
to 4 neighbouring slots and, when all are taken, the least recently seen is evicted.
The clock is injectable so tests need no sleeping; `time.monotonic` is system-wide.
"""

from __future__ import annotations

import hashlib
import math
import mmap
import multiprocessing
import os
import struct
import time
from collections.abc import Callable

_SLOT = struct.Struct("=Qdd")  # key hash, tokens, last seen
_WAYS = 4


class RateLimiter:
    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 65_536,
    ) -> None:
        if per_minute < 0:
            raise ValueError(f"per_minute must be >= 0, got {per_minute}")
        if max_clients < 1:
            raise ValueError(f"max_clients must be >= 1, got {max_clients}")
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._clock = clock
        self._slots = max_clients
        self._key = os.urandom(16)
        self._table = mmap.mmap(
            -1, _SLOT.size * max_clients, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS
        )
        self._lock = multiprocessing.get_context("fork").Lock()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def _hash(self, client: str) -> int:
        digest = hashlib.blake2b(client.encode(), digest_size=8, key=self._key).digest()
        return int.from_bytes(digest, "little") | 1  # 0 marks an empty slot

    def acquire(self, client: str) -> float:
        """Take one token for `client`: 0.0 if allowed, else seconds until the next token."""
        if not self.enabled:
            return 0.0
        key = self._hash(client)
        now = self._clock()
        full = float(self.per_minute)
        with self._lock:
            offset, tokens, stamp = self._find(key, now)
            tokens = min(full, tokens + (now - stamp) * self._rate)
            if tokens >= 1.0:
                _SLOT.pack_into(self._table, offset, key, tokens - 1.0, now)
                return 0.0
            _SLOT.pack_into(self._table, offset, key, tokens, now)
        return (1.0 - tokens) / self._rate

    def _find(self, key: int, now: float) -> tuple[int, float, float]:
        """The slot of `key` (offset, tokens, stamp), or a fresh full bucket in a free one."""
        oldest, oldest_stamp = -1, math.inf
        start = key % self._slots
        for i in range(min(_WAYS, self._slots)):
            offset = ((start + i) % self._slots) * _SLOT.size
            found, tokens, stamp = _SLOT.unpack_from(self._table, offset)
            if found == key:
                return offset, tokens, stamp
            if found == 0:
                return offset, float(self.per_minute), now
            if stamp < oldest_stamp:
                oldest, oldest_stamp = offset, stamp
        return oldest, float(self.per_minute), now

    @staticmethod
    def retry_after(wait: float) -> str:
        """`Retry-After` header value: whole seconds, at least 1."""
        return str(max(1, math.ceil(wait)))
