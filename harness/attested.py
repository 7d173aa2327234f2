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
from collections.abc import Mapping
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
