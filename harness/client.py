"""Bob's client: call /check and /predict over TLS with the CA and the bearer token.

    python -m harness.client --url https://127.0.0.1:8443 --ca build/local/tls/ca.crt \\
        --token-file build/local/token/token ["a review" ...]

With no reviews it scores the three reviews of seed 003. The token is read from a file
(never from the command line, where `ps` and shell history would show it) and never
printed. Standard library only, so the client needs nothing but Python.
Exit codes: 0 success, 1 the server refused or failed, 2 bad arguments or files.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

SEED_REVIEWS = ["The movie was great!", "The movie was okay.", "The movie was terrible..."]
DEFAULT_THRESHOLDS = (0.35, 0.65)


class ClientError(Exception):
    """The server answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


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
            message = doc.get("message") if isinstance(doc, dict) else str(doc)
            raise ClientError(f"{method} {path}: HTTP {status}: {message}", status)
        return doc

    def ready(self) -> bool:
        try:
            return self.request("GET", "/readyz")[0] == 200
        except ClientError:
            return False

    def check(self) -> dict[str, Any]:
        return dict(self._ok("GET", "/check"))

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.client", description=__doc__.splitlines()[0]
    )
    parser.add_argument("reviews", nargs="*", help="reviews to score (default: seed 003's three)")
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
    args = parser.parse_args(argv)
    try:
        client = HarnessClient(args.url, args.ca, read_token(args.token_file), timeout=args.timeout)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    reviews = args.reviews or SEED_REVIEWS
    try:
        info = client.check()
        scores = [] if args.check_only else client.predict(reviews)
    except ClientError as exc:
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


if __name__ == "__main__":
    sys.exit(main())
