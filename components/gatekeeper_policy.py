"""Gatekeeper ConstraintTemplates and per-tenant Constraints, built from `policy/gatekeeper/`.

Lives beside `components.gatekeeper` (the component that deploys these manifests) because it is
the component's input builder: pure functions from the files on disk and a tenant's settings to
Kubernetes objects. The files under `policy/gatekeeper/<template>/` are the single source of
truth: the stack deploys exactly what `constraint_templates()` and `constraints()` return, and the
offline admission (`policy.admission`) evaluates the very same Rego. Nothing here talks to a cluster.

Layout of a template directory:
    template.src.yaml  the ConstraintTemplate manifest without Rego (metadata, CRD kind, parameters)
    src.rego           the template's Rego; `import data.lib.<x>` pulls modules from `lib/` as `libs`
    src_test.rego      Rego unit tests (`test_*` rules), run offline by tests/gatekeeper
    template.yaml      generated: the full manifest (`write_rendered_templates()`), what `gator
                       verify` and `kubectl apply` read; a test keeps it equal to the assembly
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import contract
from policy import facts

POLICY_ROOT = Path(__file__).resolve().parent.parent / "policy" / "gatekeeper"
LIB_DIRNAME = "lib"
SOURCE_FILE = "template.src.yaml"
RENDERED_FILE = "template.yaml"
TEMPLATE_API_VERSION = "templates.gatekeeper.sh/v1"
CONSTRAINT_API_VERSION = "constraints.gatekeeper.sh/v1beta1"
ADMISSION_TARGET = "admission.k8s.gatekeeper.sh"
MANAGED_BY_LABEL = ("app.kubernetes.io/managed-by", "gke-sandbox")
TENANT_LABEL = "gke-sandbox.dev/tenant"

# The environment the signed harness reads (harness.contract owns the names); nothing else is
# admitted for pods running as the workload service account unless a tenant's config extends it.
HARNESS_ENV_ALLOWLIST: tuple[str, ...] = contract.DEPLOYED_ENV

# Volume sources the harness needs: `secret` for the TLS pair and for the bearer token, `emptyDir`
# as scratch space on a read-only root filesystem. Deliberately absent: `projected` (with Workload
# Identity on GKE the harness needs no Kubernetes token, so pods must set
# automountServiceAccountToken: false and no kube-api-access-* volume is injected), `configMap`
# and every volume that can carry code or reach the node.
HARNESS_VOLUME_KINDS: tuple[str, ...] = ("emptyDir", "secret")

# Where pods running as the workload service account may mount volumes. Mounting anywhere else
# could shadow the harness's code or its Python installation with attacker-controlled files.
HARNESS_MOUNT_PATHS: tuple[str, ...] = contract.MOUNT_PATHS

# Variables that change how Python, the dynamic loader, glibc or TLS/proxy handling behave. They
# are refused for workload pods even if a tenant's allowlist names them (the Rego has the same
# list; `TenantAdmission` rejects such allowlists up front). Prefixes match case-insensitively.
ALWAYS_DENIED_ENV_PREFIXES: tuple[str, ...] = ("GCONV_", "GLIBC_", "LD_", "PYTHON", "SSL_CERT_")
ALWAYS_DENIED_ENV_NAMES: tuple[str, ...] = (
    "ALL_PROXY",
    "CURL_CA_BUNDLE",
    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
    "GRPC_PROXY",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "PATH",
    "REQUESTS_CA_BUNDLE",
)

SERVICE_TYPES: tuple[str, ...] = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
DEFAULT_SERVICE_TYPES: tuple[str, ...] = ("ClusterIP",)

# Every volume source of core/v1 Volume. hostPath and gitRepo touch the node and are never allowed.
_VOLUME_SOURCES = (
    "awsElasticBlockStore azureDisk azureFile cephfs cinder configMap csi downwardAPI "
    "emptyDir ephemeral fc flexVolume flocker gcePersistentDisk gitRepo glusterfs "
    "hostPath image iscsi nfs persistentVolumeClaim photonPersistentDisk "
    "portworxVolume projected quobyte rbd scaleIO secret storageos vsphereVolume "
)
KNOWN_VOLUME_KINDS: frozenset[str] = frozenset(_VOLUME_SOURCES.split())
FORBIDDEN_VOLUME_KINDS: frozenset[str] = frozenset({"gitRepo", "hostPath"})

# Pods and every workload kind that creates pods (policy.facts); the templates read each pod template.
POD_MATCH_KINDS: tuple[dict[str, list[str]], ...] = tuple(facts.pod_kind_match())
SERVICE_MATCH_KINDS: tuple[dict[str, list[str]], ...] = ({"apiGroups": [""], "kinds": ["Service"]},)
SECRET_MATCH_KINDS: tuple[dict[str, list[str]], ...] = ({"apiGroups": [""], "kinds": ["Secret"]},)
# What a tenant may store: TLS pairs and opaque values, never service account tokens.
DEFAULT_SECRET_TYPES: tuple[str, ...] = ("Opaque", "kubernetes.io/tls")

_PACKAGE_RE = re.compile(r"^package\s+([A-Za-z_][A-Za-z0-9_.]*)\s*$", re.MULTILINE)
_LIB_IMPORT_RE = re.compile(r"^import\s+data\.(lib(?:\.[A-Za-z_][A-Za-z0-9_]*)+)", re.MULTILINE)
_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TemplateError(ValueError):
    """A file under policy/gatekeeper is malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class TemplateSource:
    """One ConstraintTemplate as it sits on disk, before assembly into a manifest."""

    directory: str
    path: Path
    manifest: dict[str, Any]
    rego: str
    test_rego: str
    kind: str
    package: str
    lib_packages: tuple[str, ...]


def _load_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path}: not valid YAML: {exc}") from exc


def rego_package(source: str, *, origin: str) -> str:
    """The `package` a Rego module declares (Gatekeeper evaluates `data.<package>.violation`)."""
    found = _PACKAGE_RE.findall(source)
    if len(found) != 1:
        raise TemplateError(f"{origin}: expected exactly one 'package' line, found {len(found)}")
    return found[0]


def lib_modules(root: Path = POLICY_ROOT) -> dict[str, str]:
    """Library modules by package (`lib.sandbox` -> source); `*_test.rego` files are excluded."""
    libs: dict[str, str] = {}
    lib_dir = root / LIB_DIRNAME
    for path in sorted(lib_dir.glob("*.rego")):
        if path.name.endswith("_test.rego"):
            continue
        text = path.read_text(encoding="utf-8")
        package = rego_package(text, origin=str(path))
        if not package.startswith("lib."):
            raise TemplateError(f"{path}: library package must start with 'lib.', got {package!r}")
        if package in libs:
            raise TemplateError(f"{path}: package {package!r} is declared twice in {lib_dir}")
        libs[package] = text
    return libs


def lib_test_modules(root: Path = POLICY_ROOT) -> dict[str, str]:
    """Test-only library modules (fixtures and the library's own tests) by file name."""
    lib_dir = root / LIB_DIRNAME
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(lib_dir.glob("*_test.rego"))}


def _required(mapping: Any, keys: Sequence[str], origin: str) -> Any:
    value = mapping
    walked: list[str] = []
    for key in keys:
        walked.append(key)
        if not isinstance(value, Mapping) or key not in value:
            raise TemplateError(f"{origin}: missing {'.'.join(walked)}")
        value = value[key]
    return value


def _load_template(directory: Path, libs: Mapping[str, str]) -> TemplateSource:
    origin = str(directory / SOURCE_FILE)
    manifest = _load_yaml(directory / SOURCE_FILE)
    if not isinstance(manifest, dict):
        raise TemplateError(f"{origin}: expected a mapping, got {type(manifest).__name__}")
    if (
        manifest.get("apiVersion") != TEMPLATE_API_VERSION
        or manifest.get("kind") != "ConstraintTemplate"
    ):
        raise TemplateError(
            f"{origin}: expected apiVersion {TEMPLATE_API_VERSION} and kind ConstraintTemplate, got "
            f"{manifest.get('apiVersion')!r}/{manifest.get('kind')!r}"
        )
    kind = _required(manifest, ("spec", "crd", "spec", "names", "kind"), origin)
    name = _required(manifest, ("metadata", "name"), origin)
    if name != str(kind).lower():
        raise TemplateError(
            f"{origin}: metadata.name must be the lowercased kind {str(kind).lower()!r}, got {name!r}"
        )
    targets = _required(manifest, ("spec", "targets"), origin)
    if (
        not isinstance(targets, list)
        or len(targets) != 1
        or not isinstance(targets[0], dict)
        or targets[0].get("target") != ADMISSION_TARGET
    ):
        raise TemplateError(
            f"{origin}: spec.targets must be exactly one entry with target {ADMISSION_TARGET}"
        )
    if "rego" in targets[0] or "libs" in targets[0] or "code" in targets[0]:
        raise TemplateError(
            f"{origin}: keep Rego out of {SOURCE_FILE}; src.rego is its only source"
        )
    rego_path = directory / "src.rego"
    test_path = directory / "src_test.rego"
    for path in (rego_path, test_path):
        if not path.is_file():
            raise TemplateError(f"{directory}: missing {path.name}")
    rego = rego_path.read_text(encoding="utf-8")
    package = rego_package(rego, origin=str(rego_path))
    imports = tuple(dict.fromkeys(_LIB_IMPORT_RE.findall(rego)))
    for lib in imports:
        if lib not in libs:
            raise TemplateError(
                f"{rego_path}: imports data.{lib} but {LIB_DIRNAME}/ declares no such package"
            )
    return TemplateSource(
        directory=directory.name,
        path=directory,
        manifest=manifest,
        rego=rego,
        test_rego=test_path.read_text(encoding="utf-8"),
        kind=str(kind),
        package=package,
        lib_packages=imports,
    )


def template_sources(root: Path = POLICY_ROOT) -> list[TemplateSource]:
    """Every template directory under `root` (those holding a template.src.yaml), sorted by name."""
    libs = lib_modules(root)
    sources = [
        _load_template(path, libs)
        for path in sorted(root.iterdir())
        if path.is_dir() and (path / SOURCE_FILE).is_file()
    ]
    seen: dict[str, str] = {}
    for src in sources:
        for key in (src.kind, src.package):
            if key in seen:
                raise TemplateError(f"{src.path}: kind/package {key!r} already used by {seen[key]}")
            seen[key] = src.directory
    return sources


def constraint_templates(root: Path = POLICY_ROOT) -> list[dict[str, Any]]:
    """Full `templates.gatekeeper.sh/v1` ConstraintTemplate manifests, Rego read from src.rego."""
    import copy

    libs = lib_modules(root)
    manifests = []
    for src in template_sources(root):
        manifest = copy.deepcopy(src.manifest)
        target = manifest["spec"]["targets"][0]
        target["rego"] = src.rego
        if src.lib_packages:
            target["libs"] = [libs[p] for p in src.lib_packages]
        manifests.append(manifest)
    return sorted(manifests, key=lambda m: m["metadata"]["name"])


_GENERATED_NOTE = (
    "# Generated from template.src.yaml, src.rego and lib/ by\n"
    "# components.gatekeeper_policy.write_rendered_templates(); edit those, not this file.\n"
)


def _literal(text: str, indent: int) -> str:
    """`text` as a YAML literal block (PyYAML will not emit one for text holding tabs)."""
    chomp = "+" if text.endswith("\n\n") else ("" if text.endswith("\n") else "-")
    pad = " " * indent
    lines = [pad + line if line.strip("\n") else "" for line in text.splitlines()]
    return f"|{chomp}\n" + "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def rendered_template_text(manifest: Mapping[str, Any]) -> str:
    """A ConstraintTemplate manifest as YAML with its Rego as readable literal blocks."""
    import copy

    import yaml

    shown = copy.deepcopy(dict(manifest))
    target = shown["spec"]["targets"][0]
    blocks = {"__REGO__": target["rego"]}
    target["rego"] = "__REGO__"
    for i, lib in enumerate(target.get("libs", [])):
        blocks[f"__LIB{i}__"] = lib
        target["libs"][i] = f"__LIB{i}__"
    out = []
    for line in yaml.safe_dump(shown, sort_keys=False, width=100).splitlines():
        stripped = line.strip()
        for key, text in blocks.items():
            if stripped in (f"rego: {key}", f"- {key}"):
                indent = len(line) - len(line.lstrip()) + 2
                line = line.replace(key, _literal(text, indent).rstrip("\n"))
        out.append(line)
    return _GENERATED_NOTE + "\n".join(out) + "\n"


def write_rendered_templates(root: Path = POLICY_ROOT) -> list[Path]:
    """Write each directory's template.yaml from its sources; returns the files written."""
    by_name = {m["metadata"]["name"]: m for m in constraint_templates(root)}
    written = []
    for src in template_sources(root):
        path = src.path / RENDERED_FILE
        path.write_text(rendered_template_text(by_name[src.kind.lower()]), encoding="utf-8")
        written.append(path)
    return written


# --- per-tenant constraints ------------------------------------------------------------------


def _as_str_tuple(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{name}: expected a list of strings, got {value!r}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{name}: expected a list of strings, got item {item!r}")
    if len(set(items)) != len(items):
        dupes = sorted({i for i in items if items.count(i) > 1})
        raise ValueError(f"{name}: duplicate entries {dupes}")
    return items


def env_name_always_denied(name: str) -> bool:
    """True for variables no allowlist may admit (see ALWAYS_DENIED_ENV_*)."""
    upper = name.upper()
    return upper in ALWAYS_DENIED_ENV_NAMES or upper.startswith(ALWAYS_DENIED_ENV_PREFIXES)


def _check_mount_path(path: str) -> None:
    if not path.startswith("/") or path == "/":
        raise ValueError(
            f"allowed_mount_paths: {path!r} must be an absolute directory other than '/'"
        )
    parts = path[1:].split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError(
            f"allowed_mount_paths: {path!r} must be normalised (no empty, '.' or '..' segments, no trailing '/')"
        )


@dataclass(frozen=True)
class TenantAdmission:
    """One tenant namespace's admission settings; every Constraint for it is derived from this.

    `workload_service_account` is the KSA bound to the decrypting Google service account through
    Workload Identity; when set, pods running as it are held to the approved digests, the env and
    volume allowlists and the single-container shape. Without it only the all-pod rules apply.
    """

    namespace: str
    allowed_repos: tuple[str, ...]
    workload_service_account: str | None = None
    approved_digests: tuple[str, ...] = ()
    env_allowlist: tuple[str, ...] = HARNESS_ENV_ALLOWLIST
    allowed_volume_kinds: tuple[str, ...] = HARNESS_VOLUME_KINDS
    allowed_mount_paths: tuple[str, ...] = HARNESS_MOUNT_PATHS
    allowed_service_types: tuple[str, ...] = DEFAULT_SERVICE_TYPES
    extra_labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (
            not isinstance(self.namespace, str)
            or len(self.namespace) > 63
            or not _DNS_LABEL_RE.match(self.namespace)
        ):
            raise ValueError(
                f"namespace: {self.namespace!r} is not a DNS-1123 label (lowercase, digits, '-', <= 63)"
            )
        for name in (
            "allowed_repos",
            "approved_digests",
            "env_allowlist",
            "allowed_volume_kinds",
            "allowed_mount_paths",
            "allowed_service_types",
        ):
            object.__setattr__(self, name, _as_str_tuple(name, getattr(self, name)))
        object.__setattr__(self, "allowed_repos", _checked_repos(self.allowed_repos))
        _check_identity(self.workload_service_account, self.approved_digests)
        for env in self.env_allowlist:
            _check_env_name(env)
        for kind in self.allowed_volume_kinds:
            _check_volume_kind(kind)
        for path in self.allowed_mount_paths:
            _check_mount_path(path)
        _check_service_types(self.allowed_service_types)
        labels = dict(self.extra_labels)
        for key, value in labels.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ValueError(
                    f"extra_labels: keys and values must be strings, got {key!r}: {value!r}"
                )
        object.__setattr__(self, "extra_labels", labels)


def _checked_repos(repos: tuple[str, ...]) -> tuple[str, ...]:
    """Repository prefixes as config writes them (`policy.facts.REPOSITORY_PREFIX`, a trailing
    '/' allowed), returned without the trailing '/': the Rego matches on whole path segments."""
    if not repos:
        raise ValueError("allowed_repos: at least one repository is required")
    for repo in repos:
        if not facts.REPOSITORY_PREFIX.match(repo):
            raise ValueError(
                f"allowed_repos: {repo!r} is not a repository prefix; expected a lowercase "
                "'registry-host[:port]/path' with at least one path segment, no tag or digest "
                "(e.g. 'us-central1-docker.pkg.dev/my-project/repo1')"
            )
    stripped = tuple(r.rstrip("/") for r in repos)
    if len(set(stripped)) != len(stripped):
        raise ValueError(f"allowed_repos: {list(repos)} names one repository twice")
    return stripped


def _check_identity(sa: str | None, digests: tuple[str, ...]) -> None:
    if sa is not None and (
        not isinstance(sa, str) or len(sa) > 253 or not _DNS_SUBDOMAIN_RE.match(sa)
    ):
        raise ValueError(f"workload_service_account: {sa!r} is not a valid ServiceAccount name")
    for digest in digests:
        if not facts.DIGEST.match(digest):
            raise ValueError(
                f"approved_digests: {digest!r} is not 'sha256:' followed by 64 lowercase hex digits"
            )
    if sa is not None and not digests:
        raise ValueError(
            "approved_digests: at least one digest is required when workload_service_account is set"
        )
    if sa is None and digests:
        raise ValueError(
            "approved_digests: only meaningful with workload_service_account; set it or drop the digests"
        )


def _check_env_name(env: str) -> None:
    if not _ENV_NAME_RE.match(env):
        raise ValueError(f"env_allowlist: {env!r} is not an environment variable name")
    if env_name_always_denied(env):
        raise ValueError(
            f"env_allowlist: {env!r} can change which code the harness runs or whom it trusts "
            "and is always denied; remove it"
        )


def _check_volume_kind(kind: str) -> None:
    if kind not in KNOWN_VOLUME_KINDS:
        raise ValueError(
            f"allowed_volume_kinds: {kind!r} is not a Kubernetes volume source (e.g. 'secret')"
        )
    if kind in FORBIDDEN_VOLUME_KINDS:
        raise ValueError(f"allowed_volume_kinds: {kind!r} reaches the node and is never allowed")


def _check_service_types(types: tuple[str, ...]) -> None:
    if not types:
        raise ValueError(
            "allowed_service_types: at least one type is required (usually 'ClusterIP')"
        )
    for svc_type in types:
        if svc_type not in SERVICE_TYPES:
            raise ValueError(
                f"allowed_service_types: {svc_type!r} is not one of {list(SERVICE_TYPES)}"
            )


@dataclass(frozen=True)
class ConstraintSpec:
    """How one template directory is instantiated for a tenant."""

    directory: str
    match_kinds: tuple[dict[str, list[str]], ...]
    workload_only: bool
    parameters: Callable[[TenantAdmission], dict[str, Any]]


def _ksa(t: TenantAdmission) -> dict[str, Any]:
    return {"serviceAccountName": t.workload_service_account}


def _none(_: TenantAdmission) -> dict[str, Any]:
    return {}


def _pod(
    directory: str,
    parameters: Callable[[TenantAdmission], dict[str, Any]] = _none,
    *,
    workload: bool = False,
) -> ConstraintSpec:
    return ConstraintSpec(directory, POD_MATCH_KINDS, workload, parameters)


# Order is irrelevant (constraints() sorts); every template directory must appear exactly once.
CONSTRAINT_SPECS: tuple[ConstraintSpec, ...] = (
    _pod("sandbox-allowed-repos", lambda t: {"repos": list(t.allowed_repos)}),
    _pod("sandbox-image-digest"),
    _pod(
        "sandbox-approved-digests",
        lambda t: {**_ksa(t), "digests": sorted(t.approved_digests)},
        workload=True,
    ),
    _pod("sandbox-no-command-override", _ksa, workload=True),
    _pod(
        "sandbox-env-allowlist",
        lambda t: {**_ksa(t), "allowedEnv": sorted(t.env_allowlist)},
        workload=True,
    ),
    _pod(
        "sandbox-workload-volumes",
        lambda t: {
            **_ksa(t),
            "allowedVolumeKinds": sorted(t.allowed_volume_kinds),
            "allowedMountPaths": sorted(t.allowed_mount_paths),
        },
        workload=True,
    ),
    _pod("sandbox-workload-pod-shape", _ksa, workload=True),
    _pod("sandbox-container-privileges"),
    _pod("sandbox-host-access"),
    _pod("sandbox-read-only-root"),
    _pod("sandbox-run-as-non-root"),
    _pod("sandbox-seccomp"),
    _pod("sandbox-security-profiles"),
    _pod("sandbox-volume-kinds"),
    ConstraintSpec(
        "sandbox-service-types",
        SERVICE_MATCH_KINDS,
        False,
        lambda t: {"allowedTypes": sorted(t.allowed_service_types)},
    ),
    ConstraintSpec(
        "sandbox-secret-types",
        SECRET_MATCH_KINDS,
        False,
        lambda t: {"allowedTypes": list(DEFAULT_SECRET_TYPES)},
    ),
)


def constraint_name(tenant: TenantAdmission, directory: str) -> str:
    """`<namespace>-<template without 'sandbox-'>`: unique per tenant and stable across runs."""
    return f"{tenant.namespace}-{directory.removeprefix('sandbox-')}"


def constraints(tenant: TenantAdmission, root: Path = POLICY_ROOT) -> list[dict[str, Any]]:
    """The Constraint manifests enforcing `tenant`'s settings in its namespace, sorted by kind/name."""
    import copy

    by_dir = {src.directory: src for src in template_sources(root)}
    missing = sorted({s.directory for s in CONSTRAINT_SPECS} - by_dir.keys())
    if missing:
        raise TemplateError(f"{root}: no template directory for {missing}")
    labels = {
        MANAGED_BY_LABEL[0]: MANAGED_BY_LABEL[1],
        TENANT_LABEL: tenant.namespace,
        **tenant.extra_labels,
    }
    out = []
    for spec in CONSTRAINT_SPECS:
        if spec.workload_only and tenant.workload_service_account is None:
            continue
        out.append(
            {
                "apiVersion": CONSTRAINT_API_VERSION,
                "kind": by_dir[spec.directory].kind,
                "metadata": {
                    "name": constraint_name(tenant, spec.directory),
                    "labels": dict(labels),
                },
                "spec": {
                    "enforcementAction": "deny",
                    "match": {
                        "scope": "Namespaced",
                        "kinds": copy.deepcopy(list(spec.match_kinds)),
                        "namespaces": [tenant.namespace],
                    },
                    "parameters": spec.parameters(tenant),
                },
            }
        )
    return sorted(out, key=lambda c: (c["kind"], c["metadata"]["name"]))
