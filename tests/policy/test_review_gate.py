"""Issue 14, item 5: one mutation per class of insecure change, applied to the real dev plan;
the review must fail each with the named rule, and the CrossGuard pack must report the same
failing rules. The valid dev plan passes every rule."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

import policy.__main__ as pack
from policy import rules
from policy.rules.engine import Status
from tests.policy.conftest import find
from tests.policy.test_crossguard_pack import validate

Plan = list[dict[str, Any]]
WORKLOAD = "harness-deployment"
POD = "spec.template.spec"


def _inputs(plan: Plan, name: str) -> dict[str, Any]:
    return find(plan, name)["inputs"]


def _container(plan: Plan) -> dict[str, Any]:
    return _inputs(plan, WORKLOAD)["spec"]["template"]["spec"]["containers"][0]


def _chart(plan: Plan) -> dict[str, Any]:
    return _inputs(plan, "gatekeeper-chart")["values"]


def _drop(plan: Plan, name: str) -> None:
    """Remove a resource as the program would: nothing depends on it any more."""
    gone = find(plan, name)
    plan.remove(gone)
    for r in plan:
        r["dependencies"] = [d for d in r.get("dependencies", []) if d != gone["urn"]]


def privileged(plan: Plan) -> None:
    _container(plan)["securityContext"]["privileged"] = True


def token_automount(plan: Plan) -> None:
    _inputs(plan, WORKLOAD)["spec"]["template"]["spec"]["automountServiceAccountToken"] = True


def writable_root(plan: Plan) -> None:
    _container(plan)["securityContext"]["readOnlyRootFilesystem"] = False


def ingress_allows_http(plan: Plan) -> None:
    _inputs(plan, "harness-ingress")["metadata"]["annotations"][
        "kubernetes.io/ingress.allow-http"
    ] = "true"


def egress_anywhere(plan: Plan) -> None:
    _inputs(plan, "tenant-bob-allow-google-apis")["spec"]["egress"][0]["to"][0]["ipBlock"][
        "cidr"
    ] = "0.0.0.0/0"


def default_deny_dropped(plan: Plan) -> None:
    _drop(plan, "tenant-bob-default-deny")


def webhook_fail_open(plan: Plan) -> None:
    _chart(plan)["validatingWebhookFailurePolicy"] = "Ignore"


def webhook_skips_ephemeral_containers(plan: Plan) -> None:
    _chart(plan)["validatingWebhookCustomRules"][0]["resources"] = ["*"]


def tenant_namespace_exempt(plan: Plan) -> None:
    _chart(plan)["controllerManager"]["exemptNamespaces"].append("ns1")


def tenant_namespace_ignored(plan: Plan) -> None:
    _inputs(plan, "tenant-bob-namespace")["metadata"]["labels"][
        "admission.gatekeeper.sh/ignore"
    ] = "yes"


def digest_check_skips_workload_ksa(plan: Plan) -> None:
    """The approved-digest check no longer selects the workload KSA: any digest runs as it."""
    params = _inputs(plan, "gatekeeper-constraint-ns1-approved-digests")["spec"]["parameters"]
    params["serviceAccountName"] = "default"


def digest_check_dryrun(plan: Plan) -> None:
    spec = _inputs(plan, "gatekeeper-constraint-ns1-approved-digests")["spec"]
    spec["enforcementAction"] = "dryrun"


def extra_digest_approved(plan: Plan) -> None:
    params = _inputs(plan, "gatekeeper-constraint-ns1-approved-digests")["spec"]["parameters"]
    params["digests"].append("sha256:" + "0" * 64)


def allowed_repos_dropped(plan: Plan) -> None:
    _drop(plan, "gatekeeper-constraint-ns1-allowed-repos")


def allowed_repos_widened(plan: Plan) -> None:
    params = _inputs(plan, "gatekeeper-constraint-ns1-allowed-repos")["spec"]["parameters"]
    params["repos"] = ["us-central1-docker.pkg.dev"]


def template_rego_weakened(plan: Plan) -> None:
    target = _inputs(plan, "gatekeeper-template-sandboxreadonlyroot")["spec"]["targets"][0]
    target["rego"] = target["rego"].replace("violation", "violation_disabled", 1) + (
        "\nviolation contains {} if false\n"
    )


def project_outside_folder(plan: Plan) -> None:
    _inputs(plan, "project-project")["folderId"] = "999999999999"


def _workload_of_kind(kind: str) -> Callable[[Plan], None]:
    """A new object of `kind` in ns1 running the harness pod template, but privileged."""
    group, spec_path = {
        "ReplicationController": ("", "spec.template"),
        "Job": ("batch", "spec.template"),
        "CronJob": ("batch", "spec.jobTemplate.spec.template"),
        "StatefulSet": ("apps", "spec.template"),
    }[kind]

    def mutation(plan: Plan) -> None:
        source = find(plan, WORKLOAD)
        template = copy.deepcopy(source["inputs"]["spec"]["template"])
        template["spec"]["containers"][0]["securityContext"]["privileged"] = True
        if kind in ("Job", "CronJob"):
            template["spec"]["restartPolicy"] = "Never"
        spec: dict[str, Any] = {}
        node = spec
        parts = spec_path.split(".")[1:]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = template
        if kind == "CronJob":
            spec["schedule"] = "0 * * * *"
        token = f"kubernetes:{group or 'core'}/v1:{kind}"
        name = f"rogue-{kind.lower()}"
        plan.append(
            {
                **copy.deepcopy(source),
                "urn": source["urn"].rsplit("$", 1)[0] + f"${token}::{name}",
                "type": token,
                "name": name,
                "inputs": {
                    "apiVersion": f"{group}/v1" if group else "v1",
                    "kind": kind,
                    "metadata": {"name": name, "namespace": "ns1"},
                    "spec": spec,
                },
            }
        )

    mutation.__name__ = f"privileged_{kind.lower()}"
    return mutation


MUTATIONS: list[tuple[Callable[[Plan], None], str, str]] = [
    (privileged, "workloads-admitted", "privileged"),
    (token_automount, "workloads-admitted", "automountServiceAccountToken"),
    (writable_root, "workloads-admitted", "readOnlyRootFilesystem"),
    (ingress_allows_http, "ingress-https-only", 'set it to "false"'),
    (egress_anywhere, "network-policy-exact", '"0.0.0.0/0", outside'),
    (default_deny_dropped, "network-policy-exact", "has no default-deny NetworkPolicy"),
    (webhook_fail_open, "gatekeeper-fail-closed", 'validatingWebhookFailurePolicy is "Ignore"'),
    (
        webhook_skips_ephemeral_containers,
        "gatekeeper-fail-closed",
        "must cover core/pods/ephemeralcontainers UPDATE",
    ),
    (tenant_namespace_exempt, "gatekeeper-fail-closed", 'exempts ["ns1"]'),
    (
        tenant_namespace_ignored,
        "gatekeeper-fail-closed",
        "the Gatekeeper webhook skips namespace ns1",
    ),
    (digest_check_skips_workload_ksa, "constraint-params-match", "its pods escape this rule"),
    (digest_check_dryrun, "constraints-enforced", 'spec.enforcementAction is "dryrun"'),
    (extra_digest_approved, "constraint-params-match", "approve exactly that"),
    (allowed_repos_dropped, "constraints-complete", "'ns1' has no SandboxAllowedRepos constraint"),
    (allowed_repos_widened, "constraint-params-match", "the plan's registry"),
    (template_rego_weakened, "constraints-complete", "spec.targets differ"),
    (project_outside_folder, "project-in-confidential-folder", 'folderId is "999999999999"'),
    *(
        (_workload_of_kind(kind), "workloads-admitted", "privileged")
        for kind in ("ReplicationController", "Job", "CronJob", "StatefulSet")
    ),
]


def _failing(plan: Plan) -> dict[str, list[str]]:
    return {
        r.rule.name: [v.message for v in r.violations]
        for r in rules.evaluate(plan)
        if r.status == Status.FAIL
    }


def test_the_dev_plan_passes_every_rule(valid_resources: Plan) -> None:
    results = rules.evaluate(valid_resources)
    assert [r.rule.name for r in results if r.status == Status.FAIL] == []
    passed = {r.rule.name for r in results if r.status == Status.PASS}
    assert {
        "workloads-admitted",
        "ingress-https-only",
        "network-policy-exact",
        "gatekeeper-fail-closed",
        "constraints-enforced",
        "constraints-complete",
        "constraint-params-match",
        "project-in-confidential-folder",
    } <= passed


@pytest.mark.parametrize(
    ("mutation", "rule", "fragment"), MUTATIONS, ids=[m.__name__ for m, _, _ in MUTATIONS]
)
def test_each_insecure_change_fails_the_review(
    valid_resources: Plan, mutation: Callable[[Plan], None], rule: str, fragment: str
) -> None:
    mutation(valid_resources)
    failing = _failing(valid_resources)
    assert rule in failing, failing
    assert any(fragment in message for message in failing[rule]), failing[rule]


@pytest.mark.parametrize(
    ("mutation", "rule"),
    [(m, r) for m, r, _ in MUTATIONS],
    ids=[m.__name__ for m, _, _ in MUTATIONS],
)
def test_the_crossguard_pack_reports_the_same_failing_rules(
    valid_resources: Plan, mutation: Callable[[Plan], None], rule: str
) -> None:
    mutation(valid_resources)
    review = set(_failing(valid_resources))
    by_pack = {p.name for p in pack.build_policies() if validate(p, valid_resources)}
    assert rule in by_pack
    assert by_pack == review


def _workload_stack(plan: Plan) -> Plan:
    """The dev plan cut down to what Bob's `workload` stack holds: the harness component only."""
    return [r for r in plan if "harness_workload:HarnessWorkload" in r["urn"]]


@pytest.mark.parametrize("mutation", [privileged, token_automount, writable_root])
def test_a_plan_without_gatekeeper_is_judged_by_the_repository_templates(
    valid_resources: Plan, mutation: Callable[[Plan], None]
) -> None:
    workload = _workload_stack(valid_resources)
    assert [r["type"] for r in workload if "Deployment" in r["type"]] == [
        "kubernetes:apps/v1:Deployment"
    ]
    assert "workloads-admitted" not in _failing(workload)
    mutation(workload)
    assert "Gatekeeper would deny it" in " ".join(_failing(workload)["workloads-admitted"])


def test_a_workload_outside_the_tenant_namespaces_fails(valid_resources: Plan) -> None:
    _inputs(valid_resources, WORKLOAD)["metadata"]["namespace"] = "default"
    messages = _failing(valid_resources)["workloads-admitted"]
    assert any("nothing would judge this workload" in m for m in messages), messages


def test_a_project_without_folder_fails(valid_resources: Plan) -> None:
    inputs = _inputs(valid_resources, "project-project")
    del inputs["folderId"]
    inputs["orgId"] = "673208786098"
    messages = _failing(valid_resources)["project-in-confidential-folder"]
    assert messages == [
        'gcp:organizations/project:Project "project-project": folderId is unset; the project '
        "must be created in the folder whose org policy sets "
        "compute.restrictNonConfidentialComputing (['152423057221'])"
    ]
