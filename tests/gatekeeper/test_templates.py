"""What the stack deploys: ConstraintTemplates assembled from policy/gatekeeper, Constraints per
tenant, and the validation of tenant settings."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from components import gatekeeper_policy as gk
from policy.admission import RegoModules
from tests.gatekeeper.conftest import DIGEST, KSA, REPO, tenant

Obj = dict[str, Any]


def test_templates_are_assembled_from_the_files(templates: list[Obj]) -> None:
    sources = {s.kind: s for s in gk.template_sources()}
    assert [t["metadata"]["name"] for t in templates] == sorted(k.lower() for k in sources)
    libs = gk.lib_modules()
    for t in templates:
        kind = t["spec"]["crd"]["spec"]["names"]["kind"]
        assert t["apiVersion"] == "templates.gatekeeper.sh/v1"
        assert t["metadata"]["name"] == kind.lower()
        (target,) = t["spec"]["targets"]
        assert target["target"] == "admission.k8s.gatekeeper.sh"
        assert target["rego"] == (sources[kind].path / "src.rego").read_text()
        assert target["libs"] == [libs["lib.sandbox"]]
        for lib in target["libs"]:
            assert re.search(r"^package lib\.", lib, re.MULTILINE), (
                "Gatekeeper requires libs under package lib.*"
            )


def test_templates_are_deterministic() -> None:
    assert yaml.safe_dump(gk.constraint_templates()) == yaml.safe_dump(gk.constraint_templates())


def test_template_yaml_holds_no_rego() -> None:
    for src in gk.template_sources():
        text = (src.path / gk.SOURCE_FILE).read_text()
        assert "rego:" not in text and "package " not in text, src.path


def test_parameter_schemas_are_valid_json_schemas(templates: list[Obj]) -> None:
    for t in templates:
        schema = t["spec"]["crd"]["spec"]["validation"]["openAPIV3Schema"]
        jsonschema.Draft7Validator.check_schema(schema)
        assert schema["type"] == "object"


def test_every_template_has_a_constraint_spec_and_back() -> None:
    assert len({s.directory for s in gk.CONSTRAINT_SPECS}) == len(gk.CONSTRAINT_SPECS)
    assert {s.directory for s in gk.CONSTRAINT_SPECS} == {
        s.directory for s in gk.template_sources()
    }


def test_constraints_for_a_tenant(templates: list[Obj], ns1_constraints: list[Obj]) -> None:
    schemas = {
        t["spec"]["crd"]["spec"]["names"]["kind"]: t["spec"]["crd"]["spec"]["validation"][
            "openAPIV3Schema"
        ]
        for t in templates
    }
    names = [c["metadata"]["name"] for c in ns1_constraints]
    assert len(names) == len(set(names)) == len(templates)
    assert all(n.startswith("ns1-") for n in names)
    for c in ns1_constraints:
        assert c["apiVersion"] == "constraints.gatekeeper.sh/v1beta1"
        assert c["spec"]["enforcementAction"] == "deny"
        assert c["spec"]["match"]["namespaces"] == ["ns1"]
        assert c["spec"]["match"]["scope"] == "Namespaced"
        assert c["metadata"]["labels"][gk.TENANT_LABEL] == "ns1"
        jsonschema.validate(c["spec"].get("parameters", {}), schemas[c["kind"]])
    assert ns1_constraints == sorted(
        ns1_constraints, key=lambda c: (c["kind"], c["metadata"]["name"])
    )


def test_pod_constraints_match_every_workload_kind(ns1_constraints: list[Obj]) -> None:
    expected = {
        ("", "Pod"),
        ("", "ReplicationController"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("batch", "Job"),
        ("batch", "CronJob"),
    }
    for c in ns1_constraints:
        matched = {
            (g, k)
            for entry in c["spec"]["match"]["kinds"]
            for g in entry["apiGroups"]
            for k in entry["kinds"]
        }
        single = {"SandboxServiceTypes": {("", "Service")}, "SandboxSecretTypes": {("", "Secret")}}
        assert matched == single.get(c["kind"], expected), c["metadata"]["name"]


def test_workload_parameters_come_from_the_tenant(ns1_constraints: list[Obj]) -> None:
    params = {c["kind"]: c["spec"].get("parameters", {}) for c in ns1_constraints}
    assert params["SandboxAllowedRepos"] == {"repos": [REPO]}
    assert params["SandboxApprovedDigests"] == {"serviceAccountName": KSA, "digests": [DIGEST]}
    assert params["SandboxEnvAllowlist"]["allowedEnv"] == sorted(gk.HARNESS_ENV_ALLOWLIST)
    assert params["SandboxWorkloadVolumes"] == {
        "serviceAccountName": KSA,
        "allowedVolumeKinds": ["emptyDir", "secret"],
        "allowedMountPaths": sorted(gk.HARNESS_MOUNT_PATHS),
    }
    assert params["SandboxServiceTypes"] == {"allowedTypes": ["ClusterIP"]}
    assert params["SandboxSecretTypes"] == {"allowedTypes": ["Opaque", "kubernetes.io/tls"]}


def test_workload_constraints_exist_only_with_a_workload_service_account() -> None:
    without = gk.constraints(tenant(workload_service_account=None, approved_digests=()))
    assert {c["kind"] for c in without} == {
        "SandboxAllowedRepos",
        "SandboxImageDigest",
        "SandboxContainerPrivileges",
        "SandboxHostAccess",
        "SandboxReadOnlyRoot",
        "SandboxRunAsNonRoot",
        "SandboxSeccomp",
        "SandboxSecurityProfiles",
        "SandboxVolumeKinds",
        "SandboxServiceTypes",
        "SandboxSecretTypes",
    }


def test_constraint_names_are_unique_across_tenants() -> None:
    a = gk.constraints(tenant("ns1"))
    b = gk.constraints(tenant("ns2"))
    assert not {(c["kind"], c["metadata"]["name"]) for c in a} & {
        (c["kind"], c["metadata"]["name"]) for c in b
    }


def test_rego_always_denied_env_matches_python() -> None:
    src = next(s for s in gk.template_sources() if s.directory == "sandbox-env-allowlist")
    libs = {f"{p}.rego": t for p, t in gk.lib_modules().items()}
    engine = RegoModules(
        {**libs, "env.rego": src.rego},
        ["sandboxenvallowlist/always_denied_prefixes", "sandboxenvallowlist/always_denied_names"],
    )
    assert engine.evaluate("sandboxenvallowlist/always_denied_prefixes") == (
        True,
        list(gk.ALWAYS_DENIED_ENV_PREFIXES),
    )
    assert engine.evaluate("sandboxenvallowlist/always_denied_names") == (
        True,
        list(gk.ALWAYS_DENIED_ENV_NAMES),
    )


def test_no_multi_argument_sprintf_in_rego() -> None:
    """House style: messages are built with concat(), one way everywhere (multi-argument sprintf
    quoted built-in-produced strings in the engine these tests once ran on)."""
    for path in gk.POLICY_ROOT.rglob("*.rego"):
        for call in re.findall(r"sprintf\((\"[^\"]*\"), \[", path.read_text()):
            assert call == '"%v"', f"{path}: sprintf({call}, ...) — build messages with concat()"


def test_default_harness_settings_pass_validation() -> None:
    t = tenant()
    assert t.env_allowlist == gk.HARNESS_ENV_ALLOWLIST
    assert t.allowed_volume_kinds == gk.HARNESS_VOLUME_KINDS
    assert t.allowed_mount_paths == gk.HARNESS_MOUNT_PATHS
    assert t.allowed_service_types == ("ClusterIP",)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"namespace": "NS1"}, r"namespace: 'NS1' is not a DNS-1123 label"),
        ({"allowed_repos": ()}, r"allowed_repos: at least one repository is required"),
        (
            {"allowed_repos": "us-central1-docker.pkg.dev/p/r"},
            r"allowed_repos: expected a list of strings",
        ),
        (
            {"allowed_repos": ("us-central1-docker.pkg.dev",)},
            r"allowed_repos: 'us-central1-docker.pkg.dev' is not a repository prefix",
        ),
        ({"allowed_repos": (f"{REPO}/harness:v1",)}, r"is not a repository prefix"),
        ({"allowed_repos": (f"{REPO}@{DIGEST}",)}, r"is not a repository prefix"),
        ({"allowed_repos": (REPO, REPO)}, r"allowed_repos: duplicate entries"),
        (
            {"workload_service_account": "Tee_SA"},
            r"workload_service_account: 'Tee_SA' is not a valid ServiceAccount name",
        ),
        (
            {"approved_digests": ("sha256:abc",)},
            r"approved_digests: 'sha256:abc' is not 'sha256:' followed by 64 lowercase hex",
        ),
        (
            {"approved_digests": ()},
            r"approved_digests: at least one digest is required when workload_service_account is set",
        ),
        (
            {"workload_service_account": None},
            r"approved_digests: only meaningful with workload_service_account",
        ),
        (
            {"env_allowlist": ("PYTHONPATH",)},
            r"env_allowlist: 'PYTHONPATH' can change which code the harness runs",
        ),
        ({"env_allowlist": ("ld_preload",)}, r"env_allowlist: 'ld_preload' can change which code"),
        ({"env_allowlist": ("PATH",)}, r"env_allowlist: 'PATH' can change which code"),
        ({"env_allowlist": ("A-B",)}, r"env_allowlist: 'A-B' is not an environment variable name"),
        (
            {"allowed_volume_kinds": ("secrets",)},
            r"allowed_volume_kinds: 'secrets' is not a Kubernetes volume source",
        ),
        (
            {"allowed_volume_kinds": ("hostPath",)},
            r"allowed_volume_kinds: 'hostPath' reaches the node",
        ),
        (
            {"allowed_mount_paths": ("/",)},
            r"allowed_mount_paths: '/' must be an absolute directory other than '/'",
        ),
        (
            {"allowed_mount_paths": ("tmp",)},
            r"allowed_mount_paths: 'tmp' must be an absolute directory",
        ),
        (
            {"allowed_mount_paths": ("/tmp/../app",)},
            r"allowed_mount_paths: '/tmp/../app' must be normalised",
        ),
        (
            {"allowed_service_types": ("Ingress",)},
            r"allowed_service_types: 'Ingress' is not one of",
        ),
        ({"allowed_service_types": ()}, r"allowed_service_types: at least one type is required"),
    ],
)
def test_tenant_settings_are_validated(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tenant(**overrides)


def _policy_copy(tmp_path: Path) -> Path:
    root = tmp_path / "gatekeeper"
    shutil.copytree(gk.POLICY_ROOT, root)
    return root


def test_template_name_must_be_the_lowercased_kind(tmp_path: Path) -> None:
    root = _policy_copy(tmp_path)
    path = root / "sandbox-seccomp" / gk.SOURCE_FILE
    path.write_text(path.read_text().replace("name: sandboxseccomp", "name: seccomp"))
    with pytest.raises(
        gk.TemplateError,
        match=r"sandbox-seccomp/template.src.yaml: metadata.name must be the lowercased kind 'sandboxseccomp', got 'seccomp'",
    ):
        gk.constraint_templates(root)


def test_rego_in_template_yaml_is_refused(tmp_path: Path) -> None:
    root = _policy_copy(tmp_path)
    path = root / "sandbox-seccomp" / gk.SOURCE_FILE
    path.write_text(path.read_text() + "      rego: |\n        package x\n")
    with pytest.raises(gk.TemplateError, match=r"keep Rego out of template\.src\.yaml"):
        gk.constraint_templates(root)


def test_missing_src_rego_is_refused(tmp_path: Path) -> None:
    root = _policy_copy(tmp_path)
    (root / "sandbox-seccomp" / "src.rego").unlink()
    with pytest.raises(gk.TemplateError, match=r"sandbox-seccomp: missing src.rego"):
        gk.constraint_templates(root)


def test_unknown_library_import_is_refused(tmp_path: Path) -> None:
    root = _policy_copy(tmp_path)
    path = root / "sandbox-seccomp" / "src.rego"
    path.write_text(path.read_text().replace("import data.lib.sandbox", "import data.lib.nothere"))
    with pytest.raises(
        gk.TemplateError, match=r"imports data.lib.nothere but lib/ declares no such package"
    ):
        gk.constraint_templates(root)


def test_duplicate_kind_is_refused(tmp_path: Path) -> None:
    root = _policy_copy(tmp_path)
    shutil.copytree(root / "sandbox-seccomp", root / "sandbox-seccomp-copy")
    with pytest.raises(gk.TemplateError, match="already used by sandbox-seccomp"):
        gk.constraint_templates(root)


def test_rendered_template_yaml_is_the_assembled_manifest() -> None:
    """template.yaml (what gator verify and kubectl read) equals what the stack deploys; after
    editing a source run components.gatekeeper_policy.write_rendered_templates()."""
    import yaml

    by_name = {m["metadata"]["name"]: m for m in gk.constraint_templates()}
    for src in gk.template_sources():
        text = (src.path / gk.RENDERED_FILE).read_text()
        manifest = by_name[src.kind.lower()]
        assert yaml.safe_load(text) == manifest, src.directory
        assert text == gk.rendered_template_text(manifest), src.directory
        assert "rego: |" in text
