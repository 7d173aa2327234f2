"""`gke-sandbox:review`: what the stack's owner explicitly allows beyond the design.

    gke-sandbox:review:
      extraGrants:
        - member: serviceAccount:audit@p.iam.gserviceaccount.com
          role: roles/cloudkms.viewer
          on: crypto-key            # project, crypto-key, key-ring, bucket, service-account, ...
          resource: projects/p/locations/l/keyRings/r/cryptoKeys/k
          reason: audit tooling lists key versions
          condition: ...            # optional CEL expression, exactly as granted

The review (`iam-exact-grants`) accepts such a grant and lists it in its report with the reason.
"""

from __future__ import annotations

import re
from typing import Any

from infra.config.reader import Block
from infra.config.schema import NAMESPACE, ExtraGrant
from policy.facts import IAM_SCOPE_KINDS

_ROLE = re.compile(r"^(roles/[A-Za-z0-9_.]+|(projects|organizations)/[^/]+/roles/[A-Za-z0-9_.]+)$")
_MEMBER = re.compile(r"^(user|group|serviceAccount|domain|principal|principalSet)[:/].+$")


def parse_review(raw: Any) -> tuple[ExtraGrant, ...]:
    """The allowed extra grants; each must say who, what, on which resource and why."""
    block = Block(f"{NAMESPACE}:review", raw)
    grants = []
    for index, item_raw in enumerate(block.list("extraGrants")):
        item = Block(f"{block.key('extraGrants')}[{index}]", item_raw)
        grants.append(
            ExtraGrant(
                member=item.str(
                    "member", pattern=_MEMBER, expected="an IAM member such as user:a@example.com"
                ),
                role=item.str("role", pattern=_ROLE, expected="a role such as roles/x.y"),
                on=item.str(
                    "on",
                    pattern=re.compile(f"^({'|'.join(IAM_SCOPE_KINDS)})$"),
                    expected=f"one of {', '.join(IAM_SCOPE_KINDS)}",
                ),
                resource=item.str("resource", expected="the resource id the grant is on"),
                reason=item.str("reason", expected="why the design needs this extra grant"),
                condition=item.str("condition", required=False, expected="a CEL expression"),
            )
        )
        item.done()
    block.done()
    return tuple(grants)
