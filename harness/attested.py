"""Credentials on Confidential Space: the launcher's attestation token, exchanged by google-auth.

On a Confidential Space VM the launcher writes an OIDC attestation token (issuer Google Cloud
Attestation, audience https://sts.googleapis.com) to `contract.ATTESTATION_TOKEN_FILE` and
refreshes it hourly. Alice's workload identity pool provider accepts it only for the approved
image on a production TEE, and the model key and object are granted to that pool's principalSet
(not to a service account). google-auth's `external_account` credentials ("identity_pool" with a
file credential source) read the file and exchange it at the Security Token Service on every
refresh; the harness does no token exchange of its own.

The configuration follows "Create and grant access to confidential resources"
(cloud.google.com/confidential-computing/confidential-space/docs/create-grant-access-confidential-resources)
and google-auth's identity_pool credentials (audience `//iam.googleapis.com/<provider>`,
subject_token_type JWT, token_url STS, credential_source.file).

`HARNESS_WIP_PROVIDER` unset (GKE, local demo): None, and the clients use Application Default
Credentials as before.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from harness.contract import ATTESTATION_TOKEN_FILE, ENV_WIP_PROVIDER

STS_TOKEN_URL = "https://sts.googleapis.com/v1/token"
SUBJECT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
PROVIDER_NAME = re.compile(
    r"^projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]{4,32}"
    r"/providers/[a-z0-9-]{4,32}$"
)
PROVIDER_HINT = "projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<id>"
# Where the launcher writes the token (read at call time, so tests can point it elsewhere).
TOKEN_FILE = ATTESTATION_TOKEN_FILE


def provider_from_env(env: Mapping[str, str]) -> str | None:
    """The provider's resource name from `HARNESS_WIP_PROVIDER`, validated; None when unset."""
    value = (env.get(ENV_WIP_PROVIDER) or "").strip()
    if not value:
        return None
    if not PROVIDER_NAME.match(value):
        raise ValueError(f"{ENV_WIP_PROVIDER}={value[:120]!r}: expected {PROVIDER_HINT}")
    return value


def check_token_file(provider: str | None, token_file: str | None = None) -> None:
    """With a provider configured, the launcher's token must be there (it is written before the
    container starts); say so at start rather than on the first KMS call."""
    path = token_file or TOKEN_FILE
    if provider is not None and not Path(path).is_file():
        raise ValueError(
            f"{ENV_WIP_PROVIDER} is set but the attestation token {path} does not exist; "
            "the harness is not running under the Confidential Space launcher"
        )


def external_account_info(
    provider: str, token_file: str = ATTESTATION_TOKEN_FILE, token_url: str = STS_TOKEN_URL
) -> dict[str, Any]:
    """The `external_account` configuration google-auth loads (what a credential config file
    written by `gcloud iam workload-identity-pools create-cred-config` holds)."""
    return {
        "type": "external_account",
        "audience": f"//iam.googleapis.com/{provider}",
        "subject_token_type": SUBJECT_TOKEN_TYPE,
        "token_url": token_url,
        "credential_source": {"file": token_file},
    }


def credentials_from_env(
    env: Mapping[str, str] | None = None,
    token_file: str | None = None,
    token_url: str = STS_TOKEN_URL,
) -> Any:
    """google-auth credentials for the attested workload, or None outside Confidential Space."""
    provider = provider_from_env(os.environ if env is None else env)
    if provider is None:
        return None
    token_file = token_file or TOKEN_FILE
    check_token_file(provider, token_file)
    from google.auth import identity_pool

    return identity_pool.Credentials.from_info(
        external_account_info(provider, token_file, token_url), scopes=[CLOUD_PLATFORM_SCOPE]
    )


# --------------------------------------------------------------------------- start-up files
# Confidential Space mounts no secrets, so on that path the harness makes its two files itself
# before it starts serving: a TLS key and certificate generated inside the TEE (the load balancer
# in front encrypts to the backend but does not verify its certificate: "Backend service
# settings", cloud.google.com/load-balancing/docs/backend-service#backend-encryption), and the
# bearer token, decrypted with the model key from `HARNESS_TOKEN_SEALED` (only the attested
# image may decrypt). Both live in a fresh 0700 directory inside the container; the GKE path's
# mounted Secrets are not touched.
TLS_VALIDITY_DAYS = 90


def _self_signed(directory: Path) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "harness (Confidential Space)")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=TLS_VALIDITY_DAYS))
        .sign(key, hashes.SHA256())
    )
    _write(directory / "tls.crt", cert.public_bytes(serialization.Encoding.PEM))
    _write(
        directory / "tls.key",
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def prepare_confidential_space(
    env: MutableMapping[str, str], kms: Any = None, workdir: str | None = None
) -> Path | None:
    """On Confidential Space: make the TLS pair and the token file, and point
    HARNESS_TLS_DIR / HARNESS_TOKEN_FILE at them. Outside it (no provider): nothing, None."""
    import base64
    import binascii
    import tempfile

    from harness import gcp
    from harness.contract import (
        ENV_KMS_KEY_URI,
        ENV_TLS_DIR,
        ENV_TOKEN_FILE,
        ENV_TOKEN_SEALED,
        SEALED_TOKEN_AAD,
    )
    from harness.sealed import SealedFormatError, parse_kms_key_uri

    provider = provider_from_env(env)
    if provider is None:
        return None
    sealed = (env.get(ENV_TOKEN_SEALED) or "").strip()
    if not sealed:
        raise ValueError(f"{ENV_TOKEN_SEALED} is not set; expected the KMS-encrypted bearer token")
    try:
        ciphertext = base64.b64decode(sealed, validate=True)
        key_name = parse_kms_key_uri(env.get(ENV_KMS_KEY_URI, ""))
    except (binascii.Error, SealedFormatError) as exc:
        raise ValueError(f"{ENV_TOKEN_SEALED} / {ENV_KMS_KEY_URI}: {exc}") from None
    client = kms if kms is not None else gcp.kms_client()
    token = gcp.KmsAead(client, key_name).decrypt(ciphertext, SEALED_TOKEN_AAD.encode())
    directory = Path(tempfile.mkdtemp(prefix="harness-", dir=workdir))  # mode 0700
    _self_signed(directory)
    _write(directory / "token", token)
    env[ENV_TLS_DIR] = str(directory)
    env[ENV_TOKEN_FILE] = str(directory / "token")
    return directory
