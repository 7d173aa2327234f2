"""The cluster block's `perimeter`: the VPC Service Controls perimeter around the model and
cluster projects (issue 10), read into a frozen PerimeterConfig."""

from __future__ import annotations

import re

from infra.config.reader import Block
from infra.config.schema import PerimeterConfig

_NUMBER = re.compile(r"^[1-9][0-9]{0,18}$")
_PERIMETER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")
_PERIMETER_IDENTITY = re.compile(r"^(user|serviceAccount):[^@\s:]+@[^@\s]+$")
_DEPLOY_IDENTITY = re.compile(r"^serviceAccount:[^@\s:]+@[^@\s]+$")


def parse_perimeter(block: Block) -> PerimeterConfig | None:
    """`perimeter: {enabled, accessPolicy, modelProjectNumber, name, ingressIdentities,
    deployIdentities}`."""
    per = block.block("perimeter", required=False)
    if per is None:
        return None
    # Off (`enabled: false`) keeps the values for later but builds no perimeter.
    enabled = per.bool("enabled", default=True)
    values = dict(
        access_policy=per.str(
            "accessPolicy",
            required=enabled,
            pattern=_NUMBER,
            expected="the numeric id of the organization's access policy "
            "(gcloud access-context-manager policies list --organization <org>)",
        ),
        model_project_number=per.str(
            "modelProjectNumber",
            required=enabled,
            pattern=_NUMBER,
            expected="the model project's number (gcloud projects describe <id> "
            "--format='value(projectNumber)')",
        ),
        name=per.str(
            "name",
            pattern=_PERIMETER_NAME,
            default="gke_sandbox",
            expected="letters, digits and underscores, starting with a letter",
        ),
        ingress_identities=per.strings(
            "ingressIdentities",
            pattern=_PERIMETER_IDENTITY,
            expected="user:<email> or serviceAccount:<email> (no groups)",
        ),
        deploy_identities=per.strings(
            "deployIdentities",
            pattern=_DEPLOY_IDENTITY,
            expected="serviceAccount:<email> that CI runs the model and cluster stacks as",
        ),
    )
    per.done()
    return PerimeterConfig(**values) if enabled else None
