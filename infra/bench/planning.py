"""(e) Offline plan time as the number of tenants grows.

Config: the dev stack (`Pulumi.dev.yaml`, part `all`) with its `tenants` list replaced by
N tenants: the first is the dev stack's own workload tenant (the one with
`workloadServiceAccount`), the others plain tenants shaped like the dev stack's second one,
each with its own name, namespace and member. Each N runs in a fresh child process
(`python -m infra.bench.probe plan N`) that imports the program (timed), reads the
config the way `make plan` does (`infra.plan.load_stack_config`), and runs the real program
under the mocks (`infra.plan.capture.run_program`, no Pulumi CLI) twice: the first run also pays
for the provider modules Pulumi imports lazily, the second is the program's own cost and is
the figure. Reported per N: seconds (import, first, second run), resources registered, and
the second run's milliseconds per resource. No target.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import yaml

from infra.bench.common import REPO_ROOT, rnd
from infra.bench.loading import probe_command, run_probe

TENANTS_KEY = "gke-sandbox:tenants"


def stack_document(tenants: int) -> dict[str, Any]:
    """The dev stack file's document with `tenants` tenants (see the module doc)."""
    if tenants < 1:
        raise ValueError(f"tenants: {tenants} is not a positive number")
    document = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())
    shipped = document["config"][TENANTS_KEY]
    host = next(t for t in shipped if "workloadServiceAccount" in t)
    plain = next((t for t in shipped if "workloadServiceAccount" not in t), None)
    template = (
        copy.deepcopy(plain) if plain else {"quota": {"cpu": "2", "memory": "4Gi", "pods": 5}}
    )
    generated = [copy.deepcopy(host)]
    for index in range(1, tenants):
        tenant = copy.deepcopy(template)
        tenant["name"] = f"tenant{index:03d}"
        tenant["namespace"] = f"tenant-ns{index:03d}"
        tenant["members"] = [f"user:tenant{index:03d}@example.com"]
        generated.append(tenant)
    document["config"][TENANTS_KEY] = generated
    return document


def measure(tenants: int, say: Callable[[str], None]) -> dict[str, Any]:
    probe = run_probe(probe_command("plan", str(tenants)), None, timeout=1200)
    second = probe["second_run_seconds"]
    row = {
        "tenants": tenants,
        "resources": probe["resources"],
        "import_seconds": rnd(probe["import_seconds"], 4),
        "first_run_seconds": rnd(probe["first_run_seconds"], 4),
        "second_run_seconds": rnd(second, 4),
        "ms_per_resource": rnd(second * 1000 / probe["resources"]),
    }
    say(
        f"(e) {tenants} tenant(s): {row['resources']} resources, plan {second:.2f}s "
        f"(first run {row['first_run_seconds']:.2f}s, imports {row['import_seconds']:.2f}s)"
    )
    return row


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    first, last = rows[0], rows[-1]
    growth = None
    if last["tenants"] > first["tenants"]:
        growth = {
            "seconds_per_extra_tenant": rnd(
                (last["second_run_seconds"] - first["second_run_seconds"])
                / (last["tenants"] - first["tenants"])
            ),
            "resources_per_extra_tenant": rnd(
                (last["resources"] - first["resources"]) / (last["tenants"] - first["tenants"])
            ),
        }
    return {
        "title": "offline plan time by number of tenants",
        "definition": __doc__,
        "rows": rows,
        "growth": growth,
        "figure": {
            "description": "seconds of one offline plan run (dev stack), per number of tenants",
            "unit": "s",
            "values": {f"{row['tenants']} tenants": row["second_run_seconds"] for row in rows},
            "aggregate": None,
            "value": None,
        },
        "target": None,
        "meets_target": None,
    }
