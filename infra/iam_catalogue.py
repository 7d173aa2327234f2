"""Regenerate `policy/iam_catalogue.json`: Google's predefined IAM roles, every permission they
carry, and the permissions IAM deny policies accept, from public sources.

    python -m infra iam-catalogue --refresh --dataset <checkout of iann0036/iam-dataset> \
        [--deny-page <saved HTML of the deny-permissions page, or its URL>]

Sources:
- https://github.com/iann0036/iam-dataset `gcp/roles/<role>.json` (one file per predefined role,
  the output of `gcloud iam roles describe`, refreshed daily by that repository's workflow).
- https://cloud.google.com/iam/docs/deny-permissions-support (the table of permissions deny
  policies accept, in `service.googleapis.com/resource.verb` form).

Without `--deny-page` the deny section of the current snapshot is kept as it is. The review
(`iam-names-exist`) reads only the generated file; nothing here runs during a review.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

from infra.errors import UserError
from policy.iam_catalogue import CATALOGUE_PATH

DATASET_URL = "https://github.com/iann0036/iam-dataset"
DENY_PAGE_URL = "https://cloud.google.com/iam/docs/deny-permissions-support"

# The predefined roles whose full permission lists are kept (what this project grants or
# reasons about: policy/facts.py ARTIFACT_READER_ROLES, the components' grants, the access
# analysis). Every other role is kept by name only: the full role -> permission map is over
# 20 MB, the names and the union of permissions are about 0.5 MB.
ROLES_WITH_PERMISSIONS: tuple[str, ...] = (
    "roles/artifactregistry.admin",
    "roles/artifactregistry.reader",
    "roles/artifactregistry.repoAdmin",
    "roles/artifactregistry.writer",
    "roles/binaryauthorization.attestorsVerifier",
    "roles/cloudkms.cryptoKeyDecrypter",
    "roles/container.clusterViewer",
    "roles/container.defaultNodeServiceAccount",
    "roles/iam.workloadIdentityUser",
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/storage.objectViewer",
)

_DENY_ENTRY = re.compile(
    # An entry may end in `*` (`requests.*`), where `\b` would not match.
    r"\b([a-z0-9-]+(?:\.[a-z0-9-]+)*\.googleapis\.com)/([A-Za-z0-9*]+\.[A-Za-z0-9*]+)(?![\w*])"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--refresh", action="store_true", help="rewrite the snapshot (otherwise print a summary)"
    )
    parser.add_argument(
        "--dataset",
        type=Path,
        help=f"a checkout of {DATASET_URL} (its gcp/roles/*.json are read)",
    )
    parser.add_argument(
        "--deny-page",
        help=f"a saved copy (or the URL) of {DENY_PAGE_URL}; default: keep the current deny list",
    )
    parser.add_argument(
        "--dataset-ref", default="", help="the dataset's commit, recorded as the source"
    )
    parser.add_argument("--out", type=Path, default=CATALOGUE_PATH, help="where to write")


def read_roles(dataset: Path) -> dict[str, list[str]]:
    """Every predefined role with its included permissions, from the dataset's role files."""
    folder = dataset / "gcp" / "roles"
    if not folder.is_dir():
        raise UserError(
            f"--dataset {dataset}: no gcp/roles folder (expected a checkout of {DATASET_URL})"
        )
    roles: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{path}: not a role file ({exc})") from None
        name = doc.get("name")
        if isinstance(name, str) and name.startswith("roles/"):
            roles[name] = sorted(
                p for p in doc.get("includedPermissions", []) if isinstance(p, str)
            )
    if not roles:
        raise UserError(f"--dataset {dataset}: gcp/roles holds no role files")
    return roles


def read_deny_page(source: str) -> dict[str, list[str]]:
    """The deny-supported entries of the page, grouped by service host."""
    if source.startswith("https://"):
        with urllib.request.urlopen(source, timeout=60) as response:  # noqa: S310 (https only)
            text = response.read().decode("utf-8", "replace")
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"--deny-page {source}: {exc.strerror}") from None
    services: dict[str, set[str]] = defaultdict(set)
    for host, entry in _DENY_ENTRY.findall(text):
        services[host].add(entry)
    if not services:
        raise UserError(
            f"--deny-page {source}: no service.googleapis.com/resource.verb entries found"
        )
    return {host: sorted(entries) for host, entries in sorted(services.items())}


def build(
    roles: dict[str, list[str]], deny: dict[str, Any], today: str, ref: str = ""
) -> dict[str, Any]:
    """The snapshot document: roles by name, permissions by service, deny-supported entries."""
    by_service: dict[str, set[str]] = defaultdict(set)
    for permissions in roles.values():
        for permission in permissions:
            service, _, rest = permission.partition(".")
            by_service[service].add(rest)
    return {
        "generated": today,
        "sources": {
            "roles": f"{DATASET_URL} gcp/roles/*.json" + (f" at {ref}" if ref else ""),
            "deny": DENY_PAGE_URL,
        },
        "roles": sorted(roles),
        "rolePermissions": {r: roles[r] for r in ROLES_WITH_PERMISSIONS if r in roles},
        "permissions": {s: sorted(v) for s, v in sorted(by_service.items())},
        "denySupported": deny,
    }


def run(args: argparse.Namespace) -> int:
    current = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    if not args.refresh:
        print(
            f"{args.out}: generated {current.get('generated', '?')}, "
            f"{len(current.get('roles', []))} roles, "
            f"{sum(len(v) for v in current.get('permissions', {}).values())} permissions; "
            "--refresh --dataset <dir> rewrites it"
        )
        return 0
    if args.dataset is None:
        raise UserError("--refresh needs --dataset <checkout of iann0036/iam-dataset>")
    roles = read_roles(args.dataset)
    if args.deny_page:
        deny = {"complete": True, "services": read_deny_page(args.deny_page)}
    else:
        deny = current.get("denySupported", {"complete": False, "services": {}})
    today = dt.datetime.now(dt.UTC).date().isoformat()
    document = build(roles, deny, today, args.dataset_ref)
    args.out.write_text(json.dumps(document, indent=0, sort_keys=False) + "\n", encoding="utf-8")
    print(
        f"{args.out}: {len(roles)} roles, {sum(len(v) for v in document['permissions'].values())} permissions"
    )
    return 0
