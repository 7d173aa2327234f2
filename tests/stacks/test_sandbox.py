"""Alice's Kubernetes stack: reaches the cluster through the cluster stack, guards every tenant namespace."""

from __future__ import annotations

from typing import Any

import yaml

from stacks import outputs as out
from tests.conftest import stack_config
from tests.stacks.conftest import CLUSTER_OUTPUTS

CONFIG = stack_config("sandbox")
GATEKEEPER = "gke-sandbox:gatekeeper:Gatekeeper"
TENANT = "gke-sandbox:tenant_sandbox:TenantSandbox"
PROVIDER = "pulumi:providers:kubernetes"
REFERENCE = "pulumi:pulumi:StackReference"
KSA = "kubernetes:core/v1:ServiceAccount"
CHART = "kubernetes:helm.sh/v4:Chart"
NAMESPACE = "kubernetes:core/v1:Namespace"


def constraint_resources(plan: Any) -> list[Any]:
    return [r for r in plan.resources if r.type.startswith("kubernetes:constraints.gatekeeper.sh/")]


def test_only_sandbox_components_are_registered(shipped):
    sandbox = shipped("sandbox")
    assert sandbox.top_level() == {
        GATEKEEPER: {"gatekeeper"},
        TENANT: {"tenant-bob", "tenant-carol"},
        PROVIDER: {"sandbox-kubernetes"},
        REFERENCE: {CONFIG["sandbox"]["clusterStack"]},
        # The program's record of deploy config (Gatekeeper's image mirrored).
        "gke-sandbox:review:DeployFacts": {"deploy-facts"},
        # The config facts the review needs to judge this plan alone (approved digests).
        "gke-sandbox:review:AllowedExtras": {"review"},
    }, sorted(sandbox.top_level())
    for resource in sandbox.plan.resources:
        assert not resource.type.startswith(("gcp:", "random:", "tls:")), resource.urn


def test_the_plan_records_the_approved_digests_for_the_review(shipped):
    record = shipped("sandbox").plan.one("gke-sandbox:review:AllowedExtras")
    assert record.inputs == {"approvedDigests": {"ns1": CONFIG["sandbox"]["approvedDigests"]}}, (
        record.urn
    )


def test_cluster_coordinates_come_from_the_cluster_stack_reference(shipped):
    plan = shipped("sandbox").plan
    reference = plan.one(REFERENCE)
    assert reference.inputs["name"] == "alice/gke-sandbox/cluster", reference.urn
    provider = plan.one(PROVIDER)
    assert provider.inputs["kubeconfig"] == "[secret]", provider.urn
    assert out.TENANT_KUBECONFIGS in plan.captured.secret_outputs, out.TENANT_KUBECONFIGS
    kubeconfigs = plan.outputs[out.TENANT_KUBECONFIGS]
    for tenant in CONFIG["tenants"]:
        document = yaml.safe_load(kubeconfigs[tenant["name"]])
        (cluster,) = document["clusters"]
        assert cluster["name"] == CLUSTER_OUTPUTS["clusterName"], out.TENANT_KUBECONFIGS
        assert cluster["cluster"]["server"] == f"https://{CLUSTER_OUTPUTS['clusterEndpoint']}", (
            out.TENANT_KUBECONFIGS
        )
        assert (
            cluster["cluster"]["certificate-authority-data"]
            == CLUSTER_OUTPUTS["clusterCaCertificate"]
        ), out.TENANT_KUBECONFIGS
        (context,) = document["contexts"]
        assert context["context"]["namespace"] == tenant["namespace"], out.TENANT_KUBECONFIGS
        # Nobody holds a token: kubectl asks gcloud for a short-lived one.
        (user,) = document["users"]
        assert user["user"]["exec"]["command"] == "gke-gcloud-auth-plugin", out.TENANT_KUBECONFIGS


def test_every_kubernetes_object_goes_through_the_explicit_provider(shipped):
    sandbox = shipped("sandbox")
    provider = sandbox.plan.one(PROVIDER)
    for resource in sandbox.plan.resources:
        if resource.custom and resource.type.startswith("kubernetes:"):
            assert sandbox.registrations.providers[resource.urn].startswith(provider.urn + "::"), (
                resource.urn
            )


def test_ksa_annotation_is_the_cluster_stacks_workload_gsa(shipped):
    ksa = shipped("sandbox").plan.one(KSA)
    gsa = shipped("cluster").plan.outputs[out.WORKLOAD_SERVICE_ACCOUNT]
    (host,) = [t for t in CONFIG["tenants"] if t.get("workloadServiceAccount")]
    assert ksa.inputs["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] == gsa, ksa.urn
    assert ksa.inputs["metadata"]["name"] == host["workloadServiceAccount"], ksa.urn
    assert ksa.inputs["metadata"]["namespace"] == host["namespace"], ksa.urn


def test_gatekeeper_images_are_the_ones_the_cluster_admits(shipped):
    chart = shipped("sandbox").plan.one(CHART)
    allowlist = [
        p["namePattern"]
        for p in shipped("cluster")
        .plan.one("gcp:binaryauthorization/policy:Policy")
        .inputs["admissionWhitelistPatterns"]
    ]
    image = chart.inputs["values"]["image"]
    assert image["repository"] == CONFIG["sandbox"]["gatekeeper"]["image"], chart.urn
    assert image["repository"] in allowlist, chart.urn
    # Issue 10: from Alice's mirror in the cluster project, no crds image (helm.v4 runs no hooks).
    assert image["repository"].startswith("us-central1-docker.pkg.dev/ab-demo-cluster/mirror/")
    assert "crdRepository" not in image, chart.urn
    assert not [p for p in allowlist if "gatekeeper-crds" in p]


def test_only_the_hosting_tenant_gets_workload_constraints(shipped):
    plan = shipped("sandbox").plan
    by_namespace: dict[str, dict[str, Any]] = {}
    for constraint in constraint_resources(plan):
        (ns,) = constraint.inputs["spec"]["match"]["namespaces"]
        by_namespace.setdefault(ns, {})[constraint.inputs["kind"]] = constraint
    assert sorted(by_namespace) == sorted(t["namespace"] for t in CONFIG["tenants"]), sorted(
        by_namespace
    )
    digests = by_namespace["ns1"]["SandboxApprovedDigests"]
    assert digests.inputs["spec"]["parameters"] == {
        "serviceAccountName": "tee-sa",
        "digests": CONFIG["sandbox"]["approvedDigests"],
    }, digests.urn
    repos = by_namespace["ns1"]["SandboxAllowedRepos"]
    assert repos.inputs["spec"]["parameters"]["repos"] == [
        r.rstrip("/") for r in CONFIG["sandbox"]["allowedRepositories"]
    ], repos.urn
    workload_only = {
        "SandboxApprovedDigests",
        "SandboxNoCommandOverride",
        "SandboxEnvAllowlist",
        "SandboxWorkloadVolumes",
        "SandboxWorkloadPodShape",
    }
    assert workload_only <= set(by_namespace["ns1"]), sorted(by_namespace["ns1"])
    assert not workload_only & set(by_namespace["ns2"]), sorted(by_namespace["ns2"])
    exported = plan.outputs[out.GATEKEEPER_CONSTRAINTS]
    assert exported == sorted(c.inputs["metadata"]["name"] for c in constraint_resources(plan)), (
        out.GATEKEEPER_CONSTRAINTS
    )


def test_tenants_arrive_after_the_rules_that_bind_them(shipped):
    sandbox = shipped("sandbox")
    constraints = {c.urn for c in constraint_resources(sandbox.plan)}
    for tenant in sandbox.plan.of_type(TENANT):
        missing = constraints - sandbox.registrations.dependencies[tenant.urn]
        assert not missing, f"{tenant.urn} does not wait for {sorted(missing)}"


def test_tenant_namespaces_are_exported(shipped):
    plan = shipped("sandbox").plan
    expected = {t["name"]: t["namespace"] for t in CONFIG["tenants"]}
    assert plan.outputs[out.TENANT_NAMESPACES] == expected, out.TENANT_NAMESPACES
    names = sorted(n.inputs["metadata"]["name"] for n in plan.of_type(NAMESPACE))
    assert names == sorted([*expected.values(), "gatekeeper-system"]), names


def test_planning_one_stack_still_resolves_its_stack_references(tmp_path, monkeypatch):
    """`python -m infra plan sandbox` (as the preview workflow runs it) plans the earlier stacks
    too, unwritten, so the sandbox's StackReference sees the cluster plan's outputs."""
    import argparse

    from infra.plan import writer as plan

    seen: dict[str, dict] = {}
    real = plan.plan_stack

    def recording(stack, config, secret_keys, outputs):
        seen[stack] = {k: dict(v) for k, v in outputs.items()}
        return real(stack, config, secret_keys, outputs)

    monkeypatch.setattr(plan, "plan_stack", recording)
    args = argparse.Namespace(
        stacks=["sandbox"], project_dir=plan.ROOT, out=tmp_path, quiet=True, verbose=False
    )
    assert plan.run(args) == 0
    assert list(seen) == ["model", "harness", "cluster", "sandbox"]
    # The cluster's DNS-based endpoint (the mocks' `<uid>.<location>.gke.goog`).
    assert seen["sandbox"]["cluster"]["clusterEndpoint"] == (
        "gke-0123456789abcdef0123456789abcdef-123456789012.us-central1-a.gke.goog"
    )
    assert sorted(p.name for p in (tmp_path / "plan").iterdir()) == ["sandbox.json"]
