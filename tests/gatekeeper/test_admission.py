"""The rendered ConstraintTemplates + ns1 Constraints, evaluated offline: the approved harness
Deployment is admitted, and each one-change variant of it is denied with the expected message by
the expected constraint (and only by it)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest

from components import gatekeeper_policy as gk
from policy import admission
from tests.gatekeeper.conftest import (
    DIGEST,
    HARNESS_IMAGE,
    K8S_VERSION,
    KSA,
    OTHER_DIGEST,
    REPO,
    WORKLOAD_KINDS,
    harness_deployment,
    harness_pod_spec,
    helper_pod,
    service,
    tenant,
    wrap,
)

Obj = dict[str, Any]
REF = "Deployment ns1/harness"
C = f"{REF}, container harness"


def _pod(d: Obj) -> Obj:
    return d["spec"]["template"]["spec"]


def _c(d: Obj) -> Obj:
    return _pod(d)["containers"][0]


def _set(path: Callable[[Obj], Obj], key: str, value: Any) -> Callable[[Obj], None]:
    def change(d: Obj) -> None:
        path(d)[key] = value

    return change


def _sc(key: str, value: Any) -> Callable[[Obj], None]:
    return _set(lambda d: _c(d)["securityContext"], key, value)


def _drop_sc(key: str) -> Callable[[Obj], None]:
    return lambda d: _c(d)["securityContext"].pop(key)


def _add_env(name: str) -> Callable[[Obj], None]:
    return lambda d: _c(d)["env"].append({"name": name, "value": "x"})


def _add_container(list_name: str, name: str) -> Callable[[Obj], None]:
    def change(d: Obj) -> None:
        extra = copy.deepcopy(_c(d))
        extra["name"] = name
        if list_name == "ephemeralContainers":
            for field in ("ports", "readinessProbe", "resources"):
                extra.pop(field)
        _pod(d).setdefault(list_name, []).append(extra)

    return change


def _add_volume(volume: Obj) -> Callable[[Obj], None]:
    return lambda d: _pod(d)["volumes"].append(volume)


TAGGED = f"{REPO}/harness:v1"
FOREIGN = f"docker.io/library/python@{DIGEST}"
UNAPPROVED = f"{REPO}/harness@{OTHER_DIGEST}"
NEVER_ENV = " can change the code the harness runs or whom it trusts and is never allowed for workload service account tee-sa"

# (id, one change to the approved Deployment, exactly the (constraint, message) pairs expected)
CASES: list[tuple[str, Callable[[Obj], None], set[tuple[str, str]]]] = [
    (
        "image-by-tag",
        _set(_c, "image", TAGGED),
        {
            (
                "ns1-image-digest",
                f"{C}: image {TAGGED} must be pinned by digest (name@sha256:<64 hex>), not by tag",
            ),
            (
                "ns1-approved-digests",
                f"{C}: runs as workload service account tee-sa but image {TAGGED} is not an approved digest",
            ),
        },
    ),
    (
        "image-outside-allowed-repos",
        _set(_c, "image", FOREIGN),
        {("ns1-allowed-repos", f"{C}: image {FOREIGN} is not from an allowed repository ({REPO})")},
    ),
    (
        "digest-not-approved",
        _set(_c, "image", UNAPPROVED),
        {
            (
                "ns1-approved-digests",
                f"{C}: runs as workload service account tee-sa but image {UNAPPROVED} is not an approved digest",
            )
        },
    ),
    (
        "command-override",
        _set(_c, "command", ["python3", "-c", "import os"]),
        {
            (
                "ns1-no-command-override",
                f"{C}: sets command on a pod running as workload service account tee-sa; the approved image's entrypoint must run unchanged",
            )
        },
    ),
    (
        "args-override",
        _set(_c, "args", ["--debug"]),
        {
            (
                "ns1-no-command-override",
                f"{C}: sets args on a pod running as workload service account tee-sa; the approved image's entrypoint must run unchanged",
            )
        },
    ),
    (
        "exec-liveness-probe",
        _set(_c, "livenessProbe", {"exec": {"command": ["python3", "-c", "1"]}}),
        {
            (
                "ns1-no-command-override",
                f"{C}: livenessProbe uses exec on a pod running as workload service account tee-sa; use httpGet, tcpSocket or grpc",
            )
        },
    ),
    (
        "exec-post-start-hook",
        _set(_c, "lifecycle", {"postStart": {"exec": {"command": ["true"]}}}),
        {
            (
                "ns1-no-command-override",
                f"{C}: lifecycle.postStart uses exec on a pod running as workload service account tee-sa",
            )
        },
    ),
    (
        "env-PYTHONPATH",
        _add_env("PYTHONPATH"),
        {("ns1-env-allowlist", f"{C}: env PYTHONPATH{NEVER_ENV}")},
    ),
    (
        "env-LD_PRELOAD",
        _add_env("LD_PRELOAD"),
        {("ns1-env-allowlist", f"{C}: env LD_PRELOAD{NEVER_ENV}")},
    ),
    (
        "env-not-allowlisted",
        _add_env("DEBUG"),
        {
            (
                "ns1-env-allowlist",
                f"{C}: env DEBUG is not in the allowlist for workload service account tee-sa",
            )
        },
    ),
    (
        "envFrom",
        _set(_c, "envFrom", [{"secretRef": {"name": "everything"}}]),
        {
            (
                "ns1-env-allowlist",
                f"{C}: envFrom is not allowed for workload service account tee-sa; list each variable under env",
            )
        },
    ),
    (
        "service-links-on",
        _set(_pod, "enableServiceLinks", True),
        {
            (
                "ns1-env-allowlist",
                f"{REF}: pods running as workload service account tee-sa must set enableServiceLinks: false (the kubelet would inject variables named after the namespace's Services)",
            )
        },
    ),
    (
        "configMap-volume",
        _add_volume({"name": "code", "configMap": {"name": "patch"}}),
        {
            (
                "ns1-workload-volumes",
                f"{REF}: volume code is of kind configMap, not allowed for workload service account tee-sa (allowed: emptyDir, secret)",
            )
        },
    ),
    (
        "projected-token-volume",
        _add_volume(
            {
                "name": "kube-api-access-x1",
                "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]},
            }
        ),
        {
            (
                "ns1-workload-volumes",
                f"{REF}: volume kube-api-access-x1 is of kind projected, not allowed for workload service account tee-sa (allowed: emptyDir, secret)",
            )
        },
    ),
    (
        "mount-over-site-packages",
        lambda d: _c(d)["volumeMounts"].append(
            {"name": "scratch", "mountPath": "/usr/local/lib/python3.11/site-packages"}
        ),
        {
            (
                "ns1-workload-volumes",
                f"{C}: mounts volume scratch at /usr/local/lib/python3.11/site-packages, outside the allowed paths (/etc/harness/tls, /etc/harness/token, /tmp)",
            )
        },
    ),
    (
        "sidecar",
        _add_container("containers", "sidecar"),
        {
            (
                "ns1-workload-pod-shape",
                f"{REF}: a pod running as workload service account tee-sa must have exactly one container, found 2 (no sidecars)",
            )
        },
    ),
    (
        "init-container",
        _add_container("initContainers", "init"),
        {
            (
                "ns1-workload-pod-shape",
                f"{REF}: initContainers (init) are not allowed in a pod running as workload service account tee-sa",
            )
        },
    ),
    (
        "shareProcessNamespace",
        _set(_pod, "shareProcessNamespace", True),
        {
            (
                "ns1-workload-pod-shape",
                f"{REF}: shareProcessNamespace is not allowed for workload service account tee-sa",
            )
        },
    ),
    (
        "token-automount",
        _set(_pod, "automountServiceAccountToken", True),
        {
            (
                "ns1-workload-pod-shape",
                f"{REF}: pods running as workload service account tee-sa must set automountServiceAccountToken: false (Workload Identity needs no Kubernetes token)",
            )
        },
    ),
    (
        "hostAliases",
        _set(_pod, "hostAliases", [{"ip": "10.1.2.3", "hostnames": ["cloudkms.googleapis.com"]}]),
        {
            (
                "ns1-workload-pod-shape",
                f"{REF}: hostAliases are not allowed for workload service account tee-sa",
            )
        },
    ),
    (
        "privileged",
        _sc("privileged", True),
        {("ns1-container-privileges", f"{C}: privileged containers are not allowed")},
    ),
    (
        "privilege-escalation",
        _sc("allowPrivilegeEscalation", True),
        {
            (
                "ns1-container-privileges",
                f"{C}: securityContext.allowPrivilegeEscalation must be false",
            )
        },
    ),
    (
        "added-capability",
        _sc("capabilities", {"drop": ["ALL"], "add": ["SYS_PTRACE"]}),
        {("ns1-container-privileges", f"{C}: adding capabilities is not allowed (SYS_PTRACE)")},
    ),
    (
        "no-drop-all",
        _sc("capabilities", {"drop": ["NET_RAW"]}),
        {("ns1-container-privileges", f"{C}: securityContext.capabilities.drop must include ALL")},
    ),
    (
        "hostNetwork",
        _set(_pod, "hostNetwork", True),
        {("ns1-host-access", f"{REF}: hostNetwork is not allowed")},
    ),
    (
        "hostPID",
        _set(_pod, "hostPID", True),
        {("ns1-host-access", f"{REF}: hostPID is not allowed")},
    ),
    (
        "hostIPC",
        _set(_pod, "hostIPC", True),
        {("ns1-host-access", f"{REF}: hostIPC is not allowed")},
    ),
    (
        "hostPath",
        _add_volume({"name": "node", "hostPath": {"path": "/var/lib/kubelet"}}),
        {
            ("ns1-host-access", f"{REF}: hostPath volume node (/var/lib/kubelet) is not allowed"),
            (
                "ns1-workload-volumes",
                f"{REF}: volume node is of kind hostPath, not allowed for workload service account tee-sa (allowed: emptyDir, secret)",
            ),
        },
    ),
    (
        "hostPort",
        lambda d: _c(d)["ports"][0].update(hostPort=8443),
        {("ns1-host-access", f"{C}: hostPort 8443 is not allowed")},
    ),
    (
        "writable-root-filesystem",
        _sc("readOnlyRootFilesystem", False),
        {("ns1-read-only-root", f"{C}: securityContext.readOnlyRootFilesystem must be true")},
    ),
    (
        "runAsNonRoot-false",
        _sc("runAsNonRoot", False),
        {("ns1-run-as-non-root", f"{C}: runAsNonRoot must be true (on the container or the pod)")},
    ),
    (
        "runAsUser-0",
        _sc("runAsUser", 0),
        {("ns1-run-as-non-root", f"{C}: runAsUser 0 (root) is not allowed")},
    ),
    (
        "seccomp-missing",
        lambda d: _pod(d)["securityContext"].pop("seccompProfile"),
        {
            (
                "ns1-seccomp",
                f"{C}: seccompProfile.type must be RuntimeDefault (on the container or the pod), got none",
            )
        },
    ),
    (
        "seccomp-unconfined",
        _sc("seccompProfile", {"type": "Unconfined"}),
        {
            (
                "ns1-seccomp",
                f"{C}: seccompProfile.type must be RuntimeDefault (on the container or the pod), got Unconfined",
            )
        },
    ),
]


def _denials(
    obj: Obj, templates: list[Obj], constraints: list[Obj], **kwargs: Any
) -> set[tuple[str, str]]:
    return {
        (d.constraint, d.message) for d in admission.evaluate(obj, templates, constraints, **kwargs)
    }


def test_approved_harness_deployment_is_admitted(
    templates: list[Obj], ns1_constraints: list[Obj], deployment: Obj
) -> None:
    kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    assert admission.evaluate(deployment, templates, ns1_constraints) == []


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_approved_harness_is_admitted_as_every_workload_kind(
    templates: list[Obj], ns1_constraints: list[Obj], kind: str
) -> None:
    obj = wrap(kind, harness_pod_spec())
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    assert admission.evaluate(obj, templates, ns1_constraints) == []


@pytest.mark.parametrize(("case", "change", "expected"), CASES, ids=[c[0] for c in CASES])
def test_one_change_is_denied_with_its_message(
    templates: list[Obj],
    ns1_constraints: list[Obj],
    case: str,
    change: Callable[[Obj], None],
    expected: set[tuple[str, str]],
) -> None:
    obj = harness_deployment()
    change(obj)
    assert obj != harness_deployment(), f"case {case} changed nothing"
    # the variant is still a schema-valid Deployment: the denial comes from policy, not from shape
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    assert _denials(obj, templates, ns1_constraints) == expected


# One representative violation per template, applied to every workload kind.
PER_TEMPLATE: dict[str, Callable[[Obj], None]] = {
    "ns1-allowed-repos": lambda s: s["containers"][0].update(image=FOREIGN),
    "ns1-image-digest": lambda s: s["containers"][0].update(image=TAGGED),
    "ns1-approved-digests": lambda s: s["containers"][0].update(image=UNAPPROVED),
    "ns1-no-command-override": lambda s: s["containers"][0].update(command=["sh"]),
    "ns1-env-allowlist": lambda s: s["containers"][0]["env"].append(
        {"name": "PYTHONSTARTUP", "value": "/tmp/x.py"}
    ),
    "ns1-workload-volumes": lambda s: s["volumes"].append(
        {"name": "c", "configMap": {"name": "c"}}
    ),
    "ns1-workload-pod-shape": lambda s: s.update(shareProcessNamespace=True),
    "ns1-container-privileges": lambda s: s["containers"][0]["securityContext"].update(
        privileged=True
    ),
    "ns1-host-access": lambda s: s.update(hostPID=True),
    "ns1-read-only-root": lambda s: s["containers"][0]["securityContext"].update(
        readOnlyRootFilesystem=False
    ),
    "ns1-run-as-non-root": lambda s: s["containers"][0]["securityContext"].update(runAsUser=0),
    "ns1-seccomp": lambda s: s["securityContext"].update(seccompProfile={"type": "Unconfined"}),
    "ns1-security-profiles": lambda s: s["securityContext"].update(
        sysctls=[{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]
    ),
    "ns1-volume-kinds": lambda s: s["volumes"].append(
        {"name": "share", "nfs": {"server": "10.0.0.2", "path": "/"}}
    ),
}


def test_per_template_cases_cover_every_pod_constraint(ns1_constraints: list[Obj]) -> None:
    pod_constraints = {
        c["metadata"]["name"]
        for c in ns1_constraints
        if c["kind"] not in ("SandboxServiceTypes", "SandboxSecretTypes")
    }
    assert set(PER_TEMPLATE) == pod_constraints


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
@pytest.mark.parametrize("constraint", sorted(PER_TEMPLATE))
def test_every_constraint_denies_on_every_workload_kind(
    templates: list[Obj], ns1_constraints: list[Obj], kind: str, constraint: str
) -> None:
    spec = harness_pod_spec()
    PER_TEMPLATE[constraint](spec)
    obj = wrap(kind, spec)
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    only = [c for c in ns1_constraints if c["metadata"]["name"] == constraint]
    got = _denials(obj, templates, only)
    assert got, f"{constraint} admitted a {kind} it must deny"
    assert all(m.startswith(f"{kind} ns1/harness") for _, m in got), got


def test_ephemeral_container_added_to_running_harness_pod_is_denied(
    templates: list[Obj], ns1_constraints: list[Obj]
) -> None:
    """`kubectl debug` updates the pods/ephemeralcontainers subresource of a running pod."""
    old = wrap("Pod", harness_pod_spec())
    new = copy.deepcopy(old)
    new["spec"]["ephemeralContainers"] = [
        {
            "name": "debugger",
            "image": HARNESS_IMAGE,
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            },
        }
    ]
    kubernetes_validate.validate(new, K8S_VERSION, strict=True)
    got = _denials(
        new,
        templates,
        ns1_constraints,
        operation="UPDATE",
        old_object=old,
        sub_resource="ephemeralcontainers",
    )
    assert got == {
        (
            "ns1-workload-pod-shape",
            "Pod ns1/harness: ephemeralContainers (debugger) are not allowed in a pod running as workload service account tee-sa",
        )
    }


def test_helper_pod_with_its_own_repo_image_is_admitted(
    templates: list[Obj], ns1_constraints: list[Obj]
) -> None:
    pod = helper_pod()
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
    assert admission.evaluate(pod, templates, ns1_constraints) == []


def test_helper_pod_switching_to_the_workload_identity_is_held_to_its_rules(
    templates: list[Obj], ns1_constraints: list[Obj]
) -> None:
    pod = helper_pod()
    pod["spec"]["serviceAccountName"] = KSA
    got = {c for c, _ in _denials(pod, templates, ns1_constraints)}
    assert got == {
        "ns1-approved-digests",
        "ns1-no-command-override",
        "ns1-env-allowlist",
        "ns1-workload-pod-shape",
    }


def test_helper_pod_still_needs_digest_and_hardening(
    templates: list[Obj], ns1_constraints: list[Obj]
) -> None:
    pod = helper_pod()
    pod["spec"]["containers"][0]["image"] = f"{REPO}/helper:latest"
    pod["spec"]["containers"][0]["securityContext"]["privileged"] = True
    assert {c for c, _ in _denials(pod, templates, ns1_constraints)} == {
        "ns1-image-digest",
        "ns1-container-privileges",
    }


def test_constraints_only_apply_in_their_namespace(
    templates: list[Obj], ns1_constraints: list[Obj]
) -> None:
    spec = harness_pod_spec()
    spec["hostNetwork"] = True
    assert (
        admission.evaluate(wrap("Pod", spec, namespace="other"), templates, ns1_constraints) == []
    )
    assert admission.evaluate(wrap("Pod", spec), templates, ns1_constraints) != []


def test_namespace_can_come_from_the_request(
    templates: list[Obj], ns1_constraints: list[Obj]
) -> None:
    pod = wrap("Pod", harness_pod_spec())
    del pod["metadata"]["namespace"]
    pod["spec"]["hostIPC"] = True
    assert {c for c, _ in _denials(pod, templates, ns1_constraints, namespace="ns1")} == {
        "ns1-host-access"
    }


def test_two_tenants_are_isolated(templates: list[Obj]) -> None:
    ns2 = tenant(
        "ns2",
        allowed_repos=("europe-docker.pkg.dev/carol/models",),
        approved_digests=(OTHER_DIGEST,),
    )
    both = gk.constraints(tenant()) + gk.constraints(ns2)
    # Bob's approved harness is fine in ns1 ...
    assert admission.evaluate(harness_deployment(), templates, both) == []
    # ... but the same Deployment in ns2 meets ns2's repository and digest list only
    moved = harness_deployment()
    moved["metadata"]["namespace"] = "ns2"
    got = _denials(moved, templates, both)
    assert {c for c, _ in got} == {"ns2-allowed-repos", "ns2-approved-digests"}


@pytest.mark.parametrize(
    ("svc_type", "expected"),
    [
        (None, set()),
        ("ClusterIP", set()),
        (
            "NodePort",
            {
                (
                    "ns1-service-types",
                    "Service ns1/harness: Service type NodePort is not allowed (allowed: ClusterIP)",
                )
            },
        ),
        (
            "LoadBalancer",
            {
                (
                    "ns1-service-types",
                    "Service ns1/harness: Service type LoadBalancer is not allowed (allowed: ClusterIP)",
                )
            },
        ),
        (
            "ExternalName",
            {
                (
                    "ns1-service-types",
                    "Service ns1/harness: Service type ExternalName is not allowed (allowed: ClusterIP)",
                )
            },
        ),
    ],
)
def test_service_types(
    templates: list[Obj],
    ns1_constraints: list[Obj],
    svc_type: str | None,
    expected: set[tuple[str, str]],
) -> None:
    svc = service(svc_type)
    kubernetes_validate.validate(svc, K8S_VERSION, strict=True)
    assert _denials(svc, templates, ns1_constraints) == expected


def test_service_external_ips_denied(templates: list[Obj], ns1_constraints: list[Obj]) -> None:
    svc = service("ClusterIP")
    svc["spec"]["externalIPs"] = ["203.0.113.7"]
    assert _denials(svc, templates, ns1_constraints) == {
        ("ns1-service-types", "Service ns1/harness: Service externalIPs are not allowed")
    }


def test_service_type_allowed_by_tenant_config(templates: list[Obj]) -> None:
    constraints = gk.constraints(tenant(allowed_service_types=("ClusterIP", "LoadBalancer")))
    assert admission.evaluate(service("LoadBalancer"), templates, constraints) == []
    assert {c for c, _ in _denials(service("NodePort"), templates, constraints)} == {
        "ns1-service-types"
    }


def test_delete_is_not_judged(templates: list[Obj], ns1_constraints: list[Obj]) -> None:
    spec = harness_pod_spec()
    spec["hostNetwork"] = True
    assert (
        admission.evaluate(wrap("Pod", spec), templates, ns1_constraints, operation="DELETE") == []
    )


def test_tenant_without_workload_identity_gets_only_the_all_pod_rules(templates: list[Obj]) -> None:
    constraints = gk.constraints(tenant("ns3", workload_service_account=None, approved_digests=()))
    obj = harness_deployment()
    obj["metadata"]["namespace"] = "ns3"
    _c(obj)["command"] = ["python3"]
    assert admission.evaluate(obj, templates, constraints) == []


def test_warn_constraints_do_not_block(templates: list[Obj], ns1_constraints: list[Obj]) -> None:
    warn = copy.deepcopy(next(c for c in ns1_constraints if c["kind"] == "SandboxHostAccess"))
    warn["spec"]["enforcementAction"] = "warn"
    spec = harness_pod_spec()
    spec["hostPID"] = True
    obj = wrap("Pod", spec)
    assert admission.evaluate(obj, templates, [warn]) == []
    reported = admission.evaluate(obj, templates, [warn], include_non_blocking=True)
    assert [(d.enforcement_action, d.message) for d in reported] == [
        ("warn", "Pod ns1/harness: hostPID is not allowed")
    ]
    assert admission.admitted(reported)


def test_constraint_without_template_is_an_error(templates: list[Obj]) -> None:
    bogus = {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": "NoSuchKind",
        "metadata": {"name": "x"},
        "spec": {},
    }
    with pytest.raises(
        admission.AdmissionError,
        match="Constraint NoSuchKind/x: no ConstraintTemplate defines kind NoSuchKind",
    ):
        admission.evaluate(harness_deployment(), templates, [bogus])


def test_parameters_are_checked_against_the_template_schema(
    templates: list[Obj], ns1_constraints: list[Obj]
) -> None:
    bad = copy.deepcopy(next(c for c in ns1_constraints if c["kind"] == "SandboxApprovedDigests"))
    bad["spec"]["parameters"]["digests"] = ["latest"]
    with pytest.raises(
        admission.AdmissionError,
        match=r"SandboxApprovedDigests/ns1-approved-digests: spec.parameters/digests/0: 'latest' does not match",
    ):
        admission.evaluate(harness_deployment(), templates, [bad])


def test_object_without_kind_is_an_error(templates: list[Obj], ns1_constraints: list[Obj]) -> None:
    with pytest.raises(admission.AdmissionError, match="apiVersion and kind"):
        admission.evaluate({"metadata": {"name": "x"}}, templates, ns1_constraints)


def _with_rego(template: Obj, rego: str) -> Obj:
    changed = copy.deepcopy(template)
    changed["spec"]["targets"][0]["rego"] = rego
    return changed


def test_template_without_violation_rule_is_an_error(
    templates: list[Obj], ns1_constraints: list[Obj]
) -> None:
    seccomp = next(t for t in templates if t["metadata"]["name"] == "sandboxseccomp")
    broken = _with_rego(seccomp, "package sandboxseccomp\n\ndeny := true\n")
    others = [t for t in templates if t is not seccomp]
    with pytest.raises(
        admission.AdmissionError, match="sandboxseccomp: Rego defines no 'violation' rule"
    ):
        admission.evaluate(harness_deployment(), [*others, broken], ns1_constraints)


def test_rego_syntax_error_names_file_and_line(
    templates: list[Obj], ns1_constraints: list[Obj]
) -> None:
    seccomp = next(t for t in templates if t["metadata"]["name"] == "sandboxseccomp")
    broken = _with_rego(
        seccomp, 'package sandboxseccomp\n\nviolation contains {"msg": m} if {\n\tm :=\n}\n'
    )
    others = [t for t in templates if t is not seccomp]
    # OPA reports the token it stopped at: the closing brace on line 5
    with pytest.raises(
        admission.AdmissionError, match=r"sandboxseccomp\.rego:5: rego_parse_error: unexpected }"
    ):
        admission.evaluate(harness_deployment(), [*others, broken], ns1_constraints)


def _secret(secret_type: str, annotations: dict[str, str] | None = None) -> Obj:
    meta: dict[str, Any] = {"name": "harness-token", "namespace": "ns1"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": secret_type}


@pytest.mark.parametrize("secret_type", ["Opaque", "kubernetes.io/tls"])
def test_tenant_secrets_of_allowed_types_are_admitted(
    templates, ns1_constraints, secret_type
) -> None:
    assert admission.evaluate(_secret(secret_type), templates, ns1_constraints) == []


def test_service_account_token_secret_is_denied(templates, ns1_constraints) -> None:
    """The token controller would fill it with a non-expiring token for the workload KSA."""
    secret = _secret(
        "kubernetes.io/service-account-token", {"kubernetes.io/service-account.name": "tee-sa"}
    )
    denials = admission.evaluate(secret, templates, ns1_constraints)
    assert {d.constraint for d in denials} == {"ns1-secret-types"}
    assert {d.message for d in denials} == {
        "Secret ns1/harness-token: Secret type kubernetes.io/service-account-token is not allowed (allowed: Opaque, kubernetes.io/tls)",
        "Secret ns1/harness-token: Secret may not name service account tee-sa (token minting)",
    }


def test_messages_for_each_matches_evaluate_object_by_object(
    templates: list[dict[str, Any]], ns1_constraints: list[dict[str, Any]]
) -> None:
    """The batched query (one OPA call for many objects) reports what `evaluate` reports for
    each object, and None where the constraint does not select it."""
    by_kind = {t["spec"]["crd"]["spec"]["names"]["kind"]: t for t in templates}
    constraint = next(c for c in ns1_constraints if c["kind"] == "SandboxRunAsNonRoot")
    root = helper_pod()
    root["spec"]["containers"][0]["securityContext"]["runAsUser"] = 0
    objects = [harness_deployment(), root, service("ClusterIP")]
    found = admission.messages_for_each(by_kind["SandboxRunAsNonRoot"], constraint, objects)
    expected = [
        sorted(d.message for d in admission.evaluate(o, templates, [constraint]))
        for o in objects[:2]
    ]
    assert found[:2] == expected
    assert found[0] == [] and found[1], found
    assert found[2] is None
