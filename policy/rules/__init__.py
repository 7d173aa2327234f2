"""The named security rules of gke-sandbox, written once and run by two enforcers.

Every rule reads a *plan*: a list of resource dicts shaped like the `resources` of
`build/plan/<stack>.json` (`urn`, `type`, `name`, `parent`, `inputs` with camelCase keys, secrets
as the string `[secret]`). `python -m infra review` feeds it the offline plan; the CrossGuard
pack (`policy/__main__.py`) converts the engine's resources into the same dicts. Nothing here
imports Pulumi or the program (`infra`, `components`, `stacks`).

Modules, lowest first (each imports only those above it):
- `plan`       reading a plan: `get(inputs, "a.b[0].c")`, `type_of`, `of_type`, `show`, parents
- `tokens`     the Pulumi type tokens judged
- `engine`     `Rule`, `Violation`, `Severity`, `Status`, running a rule closed (a check that
               raises fails its rule), message helpers (`violation`, `expect`) and predicates
- `gcp_iam`    the GCP IAM model: grants, members, Workload Identity, decrypt/impersonation roles
- `gke`, `iam`, `data`, `kubernetes`: checks by concern
- `table`      single-property assertions as rows (`Prop`)
- `catalogue`  `RULES` (with `policy.access`'s `model-access-paths`), `evaluate`, `select_rules`
`policy.access` uses `plan`, `tokens`, `engine` and `gcp_iam`; only `catalogue` uses
`policy.access`, and this package loads `catalogue` on first use of its names, so importing
`policy.access` (or any module here) never needs the catalogue: there is no import cycle.

Conventions the checks share:
- A missing key, or `null`, is *unset*. Paths in messages use the engine's camelCase names.
- A value equal to `UNKNOWN` (what the pack substitutes for values Pulumi cannot know during a
  preview) is skipped: it cannot be judged now, and stack policies run again on `pulumi up`.
- A rule is *not applicable* when the plan holds no resource whose type is in `applies_to`.
- Platform facts (SEV machine series, rotation limit, digest patterns, pod-creating kinds) come
  from `policy.facts`; never copy them here.

Adding a rule:
1. A property that one resource must have: add a `Prop(rule, where, path, predicate, message)`
   row to `table.PROPERTIES` (one line), e.g.
   `Prop("gke-private-nodes", of(CLUSTER), "privateClusterConfig.enablePrivateNodes", is_true,
   "nodes must have internal IP addresses only")`; `where` is `of(<type tokens>)` or
   `NODE_CONFIGS` (every node pool's nodeConfig). The check of the rule is then
   `properties("<name>")`.
2. Anything else: a `check(resources) -> Iterable[Violation]` in the module of its concern,
   built with `violation(rule, resource, text)` / `expect(...)` so messages read
   `<type> "<name>": <path> is <value>; <requirement>`; combine with rows as
   `properties("<name>", my_check)`.
3. Append a `Rule(name, description, severity, remediation, applies_to, check)` to
   `catalogue.RULES`. The name is unique kebab-case; the CrossGuard pack and the review pick it
   up with no other change. Give it a passing fixture and one failing case per concern in
   `tests/policy/test_policy_rules.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .engine import (
    Check,
    Rule,
    RuleResult,
    Severity,
    Status,
    UnknownRuleError,
    Violation,
    expect,
    violation,
)
from .gcp_iam import (
    IMPERSONATION_ROLES,
    PUBLIC_MEMBERS,
    WORKLOAD_IDENTITY_USER,
    Grant,
    can_decrypt,
    custom_role_permissions,
    iam_grants,
    is_iam_type,
    member_email,
    service_account_email,
    workload_principal,
)
from .plan import (
    SECRET,
    UNKNOWN,
    Resource,
    get,
    inputs_of,
    is_unknown,
    label,
    of_type,
    show,
    type_of,
)
from .tokens import (
    CRYPTO_KEY_IAM,
    IAM_TYPE_PATTERNS,
    KEY_RING_IAM,
    PROJECT_IAM,
    SERVICE_ACCOUNT_IAM,
)

if TYPE_CHECKING:
    from .catalogue import RULES, evaluate, select_rules

_CATALOGUE = frozenset({"RULES", "evaluate", "select_rules"})


def __getattr__(name: str) -> Any:
    """`RULES`, `evaluate` and `select_rules` load the catalogue on first use (PEP 562), so the
    modules `policy.access` builds on load without it."""
    if name in _CATALOGUE:
        from . import catalogue

        return getattr(catalogue, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CRYPTO_KEY_IAM",
    "IAM_TYPE_PATTERNS",
    "IMPERSONATION_ROLES",
    "KEY_RING_IAM",
    "PROJECT_IAM",
    "PUBLIC_MEMBERS",
    "RULES",
    "SECRET",
    "SERVICE_ACCOUNT_IAM",
    "UNKNOWN",
    "WORKLOAD_IDENTITY_USER",
    "Check",
    "Grant",
    "Resource",
    "Rule",
    "RuleResult",
    "Severity",
    "Status",
    "UnknownRuleError",
    "Violation",
    "can_decrypt",
    "custom_role_permissions",
    "evaluate",
    "expect",
    "get",
    "iam_grants",
    "inputs_of",
    "is_iam_type",
    "is_unknown",
    "label",
    "member_email",
    "of_type",
    "select_rules",
    "service_account_email",
    "show",
    "type_of",
    "violation",
    "workload_principal",
]
