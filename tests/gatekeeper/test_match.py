"""Gatekeeper's `spec.match` semantics as the offline simulator applies them."""

from __future__ import annotations

from typing import Any

import pytest

from policy.admission import AdmissionError, constraint_matches, label_selector_matches

Obj = dict[str, Any]


def _c(**match: Any) -> Obj:
    return {"kind": "K", "metadata": {"name": "c"}, "spec": {"match": match}}


POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web-1", "namespace": "ns1", "labels": {"app": "web"}},
}
DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "ns1"},
}
NAMESPACE = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {"name": "kube-system", "labels": {"tier": "system"}},
}
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}


def _m(constraint: Obj, obj: Obj, namespace: str | None = "ns1", **kw: Any) -> bool:
    return constraint_matches(constraint, obj, namespace=namespace, **kw)


def test_kinds() -> None:
    assert _m(_c(), POD), "no kinds matches everything"
    assert _m(_c(kinds=[{"apiGroups": [""], "kinds": ["Pod"]}]), POD)
    assert not _m(_c(kinds=[{"apiGroups": ["apps"], "kinds": ["Pod"]}]), POD)
    assert not _m(_c(kinds=[{"apiGroups": [""], "kinds": ["Pod"]}]), DEPLOY)
    assert _m(_c(kinds=[{"apiGroups": ["*"], "kinds": ["Deployment"]}]), DEPLOY)
    assert _m(_c(kinds=[{"apiGroups": ["apps"], "kinds": ["*"]}]), DEPLOY)
    assert _m(
        _c(
            kinds=[
                {"apiGroups": [""], "kinds": ["Pod"]},
                {"apiGroups": ["apps"], "kinds": ["Deployment"]},
            ]
        ),
        DEPLOY,
    )


def test_scope() -> None:
    assert _m(_c(scope="Namespaced"), POD)
    assert not _m(_c(scope="Cluster"), POD)
    assert _m(_c(scope="Cluster"), NODE, namespace=None)
    assert not _m(_c(scope="Namespaced"), NODE, namespace=None)
    with pytest.raises(AdmissionError, match="scope 'namespaced' is not"):
        _m(_c(scope="namespaced"), POD)


def test_namespaces_and_globs() -> None:
    assert _m(_c(namespaces=["ns1"]), POD)
    assert not _m(_c(namespaces=["ns2"]), POD)
    assert _m(_c(namespaces=["ns*"]), POD)
    assert _m(_c(namespaces=["*1"]), POD)
    assert not _m(_c(namespaces=["n"]), POD), "no implicit prefix match without '*'"
    assert not _m(_c(excludedNamespaces=["ns*"]), POD)
    assert _m(_c(excludedNamespaces=["kube-*"]), POD)


def test_namespace_object_is_matched_by_its_name() -> None:
    assert _m(_c(namespaces=["kube-*"]), NAMESPACE, namespace=None)
    assert not _m(_c(excludedNamespaces=["kube-system"]), NAMESPACE, namespace=None)


def test_cluster_scoped_objects_are_not_disqualified_by_namespaces() -> None:
    assert _m(_c(namespaces=["ns1"]), NODE, namespace=None)
    assert _m(_c(excludedNamespaces=["*"]), NODE, namespace=None)


def test_name_glob() -> None:
    assert _m(_c(name="web-*"), POD)
    assert not _m(_c(name="db-*"), POD)


def test_label_selector() -> None:
    assert _m(_c(labelSelector={"matchLabels": {"app": "web"}}), POD)
    assert not _m(_c(labelSelector={"matchLabels": {"app": "db"}}), POD)
    assert _m(
        _c(
            labelSelector={
                "matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]
            }
        ),
        POD,
    )
    assert not _m(
        _c(labelSelector={"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}), POD
    )
    assert _m(_c(labelSelector={}), POD)


def test_namespace_selector() -> None:
    sel = _c(namespaceSelector={"matchLabels": {"tenant": "bob"}})
    assert _m(sel, POD, namespace_labels={"ns1": {"tenant": "bob"}})
    assert not _m(sel, POD, namespace_labels={"ns1": {"tenant": "carol"}})
    with pytest.raises(AdmissionError, match="pass namespace_labels with the labels of 'ns1'"):
        _m(sel, POD)
    assert _m(_c(namespaceSelector={"matchLabels": {"tier": "system"}}), NAMESPACE, namespace=None)
    assert _m(sel, NODE, namespace=None), "cluster-scoped objects are not disqualified"


def test_label_selector_operators() -> None:
    labels = {"a": "1"}
    assert label_selector_matches(None, labels)
    assert label_selector_matches(
        {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["2"]}]}, labels
    )
    assert not label_selector_matches(
        {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, labels
    )
    assert label_selector_matches(
        {"matchExpressions": [{"key": "b", "operator": "NotIn", "values": ["1"]}]}, labels
    )
    assert label_selector_matches(
        {"matchExpressions": [{"key": "a", "operator": "Exists"}]}, labels
    )
    with pytest.raises(AdmissionError, match="operator 'Gt' is not one of"):
        label_selector_matches({"matchExpressions": [{"key": "a", "operator": "Gt"}]}, labels)
