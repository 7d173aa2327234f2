"""The harness as a process, the way the image runs it: TLS, token, refusals, exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness_testlib import (
    KEY_B,
    REPO_ROOT,
    SEED_REVIEWS,
    Emulators,
    HarnessProcess,
    harness_env,
    new_token,
    run_harness,
    wait_for,
)

from harness.client import ClientError, HarnessClient
from infra.local.gcs import free_port
from infra.local.stack import harness_command


def _client(url: str, tls, token: str | None) -> HarnessClient:
    return HarnessClient(url, tls.ca, token, timeout=10)


@pytest.fixture(scope="module")
def running(
    emulators: Emulators, seal, tls, tmp_path_factory
) -> Iterator[tuple[HarnessProcess, str, Path, Path]]:
    """One harness process serving a freshly sealed model (digest pinned)."""
    report = seal()
    root = tmp_path_factory.mktemp("running")
    token_file = root / "token"
    token = new_token()
    token_file.write_text(token)
    scratch = root / "scratch"
    scratch.mkdir()
    env = harness_env(
        emulators,
        tls,
        token_file,
        free_port(),
        report.dest,
        MODEL_SHA256=report.sha256,
        HARNESS_MAX_BODY_BYTES="65536",
        TMPDIR=str(scratch),
        HOME=str(scratch),
    )
    with run_harness(env, root / "harness.log") as proc:
        client = _client(proc.url, tls, None)
        assert wait_for(lambda: client.ready() or proc.proc.poll() is not None), proc.output()
        assert proc.proc.poll() is None, proc.output()
        yield proc, token, token_file, scratch


def _raw_https(url: str, tls, request: bytes, *, send_body: bytes = b"") -> tuple[int, bytes]:
    """Send a hand-made HTTP/1.1 request over TLS; returns (status, raw response)."""
    host, port = url.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=str(tls.ca))
    with (
        socket.create_connection((host, int(port)), timeout=10) as sock,
        context.wrap_socket(sock, server_hostname=host) as conn,
    ):
        conn.sendall(request)
        if send_body:
            # the server may answer and close before reading it all
            with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
                conn.sendall(send_body)
        chunks = []
        while True:
            try:
                data = conn.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                break
            if not data:
                break
            chunks.append(data)
    raw = b"".join(chunks)
    return int(raw.split(b" ", 2)[1]), raw


def test_serves_over_tls_with_the_pinned_model(running, tls):
    proc, token, _, _ = running
    client = _client(proc.url, tls, token)
    info = client.check()
    assert info["sha256_verified"] and info["sha256_pinned"]
    great, okay, terrible = client.predict(SEED_REVIEWS)
    assert great > okay > terrible


def test_probes_answer_without_token_but_nothing_else_does(running, tls):
    proc, _, _, _ = running
    anonymous = _client(proc.url, tls, None)
    assert anonymous.request("GET", "/healthz")[0] == 200
    assert anonymous.request("GET", "/readyz")[0] == 200
    status, _body, headers = anonymous.request("GET", "/check")
    assert status == 401 and headers["www-authenticate"].startswith("Bearer")


def test_plain_http_and_untrusted_certificates_are_refused(running, tls, tmp_path):
    proc, _, _, _ = running
    port = int(proc.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert not sock.recv(100).startswith(b"HTTP/1.1 200")
    from infra.local.tls import generate

    other_ca = generate(tmp_path / "other").ca_cert
    stranger = HarnessClient(proc.url, other_ca, None, timeout=10)
    from harness.client import ClientError

    with pytest.raises(ClientError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        stranger.request("GET", "/healthz")


def test_token_rotation_in_the_running_process(running, tls):
    proc, token, token_file, _ = running
    rotated = new_token()
    tmp = token_file.with_name("token.new")
    tmp.write_text(rotated + "\n")
    os.replace(tmp, token_file)
    try:
        assert _client(proc.url, tls, token).request("GET", "/check")[0] == 401
        assert _client(proc.url, tls, rotated).request("GET", "/check")[0] == 200
    finally:
        tmp.write_text(token)
        os.replace(tmp, token_file)
    assert _client(proc.url, tls, token).request("GET", "/check")[0] == 200


def test_huge_declared_body_is_refused_without_reading_it(running, tls):
    proc, token, _, _ = running
    head = (
        "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: 10737418240\r\nConnection: close\r\n\r\n"
    ).encode()
    status, raw = _raw_https(proc.url, tls, head)  # 10 GiB announced, nothing sent
    assert status == 413 and b"payload_too_large" in raw
    _client(proc.url, tls, token).predict(["still serving"])


def test_huge_chunked_body_is_cut_off(running, tls):
    proc, token, _, _ = running
    head = (
        "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    chunk = b"x" * 16384
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8)) + b"0\r\n\r\n"
    status, raw = _raw_https(proc.url, tls, head, send_body=body)
    assert status == 413 and b"exceeds the limit" in raw
    _client(proc.url, tls, token).predict(["still serving"])


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"reviews": ["\xff\xfe"]}', "application/json", 400),
        (b'{"reviews": [', "application/json", 400),
        (b'{"reviews": [1, 2]}', "application/json", 422),
        (b'{"reviews": []}', "application/json", 422),
        (b"reviews=a", "application/x-www-form-urlencoded", 415),
    ],
)
def test_bad_input_over_the_wire_is_4xx_and_the_server_survives(
    running, tls, body, content_type, status
):
    proc, token, _, _ = running
    head = (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    got, raw = _raw_https(proc.url, tls, head + body)
    assert got == status
    assert json.loads(raw.split(b"\r\n\r\n", 1)[1])["error"]
    assert _client(proc.url, tls, token).predict(["still serving"])


def test_garbage_requests_do_not_break_the_server(running, tls):
    proc, token, _, _ = running
    for request in (
        b"NOT HTTP AT ALL\r\n\r\n",
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ):
        try:
            status, _ = _raw_https(proc.url, tls, request)
            assert 400 <= status < 500
        except (IndexError, ValueError):
            pass  # closed without a status line: also acceptable for non-HTTP garbage
    assert _client(proc.url, tls, token).request("GET", "/readyz")[0] == 200


def test_logs_hold_no_secrets_and_nothing_is_written(running, tls):
    proc, token, _, scratch = running
    log = proc.output()
    assert token not in log
    assert "encryptedKeyset" not in log and "BEGIN" not in log
    assert '"severity": "INFO"' in log and "verified gs://" in log
    assert list(scratch.iterdir()) == []  # no temp files, no caches: read-only rootfs friendly
    assert not list((REPO_ROOT / "harness").glob("__pycache__/*.cpython-*.pyc.*"))


def test_rate_limit_comes_from_the_environment(emulators, seal, tls, token_file, tmp_path):
    report = seal()
    env = harness_env(emulators, tls, token_file, free_port(), report.dest, HARNESS_RATE_LIMIT="2")
    with run_harness(env, tmp_path / "harness.log") as proc:
        client = _client(proc.url, tls, token_file.read_text())
        assert wait_for(lambda: client.ready() or proc.proc.poll() is not None), proc.output()
        assert [client.request("GET", "/check")[0] for _ in range(3)] == [200, 200, 429]
        assert client.request("GET", "/check")[2]["retry-after"] == "30"


# refusals: the process exits non-zero and never serves ------------------------------------


def _tamper(emulators: Emulators, seal, case: str) -> tuple[dict[str, str], str]:
    """Return (extra env, expected message) after preparing the object for `case`."""
    report = seal()
    blob = emulators.blob(report.dest)
    content, meta = blob.download_as_bytes(), dict(blob.metadata)

    def put(data: bytes, metadata: dict[str, str] | None) -> None:
        target = emulators.storage.bucket(blob.bucket.name).blob(blob.name)
        target.metadata = metadata
        import io

        target.upload_from_file(io.BytesIO(data), size=len(data))

    extra = {"MODEL_URI": report.dest}
    if case == "tampered ciphertext":
        data = bytearray(content)
        data[len(data) // 3] ^= 0x04
        put(bytes(data), meta)
        return extra, "failed authentication"
    if case == "wrong key":
        return {**extra, "KMS_KEY_URI": "gcp-kms://" + KEY_B}, "was sealed with"
    if case == "swapped object":
        other = emulators.blob(seal().dest)
        put(other.download_as_bytes(), dict(other.metadata))
        return extra, "copied or swapped"
    if case == "wrong digest":
        return {**extra, "MODEL_SHA256": "0" * 64}, "MODEL_SHA256"
    if case == "missing metadata":
        put(content, None)
        return extra, "metadata sealed-format is missing"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    ["tampered ciphertext", "wrong key", "swapped object", "wrong digest", "missing metadata"],
)
def test_refused_model_stops_the_process_without_serving(
    emulators, seal, tls, token_file, tmp_path, case
):
    extra, message = _tamper(emulators, seal, case)
    env = harness_env(emulators, tls, token_file, free_port(), extra.pop("MODEL_URI"), **extra)
    with run_harness(env, tmp_path / "harness.log") as proc:
        client = _client(proc.url, tls, token_file.read_text())
        ready_seen = []

        def exited() -> bool:
            try:  # the socket can close between the check and the request: not ready either
                ready = _listening(proc.url) and client.request("GET", "/readyz")[0] == 200
            except ClientError:
                ready = False
            if ready:
                ready_seen.append(True)
            return proc.proc.poll() is not None

        assert wait_for(exited), proc.output()
        assert proc.proc.returncode == 3, proc.output()
        assert not ready_seen
        output = proc.output()
        assert message in output and "error: model refused:" in output
        assert "Traceback" not in output


def _listening(url: str) -> bool:
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"HARNESS_PORT": "not-a-port"}, "HARNESS_PORT='not-a-port'"),
        (
            {"HARNESS_TOKEN_FILE": "/nonexistent/token"},
            "HARNESS_TOKEN_FILE: token file /nonexistent/token: cannot read",
        ),
        ({"HARNESS_TLS_DIR": "/nonexistent"}, "HARNESS_TLS_DIR: cannot load"),
    ],
)
def test_bad_configuration_exits_2_with_one_clear_line(emulators, tls, token_file, change, message):
    env = harness_env(emulators, tls, token_file, free_port(), "gs://test-models/x.tar.enc")
    env.update(change)
    result = subprocess.run(
        harness_command(),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert (
        f"error: configuration: {message}" in result.stderr or f"error: {message}" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_port_in_use_exits_1(emulators, seal, tls, token_file, tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        env = harness_env(emulators, tls, token_file, port, seal().dest)
        result = subprocess.run(
            harness_command(),
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert "HTTPS server failed to start" in result.stderr


def test_sigterm_is_a_clean_shutdown(emulators, seal, tls, token_file, tmp_path):
    env = harness_env(emulators, tls, token_file, free_port(), seal().dest)
    with run_harness(env, tmp_path / "harness.log") as proc:
        client = _client(proc.url, tls, None)
        assert wait_for(lambda: client.ready() or proc.proc.poll() is not None), proc.output()
        proc.proc.terminate()
        assert proc.proc.wait(timeout=30) == 0
    assert "Finished server process" in proc.output()
