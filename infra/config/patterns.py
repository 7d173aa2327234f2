"""The shapes config values must have. Platform facts (digests, images by digest, repository
prefixes, SEV families, rotation limits, reserved namespaces) come from `policy.facts`; the
rest are GCP and Kubernetes naming rules only config needs."""

from __future__ import annotations

import re

from harness import contract

PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
BILLING_ACCOUNT = re.compile(r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")
ORG_ID = re.compile(r"^[0-9]{1,20}$")
# A region (`us-central1`, `europe-west10`, `northamerica-northeast2`), a zone (`-a`), or a
# multi-region. Region numbers run past 9 (europe-west10, europe-west12), so `[0-9]+`.
LOCATION = re.compile(r"^[a-z]+-[a-z]+[0-9]+(-[a-z])?$|^(us|eu|asia|global)$")
RESOURCE_ID = re.compile(r"^[a-zA-Z0-9_-]{1,63}$")
SA_ACCOUNT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
OBJECT_NAME = re.compile(r"^[^\r\n#\[\]*?]{1,1024}$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# A GKE cluster name: a lowercase letter first, then lowercase letters, digits or hyphens, no
# hyphen last, at most 40 characters in all. GKE's create form says "Name must start with a
# lowercase letter followed by up to 40 lowercase letters, numbers, or hyphens, and cannot end
# with a hyphen" (quoted in gitlab-org/gitlab-ce#47556); the API refuses longer names, and
# Terraform users truncate to 40 (Azure/telescope#989). 40 in all is the safe bound.
CLUSTER_NAME_MAX = 40
CLUSTER_NAME = re.compile(rf"^[a-z]([-a-z0-9]{{0,{CLUSTER_NAME_MAX - 2}}}[a-z0-9])?$")
CLUSTER_NAME_HINT = (
    f"a GKE cluster name: a lowercase letter, then lowercase letters, digits or hyphens, "
    f"at most {CLUSTER_NAME_MAX} characters, not ending in a hyphen"
)
KMS_KEY_URI = re.compile(
    r"^gcp-kms://projects/(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9])"
    r"/locations/(?P<location>[a-z0-9-]+)"
    r"/keyRings/(?P<key_ring>[a-zA-Z0-9_-]{1,63})"
    r"/cryptoKeys/(?P<key>[a-zA-Z0-9_-]{1,63})$"
)
KMS_KEY_URI_HINT = (
    "gcp-kms://projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>"
)
# Tenants become Kubernetes RBAC subjects, which have users and groups but no domains.
MEMBER = re.compile(r"^(user|group|serviceAccount):[^@\s]+@[^@\s]+\.[a-z]{2,}$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
DURATION = re.compile(r"^(?P<n>[0-9]+)(?P<unit>s|m|h|d)$")
SHA256_HEX = contract.SHA256_HEX
IMAGE_HINT = "an image by digest, <registry>/<path>@sha256:<64 hex>"
# A Compute Engine resource name (RFC 1035 label: SSL policies) or an Artifact Registry
# repository id: a lowercase letter, then lowercase letters, digits or hyphens, at most 63.
GCP_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
GCP_NAME_HINT = "a lowercase name such as sandbox-tls (letters, digits, hyphens; at most 63)"
