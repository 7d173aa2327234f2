"""The harness image's interface: what the Pulumi side must set for the image to run.

The image owns these names; components, Gatekeeper parameters and review rules import them
from here, so a change to the image's interface is one edit. Standard library only.
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------- network
PORT = 8443
"""The TLS port the harness listens on inside the pod."""
PORT_NAME = "https"

# --------------------------------------------------------------------------- identity
UID = 65532
"""The distroless `nonroot` user and group the image runs as."""

# --------------------------------------------------------------------------- files
TLS_DIR = "/etc/harness/tls"
"""Directory holding `tls.crt` and `tls.key` (a kubernetes.io/tls Secret mounted read-only)."""
TOKEN_DIR = "/etc/harness/token"
TOKEN_FILE = f"{TOKEN_DIR}/token"
"""Bearer token file; re-read when it changes, so rotating the Secret needs no restart."""
SCRATCH_DIR = "/tmp"  # noqa: S108 - an emptyDir for Python's own temporary files, never the model
MOUNT_PATHS: tuple[str, ...] = (TLS_DIR, TOKEN_DIR, SCRATCH_DIR)
"""Every path the workload may mount something at."""

# --------------------------------------------------------------------------- environment
ENV_MODEL_URI = "MODEL_URI"
ENV_KMS_KEY_URI = "KMS_KEY_URI"
ENV_MODEL_SHA256 = "MODEL_SHA256"
ENV_PORT = "HARNESS_PORT"
ENV_BIND = "HARNESS_BIND"
ENV_TLS_DIR = "HARNESS_TLS_DIR"
ENV_TOKEN_FILE = "HARNESS_TOKEN_FILE"
ENV_RATE_LIMIT = "HARNESS_RATE_LIMIT"
ENV_MAX_BODY_BYTES = "HARNESS_MAX_BODY_BYTES"
ENV_MAX_BATCH = "HARNESS_MAX_BATCH"
ENV_MAX_REVIEW_CHARS = "HARNESS_MAX_REVIEW_CHARS"
ENV_LOG_LEVEL = "HARNESS_LOG_LEVEL"
ENV_TRUSTED_PROXIES = "HARNESS_TRUSTED_PROXIES"
"""Comma-separated CIDRs whose X-Forwarded-For hops are believed (default: none)."""
ENV_WORKERS = "HARNESS_WORKERS"
"""Serving processes forked after the one decryption (default: the number of cores)."""
ENV_MAX_CONNECTIONS = "HARNESS_MAX_CONNECTIONS"
ENV_HEADER_TIMEOUT = "HARNESS_HEADER_TIMEOUT"
ENV_BODY_TIMEOUT = "HARNESS_BODY_TIMEOUT"
ENV_MAX_ELEMENTS = "HARNESS_MAX_ELEMENTS"
"""Most tensor elements in one Open Inference Protocol request (all inputs together)."""
DEPLOYED_ENV: tuple[str, ...] = (
    ENV_KMS_KEY_URI,
    ENV_MODEL_SHA256,
    ENV_MODEL_URI,
    ENV_PORT,
    ENV_RATE_LIMIT,
    ENV_TLS_DIR,
    ENV_TOKEN_FILE,
    ENV_TRUSTED_PROXIES,
    ENV_WORKERS,
)
"""What the workload component sets; the Gatekeeper env allowlist admits exactly these."""
ENV_WIP_PROVIDER = "HARNESS_WIP_PROVIDER"
"""Confidential Space only: the workload identity pool provider that accepts the launcher's
attestation token, `projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<id>`."""
ENV_TOKEN_SEALED = "HARNESS_TOKEN_SEALED"
"""Confidential Space only: the bearer token, encrypted with the model key (base64 KMS
ciphertext, associated data SEALED_TOKEN_AAD); only the attested harness can decrypt it."""
SEALED_TOKEN_AAD = "gke-sandbox/harness-token/v1"
SPACE_ENV: tuple[str, ...] = (
    ENV_KMS_KEY_URI,
    ENV_MODEL_SHA256,
    ENV_MODEL_URI,
    ENV_TOKEN_SEALED,
    ENV_TRUSTED_PROXIES,
    ENV_WIP_PROVIDER,
    ENV_WORKERS,
)
"""What the Confidential Space VM may set (`tee-env-<NAME>` metadata): the image's launch policy
(`tee.launch_policy.allow_env_override`, harness/Dockerfile) admits exactly these."""

# --------------------------------------------------------------------------- Confidential Space
ATTESTATION_TOKEN_FILE = "/run/container_launcher/attestation_verifier_claims_token"
"""Where the Confidential Space launcher writes the attestation token (audience
https://sts.googleapis.com, refreshed hourly). Source: "Attestation token claims",
cloud.google.com/confidential-computing/confidential-space/docs/reference/token-claims."""
LAUNCH_POLICY: dict[str, str] = {
    # The operator may not replace the entrypoint: the approved digest would run other code.
    "tee.launch_policy.allow_cmd_override": "false",
    "tee.launch_policy.allow_env_override": ",".join(SPACE_ENV),
    # The harness never logs model bytes, keys or request bodies, so its logs may reach Cloud
    # Logging from the production image too (default `debugonly` would hide them there).
    "tee.launch_policy.log_redirect": "always",
}
"""The image's Confidential Space launch policy labels ("Launch policies",
cloud.google.com/confidential-computing/confidential-space/docs/reference/launch-policies);
harness/Dockerfile carries exactly these (a test compares them)."""

# --------------------------------------------------------------------------- HTTP
LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"
PROBE_PATHS: tuple[str, ...] = (LIVENESS_PATH, READINESS_PATH)
"""Answered without a token and never rate limited (the kubelet has neither)."""
OPENAPI_PATH = "/openapi.json"

# --------------------------------------------------------------------------- Kubernetes
POD_LABELS: dict[str, str] = {
    "app.kubernetes.io/name": "harness",
    "app.kubernetes.io/part-of": "gke-sandbox",
}
SELECTOR_LABELS: dict[str, str] = {"app.kubernetes.io/name": "harness"}
"""The subset of POD_LABELS that selects harness pods (Service, NetworkPolicy)."""

# --------------------------------------------------------------------------- sealed model
SEALED_FORMAT = "gke-sandbox/tink-streaming-aead/v1"
META_KEYSET = "encryption-key"
"""Object metadata holding the KMS-wrapped Tink keyset, base64 (seed 003's key name)."""
META_FORMAT = "sealed-format"
META_SHA256 = "plaintext-sha256"
META_SIZE = "plaintext-size"
META_SEALED_FOR = "sealed-for"
META_KMS_KEY = "kms-key"
META_KMS_KEY_VERSION = "kms-key-version"
META_SEALED_AT = "sealed-at"
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
"""How META_SHA256 (and MODEL_SHA256) write the plaintext digest: 64 lowercase hex digits."""
REQUIRED_METADATA: tuple[str, ...] = (META_KEYSET, META_SHA256)
"""What the harness cannot load without."""
