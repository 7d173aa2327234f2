"""Gatekeeper: pinned by digest, no hook images, and every rule an explicit, ordered resource."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import pytest

from components import gatekeeper_policy as rules
from components.gatekeeper import NAMESPACE, Gatekeeper, GatekeeperArgs

COMPONENT = "gke-sandbox:gatekeeper:Gatekeeper"
CHART = "kubernetes:helm.sh/v4:Chart"
NS = "kubernetes:core/v1:Namespace"
TEMPLATE = "kubernetes:templates.gatekeeper.sh/v1:ConstraintTemplate"
IMAGE = "us-central1-docker.pkg.dev/ab-demo-cluster/mirror/gatekeeper@sha256:" + "4e" * 32
REPO = "us-central1-docker.pkg.dev/b-demo-harness/harness"


@cache
def _rule_set() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The real templates, and the constraints of one workload tenant and one plain tenant."""
    templates = rules.constraint_templates()
    tenants = [
        rules.TenantAdmission(
            namespace="ns1",
            allowed_repos=(REPO,),
            workload_service_account="tee-sa",
            approved_digests=("sha256:" + "79" * 32,),
        ),
        rules.TenantAdmission(namespace="ns2", allowed_repos=(REPO,)),
    ]
    return templates, [c for t in tenants for c in rules.constraints(t)]


def gatekeeper_args(
    templates: Sequence[Mapping[str, Any]] | None = None,
    constraints: Sequence[Mapping[str, Any]] | None = None,
    **overrides: Any,
) -> GatekeeperArgs:
    real_templates, real_constraints = _rule_set()
    base: dict[str, Any] = {
        "version": "v3.23.0",
        "image": IMAGE,
        "templates": copy.deepcopy(real_templates if templates is None else list(templates)),
        "constraints": copy.deepcopy(
            real_constraints if constraints is None else list(constraints)
        ),
    }
    return GatekeeperArgs(**{**base, **overrides})


def constraint_resources(plan: Any) -> list[Any]:
    return [r for r in plan.resources if r.type.startswith("kubernetes:constraints.gatekeeper.sh/")]


def test_chart_pins_images_by_digest_with_no_hooks(run):
    plan = run(lambda: Gatekeeper("gatekeeper", gatekeeper_args()))
    chart = plan.one(CHART)
    values = chart.inputs["values"]
    # An empty release makes the chart use `repository` verbatim: image@sha256:...
    # No crdRepository: helm.v4 never runs the CRD upgrade hook that would pull it (issue 10).
    assert values["image"] == {"repository": IMAGE, "release": ""}, chart.urn
    assert chart.inputs["includeHooks"] is False, chart.urn
    assert values["postInstall"] == {
        "labelNamespace": {"enabled": False},
        "probeWebhook": {"enabled": False},
    }, chart.urn
    assert values["postUpgrade"] == {"labelNamespace": {"enabled": False}}, chart.urn
    assert values["preUninstall"] == {"deleteWebhookConfigurations": {"enabled": False}}, chart.urn
    assert values["validatingWebhookFailurePolicy"] == "Fail", chart.urn
    assert chart.inputs["version"] == "3.23.0", chart.urn
    assert chart.inputs["namespace"] == NAMESPACE, chart.urn


def test_gatekeeper_namespace_is_exempt_and_restricted(run):
    plan = run(lambda: Gatekeeper("gatekeeper", gatekeeper_args()))
    ns = plan.one(NS)
    assert ns.inputs["metadata"]["name"] == "gatekeeper-system", ns.urn
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted", (
        ns.urn
    )
    chart = plan.one(CHART)
    managed = [
        "gatekeeper-system",
        "gke-managed-system",
        "gmp-public",
        "gmp-system",
        "kube-node-lease",
        "kube-public",
        "kube-system",
    ]
    values = chart.inputs["values"]
    assert values["controllerManager"]["exemptNamespaces"] == managed
    # Exempt by name in each webhook's namespaceSelector (chart 3.23.0), label or not.
    for key in ("validatingWebhookExemptNamespacesLabels", "mutatingWebhookExemptNamespacesLabels"):
        assert values[key] == {"kubernetes.io/metadata.name": managed}, (key, chart.urn)


def test_one_custom_resource_per_template(run):
    templates, _ = _rule_set()
    plan = run(lambda: Gatekeeper("gatekeeper", gatekeeper_args()))
    deployed = {r.inputs["metadata"]["name"]: r for r in plan.of_type(TEMPLATE)}
    assert sorted(deployed) == sorted(t["metadata"]["name"] for t in templates), sorted(deployed)
    for template in templates:
        resource = deployed[template["metadata"]["name"]]
        # The Rego the cluster runs is byte for byte the Rego the offline tests run.
        assert resource.inputs["spec"] == template["spec"], resource.urn
        assert resource.inputs["apiVersion"] == "templates.gatekeeper.sh/v1", resource.urn
        assert resource.name == f"gatekeeper-template-{template['metadata']['name']}", resource.urn


def test_one_custom_resource_per_constraint(run):
    _, constraints = _rule_set()
    plan = run(lambda: Gatekeeper("gatekeeper", gatekeeper_args()))
    deployed = {r.inputs["metadata"]["name"]: r for r in constraint_resources(plan)}
    assert sorted(deployed) == sorted(c["metadata"]["name"] for c in constraints), sorted(deployed)
    for constraint in constraints:
        resource = deployed[constraint["metadata"]["name"]]
        assert (
            resource.type == f"kubernetes:constraints.gatekeeper.sh/v1beta1:{constraint['kind']}"
        ), resource.urn
        assert resource.inputs["spec"] == constraint["spec"], resource.urn


def test_templates_wait_for_the_chart_and_constraints_for_every_template(run, registrations):
    plan = run(lambda: Gatekeeper("gatekeeper", gatekeeper_args()))
    chart = plan.one(CHART)
    ns = plan.one(NS)
    templates = {t.urn for t in plan.of_type(TEMPLATE)}
    assert ns.urn in registrations.dependencies[chart.urn], chart.urn
    for urn in templates:
        assert chart.urn in registrations.dependencies[urn], urn
    for constraint in constraint_resources(plan):
        missing = templates - registrations.dependencies[constraint.urn]
        assert not missing, f"{constraint.urn} does not wait for {sorted(missing)}"


def test_children_are_parented_and_named_by_role(run):
    templates, constraints = _rule_set()
    plan = run(lambda: Gatekeeper("gatekeeper", gatekeeper_args()))
    component = plan.one(COMPONENT)
    children = [r for r in plan.resources if r.parent == component.urn]
    expected = (
        [
            "gatekeeper-chart",
            "gatekeeper-namespace",
            "gatekeeper-ignore-kube-node-lease",
            "gatekeeper-ignore-kube-public",
            "gatekeeper-ignore-kube-system",
        ]
        + [f"gatekeeper-template-{t['metadata']['name']}" for t in templates]
        + [f"gatekeeper-constraint-{c['metadata']['name']}" for c in constraints]
    )
    assert sorted(r.name for r in children) == sorted(expected), component.urn


def test_registered_outputs_list_templates_and_constraints(run, registrations):
    templates, constraints = _rule_set()
    plan = run(lambda: Gatekeeper("gatekeeper", gatekeeper_args()))
    component = plan.one(COMPONENT)
    assert registrations.outputs[component.urn] == {
        "namespaceName": "gatekeeper-system",
        "ignoredNamespaces": [
            "gatekeeper-system",
            "kube-node-lease",
            "kube-public",
            "kube-system",
        ],
        "templateNames": [t["metadata"]["name"] for t in templates],
        "constraintNames": [c["metadata"]["name"] for c in constraints],
    }, component.urn


def test_image_by_tag_is_refused():
    tagged = "docker.io/openpolicyagent/gatekeeper:v3.15.0"
    with pytest.raises(
        ValueError, match=re.escape(f"Gatekeeper image '{tagged}' must be pinned by digest")
    ):
        Gatekeeper("gatekeeper", gatekeeper_args(image=tagged))


def test_system_namespaces_get_the_ignore_label_before_the_chart(run, registrations):
    """exemptNamespaces only allows the label; the patches set it (issue 10)."""
    plan = run(lambda: Gatekeeper("gatekeeper", gatekeeper_args()))
    patches = plan.of_type("kubernetes:core/v1:NamespacePatch")
    assert sorted(p.inputs["metadata"]["name"] for p in patches) == [
        "kube-node-lease",
        "kube-public",
        "kube-system",
    ]
    for patch in patches:
        assert patch.inputs["metadata"]["labels"] == {"admission.gatekeeper.sh/ignore": "system"}
    chart = plan.one(CHART)
    assert {p.urn for p in patches} <= registrations.dependencies[chart.urn], chart.urn
    managed = [
        "gatekeeper-system",
        "gke-managed-system",
        "gmp-public",
        "gmp-system",
        "kube-node-lease",
        "kube-public",
        "kube-system",
    ]
    values = chart.inputs["values"]
    assert values["controllerManager"]["exemptNamespaces"] == managed
    # Exempt by name in each webhook's namespaceSelector (chart 3.23.0), label or not.
    for key in ("validatingWebhookExemptNamespacesLabels", "mutatingWebhookExemptNamespacesLabels"):
        assert values[key] == {"kubernetes.io/metadata.name": managed}, key


def test_exemptions_without_a_system_namespace_are_refused():
    with pytest.raises(ValueError, match=r"must include the system namespaces \['gmp-public'\]"):
        Gatekeeper(
            "gatekeeper",
            gatekeeper_args(
                exempt_namespaces=[
                    "gatekeeper-system",
                    "gke-managed-system",
                    "gmp-system",
                    "kube-node-lease",
                    "kube-public",
                    "kube-system",
                ]
            ),
        )


def test_constraint_without_its_template_is_refused():
    templates, constraints = _rule_set()
    orphan = next(c for c in constraints if c["kind"] == "SandboxSeccomp")
    kept = [t for t in templates if t["spec"]["crd"]["spec"]["names"]["kind"] != "SandboxSeccomp"]
    name = orphan["metadata"]["name"]
    with pytest.raises(
        ValueError, match=f"constraint '{name}' has no template of kind 'SandboxSeccomp'"
    ):
        Gatekeeper("gatekeeper", gatekeeper_args(templates=kept, constraints=[orphan]))
