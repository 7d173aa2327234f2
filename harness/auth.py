"""Bearer-token check against a mounted Secret file, re-read when the file changes.

Kubernetes updates a mounted Secret by swapping a symlink, so the file's identity (inode,
size, mtime) changes on rotation: one `stat` per request notices it and the new token
works without a restart (seed 002). The file may hold several tokens, one per line, so a
rotation can overlap old and new. If the file becomes unreadable or invalid the harness
fails closed (every token refused) until it is fixed. Tokens are compared in constant
time and never logged.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import threading
from enum import Enum
from pathlib import Path

MIN_TOKEN_CHARS = 16
MAX_TOKEN_FILE_BYTES = 64 * 1024
MAX_TOKENS = 8
# RFC 6750 b64token characters
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9\-._~+/]+=*")

log = logging.getLogger("harness.auth")


class TokenFileError(ValueError):
    """The token file is missing or invalid; the message says why (never the token)."""


class AuthResult(Enum):
    OK = "ok"
    MISSING = "missing"
    INVALID = "invalid"


def parse_token_file(raw: bytes, path: Path) -> tuple[bytes, ...]:
    """Validate the file's tokens: one per non-empty line, b64token characters, >= 16 long."""
    if len(raw) > MAX_TOKEN_FILE_BYTES:
        raise TokenFileError(f"token file {path}: larger than {MAX_TOKEN_FILE_BYTES} bytes")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise TokenFileError(f"token file {path}: not ASCII") from None
    tokens = [line.strip() for line in text.splitlines() if line.strip()]
    if not tokens:
        raise TokenFileError(f"token file {path}: empty")
    if len(tokens) > MAX_TOKENS:
        raise TokenFileError(f"token file {path}: {len(tokens)} tokens, at most {MAX_TOKENS}")
    for number, token in enumerate(tokens, 1):
        if len(token) < MIN_TOKEN_CHARS:
            raise TokenFileError(
                f"token file {path}: token {number} is {len(token)} characters, need >= {MIN_TOKEN_CHARS}"
            )
        if not _TOKEN_CHARS.fullmatch(token):
            raise TokenFileError(
                f"token file {path}: token {number} has characters outside RFC 6750 b64token"
            )
    return tuple(t.encode("ascii") for t in tokens)


class TokenStore:
    """The currently valid tokens, refreshed whenever the file's identity changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int, int] | None = None
        self._tokens: tuple[bytes, ...] = ()
        self.reloads = 0

    def load(self) -> None:
        """Initial load: raises `TokenFileError` so startup can refuse a bad file."""
        try:
            st = os.stat(self.path)
            raw = self.path.read_bytes()
        except OSError as exc:
            raise TokenFileError(f"token file {self.path}: cannot read ({exc.strerror})") from None
        self._tokens = parse_token_file(raw, self.path)
        self._signature = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def _current(self) -> tuple[bytes, ...]:
        try:
            st = os.stat(self.path)
            signature = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            signature = None
        if signature == self._signature:
            return self._tokens
        with self._lock:
            if signature == self._signature:
                return self._tokens
            try:
                tokens = parse_token_file(self.path.read_bytes(), self.path) if signature else ()
                if not signature:
                    log.error(
                        "token file %s disappeared; refusing every request until it is back",
                        self.path,
                    )
            except (OSError, TokenFileError) as exc:
                log.error("token file changed but is unusable (%s); refusing every request", exc)
                tokens = ()
            else:
                log.info("token file %s changed; %d token(s) now valid", self.path, len(tokens))
            self._tokens = tokens
            self._signature = signature
            self.reloads += 1
            return tokens

    def check(self, authorization: str | None) -> AuthResult:
        """Judge an `Authorization` header value."""
        if not authorization:
            return AuthResult.MISSING
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return AuthResult.MISSING
        try:
            presented = credentials.strip().encode("ascii")
        except UnicodeEncodeError:
            return AuthResult.INVALID
        matched = False
        for token in self._current():
            # compare against every token, no early exit: timing says nothing about which
            matched |= hmac.compare_digest(presented, token)
        return AuthResult.OK if matched else AuthResult.INVALID
