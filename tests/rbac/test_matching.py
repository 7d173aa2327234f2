"""Kubernetes RBAC matching rules, one rule per test (see policy/rbac/__init__.py's docstring)."""

from __future__ import annotations

import pytest

from policy.rbac import (
    RUN_AS_SERVICE_ACCOUNT_REQUESTS,
    Access,
    RbacError,
    RbacPolicy,
    Subject,
    UserInfo,
    can,
    who_can,
)
from tests.rbac.conftest import (
    BOB,
    CAROL,
    READ,
    WRITE,
    cluster_role,
    cluster_role_binding,
    group,
    role,
    role_binding,
    rule,
    sa,
    user,
)

Obj = dict

POD_READER = role("pod-reader", "ns1", rule(["get", "list"], [""], ["pods"]))
BIND_BOB = role_binding("bob", "ns1", "Role", "pod-reader", user("bob@example.com"))


def _bob_with(*rules: Obj) -> RbacPolicy:
    return RbacPolicy(
        [role("r", "ns1", *rules), role_binding("b", "ns1", "Role", "r", user("bob@example.com"))]
    )


# -- verbs, groups, resources -------------------------------------------------------------------


def test_exact_verb_group_and_resource() -> None:
    policy = RbacPolicy([POD_READER, BIND_BOB])
    assert policy.check(BOB, "get", "pods", namespace="ns1")
    assert policy.check(BOB, "list", "pods", namespace="ns1")
    assert not policy.check(BOB, "delete", "pods", namespace="ns1")
    assert not policy.check(BOB, "get", "pods", namespace="ns1", api_group="apps")
    assert not policy.check(BOB, "get", "services", namespace="ns1")


def test_star_verb_and_star_group() -> None:
    policy = _bob_with(rule(["*"], ["*"], ["deployments"]))
    assert policy.check(BOB, "escalate", "deployments", namespace="ns1", api_group="apps")
    assert policy.check(BOB, "delete", "deployments", namespace="ns1", api_group="extensions")
    assert not policy.check(BOB, "get", "pods", namespace="ns1")


def test_star_resource_matches_every_resource_and_subresource() -> None:
    policy = _bob_with(rule(["create"], [""], ["*"]))
    assert policy.check(BOB, "create", "pods", namespace="ns1")
    assert policy.check(BOB, "create", "pods/exec", namespace="ns1")
    assert policy.check(BOB, "create", "serviceaccounts", namespace="ns1", subresource="token")
    assert not policy.check(BOB, "create", "deployments", namespace="ns1", api_group="apps")


def test_resource_slash_star_is_not_a_wildcard() -> None:
    """Kubernetes' ResourceMatches only knows '*', exact names and '*/sub': 'pods/*' grants nothing."""
    policy = _bob_with(rule(["get", "create"], [""], ["pods/*"]))
    assert not policy.check(BOB, "create", "pods/exec", namespace="ns1")
    assert not policy.check(BOB, "get", "pods/log", namespace="ns1")
    assert not policy.check(BOB, "get", "pods", namespace="ns1")


def test_star_slash_subresource_matches_that_subresource_of_any_resource() -> None:
    policy = _bob_with(rule(["update"], ["*"], ["*/scale"]))
    assert policy.check(BOB, "update", "deployments/scale", namespace="ns1", api_group="apps")
    assert policy.check(BOB, "update", "replicationcontrollers/scale", namespace="ns1")
    assert not policy.check(BOB, "update", "deployments", namespace="ns1", api_group="apps")
    assert not policy.check(BOB, "update", "deployments/status", namespace="ns1", api_group="apps")


def test_resource_grant_does_not_cover_its_subresources() -> None:
    policy = _bob_with(rule(["*"], [""], ["pods", "pods/log"]))
    assert policy.check(BOB, "get", "pods/log", namespace="ns1")
    for sub in ("exec", "attach", "portforward", "proxy", "ephemeralcontainers"):
        assert not policy.check(BOB, "create", f"pods/{sub}", namespace="ns1"), sub


def test_subresource_can_be_given_either_way() -> None:
    policy = _bob_with(rule(["get"], [""], ["pods/log"]))
    assert (
        policy.check(BOB, "get", "pods/log", namespace="ns1").grants
        == policy.check(BOB, "get", "pods", namespace="ns1", subresource="log").grants
    )
    with pytest.raises(RbacError, match="already names a subresource"):
        policy.check(BOB, "get", "pods/log", namespace="ns1", subresource="exec")


# -- resourceNames ------------------------------------------------------------------------------


def test_resource_names_restrict_to_named_requests() -> None:
    policy = _bob_with(
        rule(
            ["get", "list", "watch", "update", "create", "delete", "deletecollection"],
            [""],
            ["configmaps"],
            names=["harness-config"],
        )
    )
    assert policy.check(BOB, "get", "configmaps", namespace="ns1", name="harness-config")
    assert policy.check(BOB, "update", "configmaps", namespace="ns1", name="harness-config")
    assert not policy.check(BOB, "get", "configmaps", namespace="ns1", name="other")
    for verb in ("list", "watch", "create", "deletecollection"):
        assert not policy.check(BOB, verb, "configmaps", namespace="ns1"), verb
    # a list/watch narrowed by fieldSelector metadata.name carries the name, so it matches
    assert policy.check(BOB, "watch", "configmaps", namespace="ns1", name="harness-config")


def test_resource_names_with_a_subresource() -> None:
    policy = _bob_with(rule(["get"], [""], ["pods/log"], names=["harness-0"]))
    assert policy.check(BOB, "get", "pods/log", namespace="ns1", name="harness-0")
    assert not policy.check(BOB, "get", "pods/log", namespace="ns1", name="harness-1")


# -- non-resource URLs --------------------------------------------------------------------------


def test_non_resource_urls() -> None:
    policy = RbacPolicy(
        [
            cluster_role("probe", rule(["get"], urls=["/healthz", "/metrics/*"])),
            cluster_role_binding("probe", "probe", user("bob@example.com")),
        ]
    )
    assert policy.check_non_resource(BOB, "get", "/healthz")
    assert policy.check_non_resource(BOB, "get", "/metrics/cadvisor")
    assert not policy.check_non_resource(BOB, "get", "/metrics")
    assert not policy.check_non_resource(BOB, "post", "/healthz")
    assert not policy.check_non_resource(BOB, "get", "/healthz/etcd")


def test_non_resource_urls_are_not_granted_through_a_role_binding() -> None:
    policy = RbacPolicy(
        [
            cluster_role("probe", rule(["get"], urls=["*"])),
            role_binding("probe", "ns1", "ClusterRole", "probe", user("bob@example.com")),
        ]
    )
    assert not policy.check_non_resource(BOB, "get", "/healthz")


# -- binding scope ------------------------------------------------------------------------------


def test_role_binding_to_cluster_role_grants_only_in_its_namespace() -> None:
    policy = RbacPolicy(
        [
            cluster_role("edit", rule(WRITE, ["apps"], ["deployments"])),
            role_binding("bob-edit", "ns1", "ClusterRole", "edit", user("bob@example.com")),
        ]
    )
    assert policy.check(BOB, "create", "deployments", namespace="ns1", api_group="apps")
    assert not policy.check(BOB, "create", "deployments", namespace="ns2", api_group="apps")
    assert not policy.check(BOB, "list", "deployments", api_group="apps"), (
        "all-namespace list needs a ClusterRoleBinding"
    )


def test_cluster_role_binding_grants_everywhere() -> None:
    policy = RbacPolicy(
        [
            cluster_role("view", rule(READ, [""], ["pods"])),
            cluster_role_binding("bob-view", "view", user("bob@example.com")),
        ]
    )
    assert policy.check(BOB, "list", "pods", namespace="ns1")
    assert policy.check(BOB, "list", "pods", namespace="kube-system")
    assert policy.check(BOB, "list", "pods")


def test_role_is_resolved_in_the_binding_namespace() -> None:
    policy = RbacPolicy(
        [POD_READER, role_binding("bob", "ns2", "Role", "pod-reader", user("bob@example.com"))]
    )
    assert not policy.check(BOB, "get", "pods", namespace="ns2")
    assert not policy.check(BOB, "get", "pods", namespace="ns1")
    assert policy.warnings == [
        "RoleBinding ns2/bob references missing Role ns2/pod-reader; it grants nothing"
    ]


def test_cluster_scoped_resources_need_a_cluster_role_binding() -> None:
    policy = RbacPolicy(
        [
            cluster_role("nodes", rule(READ, [""], ["nodes"])),
            role_binding("b", "ns1", "ClusterRole", "nodes", user("bob@example.com")),
        ]
    )
    assert not policy.check(BOB, "get", "nodes")


# -- subjects -----------------------------------------------------------------------------------


def test_service_account_subject_matches_its_username() -> None:
    policy = RbacPolicy(
        [POD_READER, role_binding("sa", "ns1", "Role", "pod-reader", sa("tee-sa", "ns1"))]
    )
    assert policy.check(UserInfo.service_account("ns1", "tee-sa"), "get", "pods", namespace="ns1")
    assert policy.check(Subject("ServiceAccount", "tee-sa", "ns1"), "get", "pods", namespace="ns1")
    assert policy.check(
        UserInfo("system:serviceaccount:ns1:tee-sa"), "get", "pods", namespace="ns1"
    )
    assert not policy.check(
        UserInfo.service_account("ns2", "tee-sa"), "get", "pods", namespace="ns1"
    )
    assert not policy.check(UserInfo.user("tee-sa"), "get", "pods", namespace="ns1")


def test_service_account_subject_namespace_defaults_to_the_binding() -> None:
    policy = RbacPolicy([POD_READER, role_binding("sa", "ns1", "Role", "pod-reader", sa("tee-sa"))])
    assert policy.check(UserInfo.service_account("ns1", "tee-sa"), "get", "pods", namespace="ns1")
    (access,) = policy.who_can("get", "pods", "ns1")
    assert access.subject == Subject("ServiceAccount", "tee-sa", "ns1")


def test_user_subject_naming_a_service_account_matches_it() -> None:
    policy = RbacPolicy(
        [
            POD_READER,
            role_binding(
                "u", "ns1", "Role", "pod-reader", user("system:serviceaccount:ns1:tee-sa")
            ),
        ]
    )
    assert policy.check(UserInfo.service_account("ns1", "tee-sa"), "get", "pods", namespace="ns1")


def test_service_account_groups() -> None:
    policy = RbacPolicy(
        [
            POD_READER,
            role_binding(
                "ns-sas", "ns1", "Role", "pod-reader", group("system:serviceaccounts:ns1")
            ),
            cluster_role("lister", rule(["list"], [""], ["configmaps"])),
            cluster_role_binding("all-sas", "lister", group("system:serviceaccounts")),
        ]
    )
    ns1_sa = UserInfo.service_account("ns1", "anything")
    ns2_sa = UserInfo.service_account("ns2", "anything")
    assert policy.check(ns1_sa, "get", "pods", namespace="ns1")
    assert not policy.check(ns2_sa, "get", "pods", namespace="ns1")
    assert policy.check(ns2_sa, "list", "configmaps", namespace="ns7")
    assert not policy.check(BOB, "list", "configmaps", namespace="ns7"), (
        "users are not service accounts"
    )


def test_system_authenticated_covers_users_and_service_accounts_not_anonymous() -> None:
    policy = RbacPolicy(
        [
            cluster_role("disco", rule(["get"], urls=["/version"])),
            cluster_role_binding("disco", "disco", group("system:authenticated")),
        ]
    )
    assert policy.check_non_resource(BOB, "get", "/version")
    assert policy.check_non_resource(UserInfo.service_account("ns1", "tee-sa"), "get", "/version")
    assert not policy.check_non_resource(UserInfo.anonymous(), "get", "/version")


def test_group_subject_is_not_an_identity() -> None:
    with pytest.raises(RbacError, match="Group devs is not an identity"):
        RbacPolicy([]).check(Subject("Group", "devs"), "get", "pods", namespace="ns1")


# -- aggregation --------------------------------------------------------------------------------


def test_aggregated_cluster_role_collects_labelled_roles() -> None:
    policy = RbacPolicy(
        [
            cluster_role(
                "monitoring",
                rule(["*"], ["*"], ["*"]),
                aggregate=[{"matchLabels": {"rbac.example.com/aggregate-to-monitoring": "true"}}],
            ),
            cluster_role(
                "pods-view",
                rule(READ, [""], ["pods"]),
                labels={"rbac.example.com/aggregate-to-monitoring": "true"},
            ),
            cluster_role("secrets-view", rule(READ, [""], ["secrets"])),
            cluster_role_binding("mon", "monitoring", user("bob@example.com")),
        ]
    )
    decision = policy.check(BOB, "list", "pods", namespace="ns1")
    assert decision
    assert decision.grants[0].aggregated_from == "pods-view"
    assert not policy.check(BOB, "list", "secrets", namespace="ns1"), (
        "unlabelled role is not aggregated"
    )
    assert not policy.check(BOB, "delete", "nodes"), "an aggregated role's own rules are replaced"


def test_aggregation_is_transitive_and_supports_match_expressions() -> None:
    policy = RbacPolicy(
        [
            cluster_role(
                "top",
                aggregate=[
                    {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["mid"]}]}
                ],
            ),
            cluster_role(
                "mid",
                labels={"tier": "mid"},
                aggregate=[{"matchExpressions": [{"key": "leaf", "operator": "Exists"}]}],
            ),
            cluster_role("leaf", rule(["get"], [""], ["configmaps"]), labels={"leaf": "x"}),
            cluster_role_binding("top", "top", user("bob@example.com")),
        ]
    )
    decision = policy.check(BOB, "get", "configmaps", namespace="ns1")
    assert [g.aggregated_from for g in decision.grants] == ["leaf"]
    assert policy.effective_rules("ClusterRole", "mid") == policy.effective_rules(
        "ClusterRole", "top"
    )


def test_aggregation_reaches_a_fixed_point_whatever_the_name_order() -> None:
    # "a-outer" sorts before "z-inner", so one pass in name order would miss the leaf's rules
    policy = RbacPolicy(
        [
            cluster_role("a-outer", aggregate=[{"matchLabels": {"to": "outer"}}]),
            cluster_role(
                "z-inner", labels={"to": "outer"}, aggregate=[{"matchLabels": {"to": "inner"}}]
            ),
            cluster_role("leaf", rule(["get"], [""], ["secrets"]), labels={"to": "inner"}),
            cluster_role_binding("b", "a-outer", user("bob@example.com")),
        ]
    )
    assert [
        g.aggregated_from for g in policy.check(BOB, "get", "secrets", namespace="ns1").grants
    ] == ["leaf"]


def test_empty_selector_aggregates_every_other_cluster_role() -> None:
    policy = RbacPolicy(
        [
            cluster_role("all", aggregate=[{}]),
            cluster_role("a", rule(["get"], [""], ["pods"])),
            cluster_role_binding("b", "all", user("bob@example.com")),
        ]
    )
    assert policy.check(BOB, "get", "pods", namespace="ns1")


def test_not_in_selector() -> None:
    policy = RbacPolicy(
        [
            cluster_role(
                "agg",
                aggregate=[
                    {
                        "matchExpressions": [
                            {"key": "tier", "operator": "NotIn", "values": ["admin"]}
                        ]
                    }
                ],
            ),
            cluster_role("admin", rule(["*"], ["*"], ["*"]), labels={"tier": "admin"}),
            cluster_role("viewer", rule(["get"], [""], ["pods"]), labels={"tier": "view"}),
            cluster_role_binding("b", "agg", user("bob@example.com")),
        ]
    )
    assert policy.check(BOB, "get", "pods", namespace="ns1")
    assert not policy.check(BOB, "delete", "pods", namespace="ns1")


# -- explanations and enumeration ---------------------------------------------------------------


def test_decision_names_the_chain() -> None:
    decision = RbacPolicy([POD_READER, BIND_BOB]).check(BOB, "get", "pods", namespace="ns1")
    assert decision.explain() == (
        "ALLOWED bob@example.com get core/pods in namespace ns1\n"
        "  via RoleBinding ns1/bob binds User bob@example.com to Role ns1/pod-reader, rule 0: "
        "verbs=['get', 'list'] apiGroups=[''] resources=['pods']"
    )
    denied = RbacPolicy([POD_READER, BIND_BOB]).check(BOB, "create", "pods/exec", namespace="ns1")
    assert (
        denied.explain()
        == "DENIED bob@example.com create core/pods/exec in namespace ns1: no RBAC rule allows it"
    )


def test_who_can_lists_every_subject_with_its_grants(two_tenants: list[Obj]) -> None:
    objects = [
        *two_tenants,
        cluster_role("admin", rule(["*"], ["*"], ["*"])),
        cluster_role_binding("alice-admin", "admin", user("alice@example.com")),
    ]
    got = {
        (str(a.subject), a.grants[0].binding_name)
        for a in who_can(objects, "create", "deployments", "ns1", api_group="apps")
    }
    assert got == {("User alice@example.com", "alice-admin"), ("User bob@example.com", "tenant")}
    exec_ = {str(a.subject) for a in who_can(objects, "create", "pods/exec", "ns1")}
    assert exec_ == {"User alice@example.com"}


def test_allowed_set_is_exactly_the_tenant_role(two_tenants: list[Obj]) -> None:
    policy = RbacPolicy(two_tenants)
    expected = {Access(v, "apps", "deployments") for v in WRITE}
    expected |= {Access(v, "", r) for v in WRITE for r in ("services", "configmaps", "secrets")}
    expected |= {Access(v, "networking.k8s.io", "ingresses") for v in WRITE}
    expected |= {Access(v, "", r) for v in READ for r in ("pods", "pods/log", "events")}
    expected |= {Access(v, "events.k8s.io", "events") for v in READ}
    assert policy.allowed_set(BOB, "ns1") == expected
    assert policy.allowed_set(BOB, "ns2") == frozenset()
    assert policy.allowed_set(BOB, None) == frozenset(), "nothing cluster-scoped"


def test_allowed_set_in_a_namespace_leaves_out_cluster_scoped_resources() -> None:
    policy = RbacPolicy(
        [
            cluster_role("mixed", rule(["get"], [""], ["pods", "nodes"])),
            role_binding("b", "ns1", "ClusterRole", "mixed", user("bob@example.com")),
        ]
    )
    assert policy.allowed_set(BOB, "ns1") == {Access("get", "", "pods")}


def test_allowed_set_lists_named_grants_separately() -> None:
    policy = _bob_with(rule(["get", "list"], [""], ["secrets"], names=["harness-tls"]))
    assert policy.allowed_set(BOB, "ns1") == {
        Access("get", "", "secrets", "harness-tls"),
        Access("list", "", "secrets", "harness-tls"),
    }


def test_two_tenants_are_isolated(two_tenants: list[Obj]) -> None:
    policy = RbacPolicy(two_tenants)
    assert policy.check(BOB, "create", "secrets", namespace="ns1")
    assert not policy.check(BOB, "get", "secrets", namespace="ns2")
    assert not policy.check(CAROL, "get", "pods", namespace="ns1")
    assert policy.check(CAROL, "get", "pods", namespace="ns2")


@pytest.mark.parametrize(
    ("verb", "resource", "group"),
    [
        ("create", "pods/exec", ""),
        ("get", "pods/exec", ""),
        ("create", "pods/attach", ""),
        ("create", "pods/portforward", ""),
        ("get", "pods/proxy", ""),
        ("get", "services/proxy", ""),
        ("patch", "pods/ephemeralcontainers", ""),
        ("create", "serviceaccounts/token", ""),
        ("update", "serviceaccounts", ""),
        ("create", "roles", "rbac.authorization.k8s.io"),
        ("create", "rolebindings", "rbac.authorization.k8s.io"),
        ("bind", "clusterroles", "rbac.authorization.k8s.io"),
        ("escalate", "roles", "rbac.authorization.k8s.io"),
        ("impersonate", "users", ""),
        ("delete", "networkpolicies", "networking.k8s.io"),
        ("update", "resourcequotas", ""),
        ("update", "limitranges", ""),
        ("patch", "namespaces", ""),
        ("create", "pods", ""),
    ],
)
def test_tenant_role_grants_none_of_the_dangerous_abilities(
    two_tenants: list[Obj], verb: str, resource: str, group: str
) -> None:
    assert not RbacPolicy(two_tenants).check(BOB, verb, resource, namespace="ns1", api_group=group)


# -- malformed input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        (
            [
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "Role",
                    "metadata": {"name": "r"},
                    "rules": [],
                }
            ],
            r"Role r: a Role needs metadata.namespace",
        ),
        (
            [role("r", "ns1", rule(["get"], urls=["/healthz"]))],
            r"Role ns1/r: rules\[0\]: a Role \(namespaced\) cannot grant nonResourceURLs",
        ),
        (
            [cluster_role("c", rule(["get"], [""], ["pods"], urls=["/x"]))],
            r"ClusterRole c: rules\[0\]: a rule cannot apply to both",
        ),
        (
            [cluster_role("c", rule([], [""], ["pods"]))],
            r"ClusterRole c: rules\[0\].verbs must list at least one verb",
        ),
        (
            [cluster_role("c", {"verbs": "get", "apiGroups": [""], "resources": ["pods"]})],
            r"rules\[0\].verbs must be a list of strings",
        ),
        (
            [cluster_role("c", {"verbs": ["get"], "apiGroups": [""]})],
            r"rules\[0\]: needs resources",
        ),
        (
            [
                {
                    **cluster_role_binding("b", "x", user("u")),
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Role",
                        "name": "x",
                    },
                }
            ],
            r"ClusterRoleBinding b: a ClusterRoleBinding can only reference a ClusterRole",
        ),
        (
            [cluster_role_binding("b", "x", sa("tee-sa"))],
            r"ClusterRoleBinding b: subjects\[0\] ServiceAccount tee-sa needs a namespace",
        ),
        (
            [role_binding("b", "ns1", "Role", "x", {"kind": "Robot", "name": "r2"})],
            r"RoleBinding ns1/b: subjects\[0\].kind 'Robot' is not User, Group or ServiceAccount",
        ),
        (
            [role_binding("b", "ns1", "Secret", "x", user("u"))],
            r"RoleBinding ns1/b: roleRef must name a Role or ClusterRole",
        ),
        ([POD_READER, POD_READER], r"Role ns1/pod-reader is defined twice"),
        (
            [{**POD_READER, "metadata": True}],
            r"Role <name\?>: metadata is bool, expected a map",
        ),
        (
            [{**POD_READER, "metadata": {"name": "r", "namespace": ["ns1"]}}],
            r"Role \['ns1'\]/r: a Role needs metadata.namespace \(a string\)",
        ),
        (
            [{**POD_READER, "metadata": {"name": "r", "namespace": "ns1", "labels": "x"}}],
            r"Role ns1/r: metadata.labels is str, expected a map",
        ),
        (
            [{**role_binding("b", "ns1", "Role", "x", user("u")), "subjects": True}],
            r"RoleBinding ns1/b: subjects is bool, expected a list",
        ),
        (
            [
                {
                    **role_binding("b", "ns1", "Role", "x", user("u")),
                    "roleRef": {"kind": "Role", "name": ["x"]},
                }
            ],
            r"RoleBinding ns1/b: roleRef must name a Role or ClusterRole",
        ),
        (
            [
                cluster_role(
                    "c", aggregate=[{"matchExpressions": [{"key": "a", "operator": "Equals"}]}]
                )
            ],
            r"operator 'Equals' is not one of",
        ),
    ],
)
def test_malformed_rbac_is_refused(objects: list[Obj], message: str) -> None:
    with pytest.raises(RbacError, match=message):
        RbacPolicy(objects)


@pytest.mark.parametrize(
    ("verb", "resource"), [("*", "pods"), ("get", "*"), ("get", "pods/*"), ("", "pods")]
)
def test_requests_must_be_concrete(verb: str, resource: str) -> None:
    with pytest.raises(RbacError, match="concrete"):
        RbacPolicy([]).check(BOB, verb, resource, namespace="ns1")


def test_other_objects_are_ignored() -> None:
    objects = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "ns1"}},
        {"apiVersion": "example.com/v1", "kind": "Role", "metadata": {"name": "not-rbac"}},
        POD_READER,
        BIND_BOB,
    ]
    assert can(objects, BOB, "get", "pods", namespace="ns1")


def test_who_can_run_code_as_the_namespace_service_accounts(two_tenants: list[Obj]) -> None:
    objects = [
        *two_tenants,
        role("debugger", "ns1", rule(["create"], [""], ["pods/exec"])),
        role_binding("dave-debug", "ns1", "Role", "debugger", user("dave@example.com")),
        role("pods", "ns2", rule(["create"], [""], ["pods"])),
        role_binding("erin-pods", "ns2", "Role", "pods", user("erin@example.com")),
    ]
    found = RbacPolicy(objects).who_can_any(RUN_AS_SERVICE_ACCOUNT_REQUESTS, "ns1")
    summary = {str(subject): sorted({req for req, _ in pairs}) for subject, pairs in found}
    assert summary == {
        # bob may create/update/patch Deployments: new pods may name any service account of ns1
        "User bob@example.com": [
            ("create", "apps", "deployments"),
            ("patch", "apps", "deployments"),
            ("update", "apps", "deployments"),
        ],
        "User dave@example.com": [("create", "", "pods/exec")],
    }
