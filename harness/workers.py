"""Several serving processes over one decrypted model: load once, then fork.

The parent decrypts and verifies the model once, then forks `HARNESS_WORKERS` children
that accept on the same listening socket. The plaintext lives in a private anonymous
mapping, so after `fork` every child reads the same physical pages (copy-on-write; the
weights are never written, so never copied). Nothing is decrypted twice and nothing is
written to disk. The parent only supervises: it forwards SIGTERM/SIGINT, and replaces a
child that dies unexpectedly by forking again from its own copy of the model.

Shared by all workers (tables in shared anonymous memory, created before the fork): the
rate limit (`harness.ratelimit`) and the metrics (`harness.metrics.SharedTable`, one row
per worker slot). Per worker: the connection cap. `make_server(slot)` builds slot `slot`'s
server; a replacement gets the slot of the worker it replaces.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("harness.workers")
RESPAWN_DELAY = 1.0


def _child(make_server: Callable[[int], Any], slot: int, sock: socket.socket) -> None:
    """Run one worker until it is told to stop; never returns."""
    code = 0
    server: Any = None
    stop_requested = False

    def stop(_signum: int, _frame: Any) -> None:
        # A SIGTERM that lands before uvicorn installs its own handlers must still stop this
        # worker (ignoring it left a worker serving until the next signal); after a graceful
        # shutdown uvicorn re-raises the signal here, where it changes nothing.
        nonlocal stop_requested
        stop_requested = True
        if server is not None:
            server.should_exit = True

    try:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stop)
        server = make_server(slot)
        server.should_exit = server.should_exit or stop_requested
        server.run(sockets=[sock])
    except BaseException:
        log.exception("worker %d failed", os.getpid())
        code = 1
    finally:
        logging.shutdown()
        os._exit(code)


def run_workers(count: int, make_server: Callable[[int], Any], sock: socket.socket) -> int:
    """Fork `count` workers serving `sock`; return 0 once they have all stopped."""
    children: dict[int, int] = {}
    stopping = False

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            _child(make_server, slot, sock)
        children[pid] = slot

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    for slot in range(count):
        spawn(slot)
    log.info("serving with %d worker processes: %s", count, sorted(children))
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        slot = children.pop(pid, None)
        if slot is None or stopping:
            continue
        log.error(
            "worker %d exited (status %d); forking a replacement from the loaded model",
            pid,
            status,
        )
        time.sleep(RESPAWN_DELAY)
        if not stopping:
            spawn(slot)
    return 0
