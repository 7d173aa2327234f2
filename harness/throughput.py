"""Throughput floor of issue 12: the harness against a bare app, same TLS, same load.

The bare app is uvicorn + Starlette on the same certificate that checks the bearer token,
parses the same JSON and returns three numbers: what any server must at least do. The
harness should reach >= 0.8 of it. `wrk` (when installed) drives both, one after the
other, with the same script, connections and duration:

    python -m harness.throughput bare --tls-dir D --token-file F --port P   # serve the bare app
    compare(harness_url, bare_url, token, connections=(1, 16))              # from the bench

Not used by the server; it lives here because it must run what the image runs.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

SEED_BODY = {
    "reviews": ["The movie was great!", "The movie was okay.", "The movie was terrible..."]
}
_WRK_LUA = """wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
"""


def bare_app(token: str) -> Any:
    """The comparison app: bearer check, JSON parse, three numbers back."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    expected = f"Bearer {token}"

    async def predict(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        doc = json.loads(await request.body())
        return JSONResponse([[0.5] for _ in doc["reviews"]])

    return Starlette(routes=[Route("/predict", predict, methods=["POST"])])


def wrk_rate(url: str, token: str, connections: int, seconds: int = 5) -> float | None:
    """Requests per second `wrk` measures against `url`/predict; None without wrk."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(_WRK_LUA.format(body=json.dumps(SEED_BODY), token=token))
        script.flush()
        out = subprocess.run(  # noqa: S603 - fixed argv, loopback URL
            [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script.name, url + "/predict"],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        ).stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError(f"wrk saw errors from {url}:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(match.group(1)) if match else None


def compare(
    harness_url: str,
    bare_url: str,
    token: str,
    connections: tuple[int, ...] = (1, 16),
    repeats: int = 3,
    seconds: int = 3,
) -> dict[str, Any]:
    """{connections: {harness, bare, ratio, runs}} req/s, measured in the same run.

    The two servers are measured alternately, `repeats` times each, and the best run of
    each is compared: on a shared machine, other load only ever slows a run down, so the
    best is the least disturbed estimate (every run is reported too).
    """
    result: dict[str, Any] = {}
    for count in connections:
        runs: dict[str, list[float]] = {"harness": [], "bare": []}
        for _ in range(repeats):
            for name, url in (("harness", harness_url), ("bare", bare_url)):
                rate = wrk_rate(url, token, count, seconds)
                if rate is not None:
                    runs[name].append(rate)
        harness = max(runs["harness"], default=None)
        bare = max(runs["bare"], default=None)
        ratio = round(harness / bare, 3) if harness and bare else None
        result[str(count)] = {"harness": harness, "bare": bare, "ratio": ratio, "runs": runs}
    return result


def _serve_bare(args: argparse.Namespace) -> None:
    import uvicorn

    token = Path(args.token_file).read_text().split()[0]
    tls = Path(args.tls_dir)
    uvicorn.run(
        bare_app(token),
        host="127.0.0.1",
        port=args.port,
        ssl_certfile=str(tls / "tls.crt"),
        ssl_keyfile=str(tls / "tls.key"),
        log_level="warning",
        workers=args.workers,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m harness.throughput")
    sub = parser.add_subparsers(dest="verb", required=True)
    bare = sub.add_parser("bare", help="serve the bare comparison app")
    bare.add_argument("--tls-dir", required=True)
    bare.add_argument("--token-file", required=True)
    bare.add_argument("--port", type=int, required=True)
    bare.add_argument("--workers", type=int, default=1)
    _serve_bare(parser.parse_args())


if __name__ == "__main__":
    main()
