"""TenantSandbox: a tenant's namespace where it may run the signed harness and nothing more."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from components.tenant_sandbox import (
    TenantQuota,
    TenantSandbox,
    TenantSandboxArgs,
    limit_range_spec,
    namespace_labels,
    network_policies,
    quota_spec,
)

COMPONENT = "gke-sandbox:tenant_sandbox:TenantSandbox"
NAMESPACE = "kubernetes:core/v1:Namespace"
KSA = "kubernetes:core/v1:ServiceAccount"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMITS = "kubernetes:core/v1:LimitRange"
GSA = "model-reader@ab-demo-cluster.iam.gserviceaccount.com"
RBAC = "rbac.authorization.k8s.io"


def workload_tenant(**overrides: Any) -> TenantSandboxArgs:
    base: dict[str, Any] = {
        "tenant": "bob",
        "namespace": "ns1",
        "members": ["user:bob@example.com"],
        "workload_service_account": "tee-sa",
        "workload_gsa_email": GSA,
    }
    return TenantSandboxArgs(**{**base, **overrides})


def plain_tenant(members: Sequence[str] = ("user:carol@example.com",)) -> TenantSandboxArgs:
    return TenantSandboxArgs(tenant="carol", namespace="ns2", members=list(members))


def policies(plan: Any) -> dict[str, Any]:
    return {p.inputs["metadata"]["name"]: p for p in plan.of_type(NETPOL)}


def test_namespace_enforces_restricted_pod_security(run):
    plan = run(lambda: TenantSandbox("tenant-bob", workload_tenant()))
    ns = plan.one(NAMESPACE)
    labels = ns.inputs["metadata"]["labels"]
    assert ns.inputs["metadata"]["name"] == "ns1", ns.urn
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted", ns.urn
    assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.33", ns.urn
    assert labels["gke-sandbox/tenant"] == "bob", ns.urn


def test_workload_ksa_is_annotated_and_mounts_no_token(run):
    plan = run(lambda: TenantSandbox("tenant-bob", workload_tenant()))
    ksa = plan.one(KSA)
    assert ksa.inputs["metadata"]["name"] == "tee-sa", ksa.urn
    assert ksa.inputs["metadata"]["namespace"] == "ns1", ksa.urn
    assert ksa.inputs["metadata"]["annotations"] == {"iam.gke.io/gcp-service-account": GSA}, ksa.urn
    assert ksa.inputs["automountServiceAccountToken"] is False, ksa.urn


def test_plain_tenant_has_no_ksa(run):
    plan = run(lambda: TenantSandbox("tenant-carol", plain_tenant()))
    assert plan.of_type(KSA) == []


@pytest.mark.parametrize("args", [workload_tenant(), plain_tenant()], ids=["bob", "carol"])
def test_role_lives_in_the_tenants_namespace_with_exactly_the_tenant_rules(run, args):
    plan = run(lambda: TenantSandbox(f"tenant-{args.tenant}", args))
    role = plan.one(ROLE)
    assert role.inputs["metadata"]["namespace"] == args.namespace, role.urn
    assert role.inputs["metadata"]["name"] == "tenant", role.urn
    apply_await = ["create", "delete", "get", "list", "patch", "update", "watch"]
    read = ["get", "list", "watch"]
    assert role.inputs["rules"] == [
        # What `pulumi up -s workload` applies (and, for these three, awaits) - issue 10.
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": apply_await},
        # The Deployment await reads its ReplicaSets and Pods (pulumi-kubernetes await logic).
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": read},
        {"apiGroups": [""], "resources": ["services"], "verbs": apply_await},
        # Every applied kind is also listed and watched: deleting it is awaited through an
        # informer on the kind (pulumi-kubernetes provider/pkg/await/await.go `Deletion`).
        {"apiGroups": [""], "resources": ["secrets"], "verbs": apply_await},
        {
            "apiGroups": [""],
            "resources": ["pods", "persistentvolumeclaims", "endpoints", "events"],
            "verbs": read,
        },
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": apply_await},
        # GKE's FrontendConfig: the TLS 1.2+ SSL policy of the Ingress.
        {
            "apiGroups": ["networking.gke.io"],
            "resources": ["frontendconfigs"],
            "verbs": apply_await,
        },
        # The harness's scale-out: no create awaiter, but deletions are awaited.
        {
            "apiGroups": ["autoscaling"],
            "resources": ["horizontalpodautoscalers"],
            "verbs": apply_await,
        },
        {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": apply_await},
    ], role.urn


def test_tenant_role_grants_nothing_that_runs_other_code_or_changes_rules(run):
    """Whatever the rule list becomes, these abilities must never appear in it."""
    plan = run(lambda: TenantSandbox("tenant-bob", workload_tenant()))
    role = plan.one(ROLE)
    forbidden = {
        "pods/exec",
        "pods/attach",
        "pods/portforward",
        "pods/proxy",
        "pods/ephemeralcontainers",
        "serviceaccounts",
        "serviceaccounts/token",
        "roles",
        "rolebindings",
        "networkpolicies",
        "namespaces",
        "resourcequotas",
        "limitranges",
        "nodes/proxy",
        "services/proxy",
    }
    for rule in role.inputs["rules"]:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"], rule
        assert not forbidden & set(rule["resources"]), rule
        assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"]), rule
        if set(rule["resources"]) & {"pods", "pods/log", "events"}:
            assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule


def test_role_binding_maps_members_to_rbac_subjects(run):
    members = [
        "user:bob@example.com",
        "group:bob-team@example.com",
        "serviceAccount:ci@b-demo-harness.iam.gserviceaccount.com",
    ]
    plan = run(lambda: TenantSandbox("tenant-bob", workload_tenant(members=members)))
    binding = plan.one(BINDING)
    assert binding.inputs["metadata"]["namespace"] == "ns1", binding.urn
    assert binding.inputs["roleRef"] == {"apiGroup": RBAC, "kind": "Role", "name": "tenant"}, (
        binding.urn
    )
    assert binding.inputs["subjects"] == [
        {"kind": "User", "name": "bob@example.com", "apiGroup": RBAC},
        {"kind": "Group", "name": "bob-team@example.com", "apiGroup": RBAC},
        {"kind": "User", "name": "ci@b-demo-harness.iam.gserviceaccount.com", "apiGroup": RBAC},
    ], binding.urn


def test_default_deny_dns_and_load_balancer_policies(run):
    plan = run(lambda: TenantSandbox("tenant-carol", plain_tenant()))
    by_name = policies(plan)
    assert sorted(by_name) == ["allow-dns", "allow-load-balancer", "default-deny"], sorted(by_name)
    deny = by_name["default-deny"]
    assert deny.inputs["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, (
        deny.urn
    )
    dns = by_name["allow-dns"]
    assert dns.inputs["spec"]["policyTypes"] == ["Egress"], dns.urn
    (egress,) = dns.inputs["spec"]["egress"]
    assert egress["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ], dns.urn
    assert sorted((p["protocol"], p["port"]) for p in egress["ports"]) == [
        ("TCP", 53),
        ("UDP", 53),
    ], dns.urn
    lb = by_name["allow-load-balancer"]
    assert lb.inputs["spec"]["policyTypes"] == ["Ingress"], lb.urn
    (ingress,) = lb.inputs["spec"]["ingress"]
    assert ingress["from"] == [
        {"ipBlock": {"cidr": "35.191.0.0/16"}},
        {"ipBlock": {"cidr": "130.211.0.0/22"}},
        {"ipBlock": {"cidr": "2600:2d00:1:b029::/64"}},
        {"ipBlock": {"cidr": "2600:2d00:1:1::/64"}},
    ], lb.urn
    assert ingress["ports"] == [{"protocol": "TCP", "port": 8443}], lb.urn
    for policy in by_name.values():
        assert policy.inputs["metadata"]["namespace"] == "ns2", policy.urn


def test_google_apis_egress_only_for_the_workload_tenant(run):
    plan = run(lambda: TenantSandbox("tenant-bob", workload_tenant()))
    by_name = policies(plan)
    apis = by_name["allow-google-apis"]
    assert apis.inputs["spec"]["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/name": "harness"}
    }, apis.urn
    assert apis.inputs["spec"]["policyTypes"] == ["Egress"], apis.urn
    destinations = [
        (peer["ipBlock"]["cidr"], port["port"])
        for rule in apis.inputs["spec"]["egress"]
        for peer in rule["to"]
        for port in rule["ports"]
    ]
    assert sorted(destinations) == sorted(
        [
            ("199.36.153.8/30", 443),
            ("199.36.153.4/30", 443),
            ("169.254.169.254/32", 80),
            ("169.254.169.252/32", 988),
        ]
    ), apis.urn
    plain = run(lambda: TenantSandbox("tenant-carol", plain_tenant()))
    assert "allow-google-apis" not in policies(plain), sorted(policies(plain))


def test_quota_and_limit_range(run):
    quota = TenantQuota(cpu="2", memory="4Gi", pods=5)
    plan = run(lambda: TenantSandbox("tenant-bob", workload_tenant(quota=quota)))
    rq = plan.one(QUOTA)
    assert rq.inputs["metadata"]["namespace"] == "ns1", rq.urn
    assert rq.inputs["spec"]["hard"] == {
        "pods": "5",
        "requests.cpu": "2",
        "requests.memory": "4Gi",
        "limits.cpu": "2",
        "limits.memory": "4Gi",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
        "persistentvolumeclaims": "0",
    }, rq.urn
    lr = plan.one(LIMITS)
    assert lr.inputs["metadata"]["namespace"] == "ns1", lr.urn
    (limit,) = lr.inputs["spec"]["limits"]
    assert limit["type"] == "Container", lr.urn
    assert limit["max"] == {"cpu": "2", "memory": "4Gi", "ephemeral-storage": "2Gi"}, lr.urn


def test_namespaced_children_wait_for_the_namespace(run, registrations):
    plan = run(lambda: TenantSandbox("tenant-bob", workload_tenant()))
    ns = plan.one(NAMESPACE)
    for kind in (KSA, ROLE, BINDING, NETPOL, QUOTA, LIMITS):
        for resource in plan.of_type(kind):
            assert ns.urn in registrations.dependencies[resource.urn], resource.urn


def test_registered_outputs(run, registrations):
    plan = run(lambda: TenantSandbox("tenant-bob", workload_tenant()))
    component = plan.one(COMPONENT)
    assert registrations.outputs[component.urn] == {
        "namespaceName": "ns1",
        "workloadServiceAccount": "tee-sa",
        "subjects": [{"kind": "User", "name": "bob@example.com", "apiGroup": RBAC}],
    }, component.urn


def test_ksa_without_gsa_is_refused():
    with pytest.raises(
        ValueError, match="workload_service_account and workload_gsa_email go together"
    ):
        TenantSandbox("tenant-bob", workload_tenant(workload_gsa_email=None))


def test_gsa_without_ksa_is_refused():
    with pytest.raises(
        ValueError, match="workload_service_account and workload_gsa_email go together"
    ):
        TenantSandbox("tenant-bob", workload_tenant(workload_service_account=None))


def test_tenant_without_members_is_refused():
    with pytest.raises(ValueError, match="tenant 'carol' has no members"):
        TenantSandbox("tenant-carol", plain_tenant(members=[]))


@pytest.mark.parametrize("member", ["domain:example.com", "bob@example.com", "allUsers"])
def test_member_that_is_no_rbac_subject_is_refused(member):
    with pytest.raises(
        ValueError, match=re.escape(f"member '{member}' cannot be a Kubernetes RBAC subject")
    ):
        TenantSandbox("tenant-carol", plain_tenant(members=[member]))


# --------------------------------------------------------------------------- pure builders, no mocks


def test_namespace_labels_enforce_restricted_pod_security():
    assert namespace_labels("bob") == {
        "gke-sandbox/tenant": "bob",
        "app.kubernetes.io/managed-by": "pulumi",
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.33",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }


def test_network_policies_open_only_dns_and_the_harness_port_for_a_plain_tenant():
    specs = network_policies(plain_tenant())
    assert list(specs) == ["default-deny", "allow-dns", "allow-load-balancer"]
    assert specs["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert specs["allow-load-balancer"] == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "harness"}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [
                    {"ipBlock": {"cidr": "35.191.0.0/16"}},
                    {"ipBlock": {"cidr": "130.211.0.0/22"}},
                    {"ipBlock": {"cidr": "2600:2d00:1:b029::/64"}},
                    {"ipBlock": {"cidr": "2600:2d00:1:1::/64"}},
                ],
                "ports": [{"protocol": "TCP", "port": 8443}],
            }
        ],
    }


def test_network_policies_let_the_workload_reach_google_apis_and_the_metadata_server():
    specs = network_policies(workload_tenant(google_api_cidrs=["199.36.153.8/30"]))
    assert specs["allow-google-apis"]["egress"] == [
        {
            "to": [{"ipBlock": {"cidr": "199.36.153.8/30"}}],
            "ports": [{"protocol": "TCP", "port": 443}],
        },
        # GKE metadata server: port 80, and 988 under Dataplane V2.
        {
            "to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}],
            "ports": [{"protocol": "TCP", "port": 80}],
        },
        {
            "to": [{"ipBlock": {"cidr": "169.254.169.252/32"}}],
            "ports": [{"protocol": "TCP", "port": 988}],
        },
    ]
    # Every egress rule names its destination: an empty `to` would open egress to anywhere.
    for name, spec in specs.items():
        for rule in spec.get("egress", []):
            assert rule["to"], name


def test_quota_and_limits_follow_the_tenant_budget():
    quota = TenantQuota(cpu="3", memory="6Gi", pods=7)
    hard = quota_spec(quota)["hard"]
    assert (hard["pods"], hard["limits.cpu"], hard["limits.memory"]) == ("7", "3", "6Gi")
    # No exposure but the Ingress, nothing on disk.
    assert hard["services.loadbalancers"] == "0"
    assert hard["services.nodeports"] == "0"
    assert hard["persistentvolumeclaims"] == "0"
    (limit,) = limit_range_spec(quota)["limits"]
    assert limit["max"] == {"cpu": "3", "memory": "6Gi", "ephemeral-storage": "2Gi"}
    assert limit["default"] == {"cpu": "1", "memory": "2Gi", "ephemeral-storage": "1Gi"}


def test_network_policies_select_the_harness_pods_the_workload_deploys():
    """The tenant's NetworkPolicies and Bob's Deployment are built apart; the selectors must
    still match the pod template's labels, or the harness would be cut off."""
    from components.harness_workload import deployment_spec
    from tests.components.test_harness_workload import workload_args

    pod_labels = deployment_spec(workload_args())["template"]["metadata"]["labels"]
    for name in ("allow-load-balancer", "allow-google-apis"):
        selector = network_policies(workload_tenant())[name]["podSelector"]["matchLabels"]
        assert selector.items() <= pod_labels.items(), name
