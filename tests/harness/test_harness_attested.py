"""On Confidential Space the harness's clients use google-auth's external_account credentials
built from the launcher's attestation token file; google-auth (not the harness) reads the file
and exchanges it at the Security Token Service. Here the STS is a loopback stand-in that records
what google-auth sends."""

from __future__ import annotations

import base64
import json
import re
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import tink
from google.auth import identity_pool
from google.auth.transport.requests import Request

from harness import attested, gcp
from harness.config import KNOWN_HARNESS_VARIABLES, ConfigError, from_env
from harness.contract import (
    ATTESTATION_TOKEN_FILE,
    ENV_WIP_PROVIDER,
    LAUNCH_POLICY,
    SEALED_TOKEN_AAD,
)

PROVIDER = (
    "projects/314159265358/locations/global/workloadIdentityPools/confidential-space/"
    "providers/attestation"
)
# The token's content does not matter to the harness: google-auth passes it on unread.
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzd25hbWUiOiJDT05GSURFTlRJQUxfU1BBQ0UifQ.c2lnbmF0dXJl"


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "attestation_verifier_claims_token"
    path.write_text(TOKEN)
    return path


@pytest.fixture
def sts() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    """A loopback STS token endpoint: records each form it receives, answers an access token."""
    received: list[dict[str, list[str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(parse_qs(self.rfile.read(length).decode()))
            body = json.dumps(
                {
                    "access_token": "federated-access-token",
                    "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1/token", received
    finally:
        server.shutdown()
        server.server_close()


def test_the_configuration_is_googles_external_account_for_the_launchers_file():
    assert attested.external_account_info(PROVIDER) == {
        "type": "external_account",
        "audience": f"//iam.googleapis.com/{PROVIDER}",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "https://sts.googleapis.com/v1/token",
        "credential_source": {"file": "/run/container_launcher/attestation_verifier_claims_token"},
    }
    assert ATTESTATION_TOKEN_FILE == "/run/container_launcher/attestation_verifier_claims_token"


def test_google_auth_reads_the_token_file(token_file: Path):
    credentials = attested.credentials_from_env(
        {ENV_WIP_PROVIDER: PROVIDER}, token_file=str(token_file)
    )
    assert isinstance(credentials, identity_pool.Credentials)
    assert credentials.info["audience"] == f"//iam.googleapis.com/{PROVIDER}"
    assert credentials.retrieve_subject_token(Request()) == TOKEN
    token_file.write_text(TOKEN + "-refreshed")  # the launcher rewrites it hourly
    assert credentials.retrieve_subject_token(Request()) == TOKEN + "-refreshed"


def test_refresh_exchanges_the_token_at_sts(token_file: Path, sts):
    url, received = sts
    credentials = attested.credentials_from_env(
        {ENV_WIP_PROVIDER: PROVIDER}, token_file=str(token_file), token_url=url
    )
    credentials.refresh(Request())
    assert credentials.token == "federated-access-token"
    (form,) = received
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:token-exchange"]
    assert form["audience"] == [f"//iam.googleapis.com/{PROVIDER}"]
    assert form["subject_token"] == [TOKEN]
    assert form["subject_token_type"] == ["urn:ietf:params:oauth:token-type:jwt"]
    assert form["scope"] == ["https://www.googleapis.com/auth/cloud-platform"]


def test_the_harness_clients_use_those_credentials(
    token_file: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(ENV_WIP_PROVIDER, PROVIDER)
    monkeypatch.setattr(attested, "TOKEN_FILE", str(token_file))
    kms = gcp.kms_client()
    assert isinstance(kms._transport._credentials, identity_pool.Credentials)
    storage = gcp.storage_client()
    assert isinstance(storage._credentials, identity_pool.Credentials)


def test_outside_confidential_space_nothing_changes():
    assert attested.credentials_from_env({}) is None


def test_a_missing_token_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ValueError, match="is not running under the Confidential Space launcher"):
        attested.credentials_from_env(
            {ENV_WIP_PROVIDER: PROVIDER}, token_file=str(tmp_path / "absent")
        )


def test_the_harness_config_checks_the_provider_and_the_token_file(
    tmp_path: Path, token_file: Path, monkeypatch: pytest.MonkeyPatch
):
    env = {
        "MODEL_URI": "gs://a-demo-model-sealed/sentiment-model.tar.sealed",
        "KMS_KEY_URI": "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
        ENV_WIP_PROVIDER: "projects/p/providers/x",
    }
    with pytest.raises(ConfigError, match="HARNESS_WIP_PROVIDER='projects/p/providers/x'"):
        from_env(env)
    env[ENV_WIP_PROVIDER] = PROVIDER
    monkeypatch.setattr(attested, "TOKEN_FILE", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match="is not running under the Confidential Space launcher"):
        from_env(env)
    monkeypatch.setattr(attested, "TOKEN_FILE", str(token_file))
    assert from_env(env).kms_key_uri == env["KMS_KEY_URI"]


def test_the_image_carries_the_launch_policy():
    """The final stage of harness/Dockerfile labels exactly the launch policy of the contract:
    no command override, only variables the harness reads, logs redirected."""
    dockerfile = (Path(__file__).resolve().parents[2] / "harness" / "Dockerfile").read_text()
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    labels = dict(re.findall(r'^LABEL "(tee\.[^"]+)"="([^"]*)"$', final_stage, re.M))
    assert labels == {
        "tee.launch_policy.allow_cmd_override": "false",
        "tee.launch_policy.allow_env_override": "KMS_KEY_URI,MODEL_SHA256,MODEL_URI,"
        "HARNESS_TOKEN_SEALED,HARNESS_TRUSTED_PROXIES,HARNESS_WIP_PROVIDER,HARNESS_WORKERS",
        "tee.launch_policy.log_redirect": "always",
    }
    assert labels == LAUNCH_POLICY
    admitted = labels["tee.launch_policy.allow_env_override"].split(",")
    read = {*KNOWN_HARNESS_VARIABLES, "MODEL_URI", "KMS_KEY_URI", "MODEL_SHA256"}
    assert set(admitted) <= read
    # Nothing that moves code or secrets: no paths, no emulator endpoints, no PYTHON*.
    assert not {"HARNESS_TLS_DIR", "HARNESS_TOKEN_FILE", "KMS_EMULATOR_HOST"} & set(admitted)
    assert not [name for name in admitted if name.startswith("PYTHON")]


KEY = "projects/a-demo-model/locations/us-central1/keyRings/model-ring/cryptoKeys/model-key"
BEARER = "x" * 24 + "generated-by-the-space-stack"


@pytest.fixture
def local_kms() -> Iterator[object]:
    """The local KMS (the real google-cloud-kms protocol) with the model key."""
    from infra.local.kms import LocalKms

    with LocalKms() as kms:
        kms.create_key(KEY)
        client = gcp.kms_client(kms.endpoint)
        try:
            yield client
        finally:
            client.transport.close()


def _sealed(client: object, aad: bytes = SEALED_TOKEN_AAD.encode()) -> str:
    """What the space stack's SecretCiphertext holds: the token encrypted with the model key."""
    return base64.b64encode(gcp.KmsAead(client, KEY).encrypt(BEARER.encode(), aad)).decode()


def test_on_confidential_space_the_harness_makes_its_tls_pair_and_token_file(
    local_kms, tmp_path: Path
):
    env = {
        ENV_WIP_PROVIDER: PROVIDER,
        "KMS_KEY_URI": f"gcp-kms://{KEY}",
        "HARNESS_TOKEN_SEALED": _sealed(local_kms),
    }
    directory = attested.prepare_confidential_space(env, kms=local_kms, workdir=str(tmp_path))
    assert directory is not None and directory.parent == tmp_path
    assert env["HARNESS_TLS_DIR"] == str(directory)
    assert env["HARNESS_TOKEN_FILE"] == str(directory / "token")
    assert (directory / "token").read_text() == BEARER
    assert directory.stat().st_mode & 0o777 == 0o700
    for name in ("token", "tls.key", "tls.crt"):
        assert (directory / name).stat().st_mode & 0o777 == 0o600, name
    # The pair loads as the server loads it.
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(directory / "tls.crt"), str(directory / "tls.key"))


def test_a_token_sealed_for_something_else_does_not_open(local_kms, tmp_path: Path):
    env = {
        ENV_WIP_PROVIDER: PROVIDER,
        "KMS_KEY_URI": f"gcp-kms://{KEY}",
        "HARNESS_TOKEN_SEALED": _sealed(local_kms, aad=b"another purpose"),
    }
    with pytest.raises(tink.TinkError, match="KMS decrypt"):
        attested.prepare_confidential_space(env, kms=local_kms, workdir=str(tmp_path))
    assert "HARNESS_TOKEN_FILE" not in env and list(tmp_path.iterdir()) == []


def test_without_the_sealed_token_the_harness_says_so():
    with pytest.raises(ValueError, match="HARNESS_TOKEN_SEALED is not set"):
        attested.prepare_confidential_space({ENV_WIP_PROVIDER: PROVIDER})


def test_outside_confidential_space_the_mounted_files_are_used():
    env = {"HARNESS_TLS_DIR": "/etc/harness/tls"}
    assert attested.prepare_confidential_space(env) is None
    assert env == {"HARNESS_TLS_DIR": "/etc/harness/tls"}
