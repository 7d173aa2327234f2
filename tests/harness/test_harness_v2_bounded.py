"""Work per /v2 request is bounded: an element limit, chunked batches, and a server that keeps
answering while a large request runs.

The model here is a stand-in with the ServableModel interface whose `run` takes time in
proportion to its rows (a sleep, so CPU load elsewhere barely changes it) and records each
call, so the test sees how the server split the work. It runs behind the real app and gate in
a real uvicorn server with ONE inference thread, the case where one large request used to
hold the whole pool.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from harness_testlib import new_token

from harness.app import Limits, ModelState, create_app
from harness.auth import TokenStore
from harness.inference_protocol import TensorSpec
from harness.ratelimit import RateLimiter

ROWS_PER_SECOND = 1000  # the stand-in model's speed: 1 ms a row


class SlowDoubler:
    """y = 2 x, taking 1 ms a row; records the rows of every call."""

    name = "doubler"
    version = "1"
    inputs = (TensorSpec("x", "FP32", (-1, 4)),)
    outputs = (TensorSpec("y", "FP32", (-1, 4)),)

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.started = threading.Event()

    def run(self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str]) -> list[np.ndarray]:
        x = feeds["x"]
        self.calls.append(int(x.shape[0]))
        self.started.set()
        time.sleep(x.shape[0] / ROWS_PER_SECOND)
        return [x * 2]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], SlowDoubler]]:
    from infra.local.tls import write_token

    token = new_token()
    tokens = TokenStore(write_token(tmp_path / "token", token))
    tokens.load()
    model = SlowDoubler()
    state = ModelState()
    state.set_loaded(SimpleNamespace(model=model, info={}))  # type: ignore[arg-type]
    app = create_app(
        state=state,
        tokens=tokens,
        limiter=RateLimiter(0),
        limits=Limits(1 << 20, 64, 100, max_elements=4 * 3000),
        infer_threads=1,
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield (
            f"http://127.0.0.1:{sock.getsockname()[1]}",
            {"Authorization": f"Bearer {token}"},
            model,
        )
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _request(rows: int) -> dict[str, Any]:
    data = [[float(r), 1.0, 2.0, 3.0] for r in range(rows)]
    return {"inputs": [{"name": "x", "shape": [rows, 4], "datatype": "FP32", "data": data}]}


def test_metadata_states_the_bounds(served) -> None:
    url, auth, _model = served
    meta = httpx.get(f"{url}/v2/models/doubler", headers=auth).json()
    assert meta["parameters"] == {"max_elements": 12000, "chunk_rows": 64}


def test_past_the_element_limit_is_413(served) -> None:
    url, auth, model = served
    response = httpx.post(f"{url}/v2/models/doubler/infer", json=_request(3001), headers=auth)
    assert response.status_code == 413
    assert "12004 elements, over the request limit of 12000" in response.json()["error"]
    assert model.calls == []  # refused before the model ran


def test_a_large_batch_runs_in_chunks_and_others_are_answered_meanwhile(served) -> None:
    url, auth, model = served
    big_done = threading.Event()
    big: dict[str, Any] = {}

    def send_big() -> None:
        with httpx.Client(timeout=60) as client:
            big["response"] = client.post(
                f"{url}/v2/models/doubler/infer", json=_request(3000), headers=auth
            )
        big_done.set()

    sender = threading.Thread(target=send_big)
    sender.start()
    try:
        assert model.started.wait(30), "the large request never reached the model"
        with httpx.Client(timeout=60) as client:
            ready = client.get(f"{url}/v2/health/ready", headers=auth)
            ready_before_big = not big_done.is_set()
            small = client.post(f"{url}/v2/models/doubler/infer", json=_request(2), headers=auth)
            small_before_big = not big_done.is_set()
    finally:
        sender.join(60)
    assert ready.status_code == 200 and ready_before_big
    assert small.status_code == 200, small.text
    assert small.json()["outputs"][0]["data"] == [0.0, 2.0, 4.0, 6.0, 2.0, 2.0, 4.0, 6.0]
    assert small_before_big, "the small request waited for the whole large one"
    response = big["response"]
    assert response.status_code == 200, response.text
    (out,) = response.json()["outputs"]
    assert out["shape"] == [3000, 4]
    assert out["data"][:8] == [0.0, 2.0, 4.0, 6.0, 2.0, 2.0, 4.0, 6.0]
    assert out["data"][-4:] == [5998.0, 2.0, 4.0, 6.0]
    big_calls = [rows for rows in model.calls if rows != 2]
    assert sum(big_calls) == 3000 and max(big_calls) == 64, model.calls
