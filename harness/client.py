"""Bob's client: call /check and /predict (or /v2) over TLS with the CA and the bearer token.

    python -m harness.client --url https://127.0.0.1:8443 --ca build/local/serve/tls/ca.crt \\
        --token-file build/local/serve/token/token ["a review" ...]
    python -m harness.client ... --v2 [--input request.json | --input -]

With no reviews it scores three example reviews. A model whose card has no review API is
served through the Open Inference Protocol only: the default run then shows its /v2
signature instead of failing. `--v2` prints the server's and the model's metadata and, with
`--input`, runs an inference: the file (or stdin) holds either a full Open Inference
Protocol request (`{"inputs": [...]}`) or, shorter, one nested JSON array per input name
(`{"text": ["a review"]}`; datatype and shape are taken from the model's metadata).
The token is read from a file (never from the command line, where `ps` and shell history
would show it) and never printed. Standard library only, so the client needs nothing but
Python. Exit codes: 0 success, 1 the server refused or failed, 2 bad arguments or files.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

SEED_REVIEWS = ["The movie was great!", "The movie was okay.", "The movie was terrible..."]
DEFAULT_THRESHOLDS = (0.35, 0.65)


TOKEN_HINT = (
    "the server refused the bearer token in {path}: use the file printed as token= on the "
    "READY line of `make serve` (each run writes a new one), or on a cluster the harness's "
    "bearer-token Secret"
)


class ClientError(Exception):
    """The server answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def read_token(path: Path) -> str:
    """First non-empty line of the token file."""
    try:
        lines = [
            line.strip() for line in path.read_text(encoding="ascii").splitlines() if line.strip()
        ]
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read token file {path}: {exc}") from None
    if not lines:
        raise ValueError(f"token file {path} is empty")
    return lines[0]


class HarnessClient:
    """Minimal HTTPS JSON client pinned to one CA."""

    def __init__(
        self, url: str, ca_file: Path, token: str | None, *, timeout: float = 30.0
    ) -> None:
        if not url.startswith("https://"):
            raise ValueError(f"--url {url!r}: the harness only speaks HTTPS")
        self.url = url.rstrip("/")
        try:
            self._context = ssl.create_default_context(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"cannot load CA file {ca_file}: {exc}") from None
        self._token = token
        self.timeout = timeout
        self.token_file: Path | None = None  # named in the hint when the token is refused

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        """(status, decoded JSON or text, headers); never raises for HTTP error statuses."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(req, context=self._context, timeout=self.timeout) as resp:  # noqa: S310
                status, raw, resp_headers = resp.status, resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as exc:
            status, raw, resp_headers = exc.code, exc.read(), dict(exc.headers)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ClientError(f"cannot reach {self.url}: {reason}") from None
        try:
            decoded: Any = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            decoded = raw.decode("utf-8", "replace")
        return status, decoded, resp_headers

    def _ok(self, method: str, path: str, body: Any = None) -> Any:
        status, doc, _ = self.request(method, path, body)
        if status != 200:
            message = str(doc)
            code = ""
            if isinstance(doc, dict):
                message = str(doc.get("message") or doc.get("error") or doc)
                code = str(doc.get("error", ""))
            if status == 401 and self.token_file is not None:
                message += "; " + TOKEN_HINT.format(path=self.token_file)
            raise ClientError(f"{method} {path}: HTTP {status}: {message}", status, code)
        return doc

    def ready(self) -> bool:
        try:
            return self.request("GET", "/readyz")[0] == 200
        except ClientError:
            return False

    def check(self) -> dict[str, Any]:
        return dict(self._ok("GET", "/check"))

    def server_metadata(self) -> dict[str, Any] | None:
        """`GET /v2` (None if this server does not offer it)."""
        status, doc, _ = self.request("GET", "/v2")
        if status == 404 or not isinstance(doc, dict):
            return None
        if status != 200:
            self._ok("GET", "/v2")  # raises with the server's message
        return dict(doc)

    def model_metadata(self, name: str) -> dict[str, Any]:
        return dict(self._ok("GET", f"/v2/models/{urllib.parse.quote(name, safe='')}"))

    def infer(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
        path = f"/v2/models/{urllib.parse.quote(name, safe='')}/infer"
        return dict(self._ok("POST", path, request))

    def predict(self, reviews: list[str]) -> list[float]:
        doc = self._ok("POST", "/predict", {"reviews": reviews})
        if not isinstance(doc, list) or len(doc) != len(reviews):
            raise ClientError(f"POST /predict: unexpected response shape: {str(doc)[:200]}")
        return [float(row[0]) for row in doc]


def label(score: float, thresholds: tuple[float, float] = DEFAULT_THRESHOLDS) -> str:
    low, high = thresholds
    return "negative" if score < low else "positive" if score > high else "neutral"


def format_check(info: dict[str, Any]) -> str:
    model = info.get("model", {})
    version = str(info.get("kms_key_version", "")).rsplit("/", 1)[-1] or "?"
    flags = ", ".join(
        f
        for f, on in (
            ("verified", info.get("sha256_verified")),
            ("pinned", info.get("sha256_pinned")),
        )
        if on
    )
    rows = [
        ("object", f"{info.get('model_uri')}  generation {info.get('generation')}"),
        ("sha256", f"{info.get('sha256')}  ({flags or 'not verified'})"),
        ("kms key", f"{info.get('kms_key_uri')}  (version {version})"),
        ("keyset", f"{info.get('keyset_key_type')}, sealed {info.get('sealed_at') or '?'}"),
        (
            "loaded",
            f"{info.get('loaded_at')} in {info.get('load_seconds')} s ({info.get('plaintext_bytes')} bytes)",
        ),
        ("model", f"{model.get('name')} ({model.get('format')})"),
    ]
    return "model check (GET /check)\n" + "\n".join(f"  {k:<8} {v}" for k, v in rows)


def format_predictions(
    reviews: list[str], scores: list[float], thresholds: tuple[float, float]
) -> str:
    lines = ["predictions (POST /predict; 1 = positive)"]
    for review, score in zip(reviews, scores, strict=True):
        lines.append(f"  {score:.4f}  {label(score, thresholds):<8}  {review}")
    return "\n".join(lines)


def _shape(value: Any) -> list[int]:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return shape


def _flat(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [item for part in value for item in _flat(part)]
    return [value]


def infer_request(doc: Any, metadata: dict[str, Any]) -> dict[str, Any]:
    """A full request as given, or `{"<input>": nested array, ...}` completed from metadata."""
    if isinstance(doc, dict) and isinstance(doc.get("inputs"), list):
        return dict(doc)
    specs = {t["name"]: t for t in metadata.get("inputs", [])}
    if not isinstance(doc, dict) or not doc:
        raise ValueError(
            'the input must be a JSON object: {"inputs": [...]} or one array per input name, '
            f"e.g. {{{', '.join(repr(n) + ': [...]' for n in specs)}}}".replace("'", '"')
        )
    unknown = sorted(set(doc) - set(specs))
    if unknown:
        raise ValueError(f"unknown input(s) {unknown}; the model takes {sorted(specs)}")
    inputs = []
    for name, value in doc.items():
        if not isinstance(value, list):
            raise ValueError(f"input {name!r}: expected a JSON array, got {type(value).__name__}")
        spec = specs[name]
        inputs.append(
            {
                "name": name,
                "datatype": spec["datatype"],
                "shape": _shape(value),
                "data": _flat(value),
            }
        )
    return {"inputs": inputs}


def format_metadata(server: dict[str, Any] | None, meta: dict[str, Any]) -> str:
    lines = []
    if server is not None:
        extensions = ", ".join(server.get("extensions", [])) or "none"
        lines.append(
            f"server (GET /v2): {server.get('name')} {server.get('version')}, "
            f"extensions: {extensions}"
        )
    lines.append(
        f"model {meta.get('name')} (GET /v2/models/{meta.get('name')}): versions "
        f"{', '.join(meta.get('versions', []))}, platform {meta.get('platform')}"
    )
    for role in ("inputs", "outputs"):
        for tensor in meta.get(role, []):
            lines.append(
                f"  {role[:-1]:<6}  {tensor['name']:<12} {tensor['datatype']:<6} {tensor['shape']}"
            )
    return "\n".join(lines)


def format_outputs(name: str, answer: dict[str, Any]) -> str:
    lines = [f"inference (POST /v2/models/{name}/infer)"]
    for out in answer.get("outputs", []):
        data = ", ".join(
            f"{v:.4f}" if isinstance(v, float) else str(v) for v in out.get("data", [])
        )
        lines.append(f"  {out['name']:<12} {out['datatype']:<6} {out['shape']}  {data}")
    return "\n".join(lines)


def _read_input(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read --input {path}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--input {path} is not JSON: {exc}") from None


def run_v2(client: HarnessClient, name: str, input_path: str | None, as_json: bool) -> int:
    """Metadata, then an inference if asked; 2 for a bad input file, 1 for a refusal."""
    server = client.server_metadata()
    meta = client.model_metadata(name)
    answer = None
    if input_path is not None:
        try:
            request = infer_request(_read_input(input_path), meta)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        answer = client.infer(name, request)
    if as_json:
        print(json.dumps({"server": server, "model": meta, "infer": answer}, indent=2))
        return 0
    print(format_metadata(server, meta))
    if answer is not None:
        print()
        print(format_outputs(name, answer))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.client", description=__doc__.splitlines()[0]
    )
    parser.add_argument("reviews", nargs="*", help="reviews to score (default: three examples)")
    parser.add_argument("--url", required=True, help="https://host:port of the harness")
    parser.add_argument(
        "--ca", required=True, type=Path, help="CA certificate that signed the harness certificate"
    )
    parser.add_argument(
        "--token-file", required=True, type=Path, help="file holding the bearer token"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--json", action="store_true", help="print the raw JSON responses")
    parser.add_argument("--check-only", action="store_true", help="only call /check")
    parser.add_argument(
        "--v2",
        action="store_true",
        help="Open Inference Protocol: server and model metadata (and --input's inference)",
    )
    parser.add_argument(
        "--input",
        metavar="FILE",
        help="with --v2: JSON request to infer, from FILE or - for stdin",
    )
    args = parser.parse_args(argv)
    if args.input is not None and not args.v2:
        print("error: --input needs --v2", file=sys.stderr)
        return 2
    try:
        client = HarnessClient(args.url, args.ca, read_token(args.token_file), timeout=args.timeout)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    client.token_file = args.token_file
    reviews = args.reviews or SEED_REVIEWS
    try:
        info = client.check()
        name = str(info.get("model", {}).get("name", ""))
        if args.v2:
            return run_v2(client, name, args.input, args.json)
        scores = [] if args.check_only else client.predict(reviews)
    except ClientError as exc:
        if exc.code == "no_seed_api":
            return _no_review_api(client, info, args.json)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"check": info, "predictions": [[s] for s in scores]}, indent=2))
        return 0
    labels = info.get("model", {}).get("labels", {})
    thresholds = (
        float(labels.get("negative_below", DEFAULT_THRESHOLDS[0])),
        float(labels.get("positive_above", DEFAULT_THRESHOLDS[1])),
    )
    print(format_check(info))
    if not args.check_only:
        print()
        print(format_predictions(reviews, scores, thresholds))
    return 0


def _no_review_api(client: HarnessClient, info: dict[str, Any], as_json: bool) -> int:
    """The model has no review API: show what it takes over /v2 and how to call it."""
    name = str(info.get("model", {}).get("name", ""))
    try:
        meta = client.model_metadata(name)
    except ClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps({"check": info, "model": meta}, indent=2))
        return 0
    print(format_check(info))
    print()
    print(
        f"model {name} has no review API (/predict): it is served through the Open Inference "
        "Protocol only. Its signature:"
    )
    print(format_metadata(None, meta))
    print()
    print("To run it: add --v2 --input FILE, FILE holding one JSON array per input name.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
