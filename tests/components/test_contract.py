"""The contract every component keeps (developers' guide), checked once over all of them.

Each component: `(name, args, opts=None)` with a dataclass `args`; type token
`gke-sandbox:<module>:<Type>`; every child named `<name>-<role>` and parented to the
component (so nothing it creates lands at the stack root); real registered outputs.
Each case builds the component with every optional child switched on, so the role list
below is the whole set of children it can make.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from collections.abc import Callable
from typing import Any, NamedTuple

import pulumi
import pytest

from components.binauthz_policy import AttestorRef, BinAuthzPolicy
from components.confidential_cluster import ConfidentialCluster
from components.confidential_folder import ConfidentialFolder
from components.confidential_space import ConfidentialSpaceWorkload
from components.gatekeeper import Gatekeeper
from components.harness_registry import HarnessRegistry
from components.harness_workload import HarnessWorkload
from components.image_attestor import ImageAttestor
from components.image_mirror import ImageMirror
from components.ingress_address import IngressAddress, IngressAddressArgs
from components.model_vault import ModelVault, SealedModel
from components.project_services import ProjectServices
from components.sandbox_project import SandboxProject
from components.service_perimeter import ServicePerimeter
from components.tenant_iam import TenantIam
from components.tenant_sandbox import TenantSandbox
from components.tls_policy import TlsPolicy
from components.workload_identity import WorkloadIdentity
from tests.components.test_binauthz_policy import SECOND_ID, policy_args
from tests.components.test_confidential_cluster import cluster_args
from tests.components.test_confidential_folder import with_deny
from tests.components.test_confidential_space import space_args
from tests.components.test_gatekeeper import gatekeeper_args
from tests.components.test_harness_registry import NODE_SA, OTHER_SA, registry_args
from tests.components.test_harness_workload import workload_args
from tests.components.test_image_attestor import attestor_args
from tests.components.test_image_mirror import mirror_args
from tests.components.test_model_vault import SEALED_METADATA, vault_args
from tests.components.test_project_services import services_args
from tests.components.test_sandbox_project import project_args
from tests.components.test_service_perimeter import perimeter_args
from tests.components.test_tenant_iam import iam_args
from tests.components.test_tenant_sandbox import workload_tenant
from tests.components.test_tls_policy import tls_args
from tests.components.test_workload_identity import identity_args

ROLE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SERVICES = [
    "artifactregistry",
    "binaryauthorization",
    "cloudkms",
    "compute",
    "container",
    "containeranalysis",
    "dns",
    "iam",
    "logging",
    "monitoring",
]


class Case(NamedTuple):
    component: type[pulumi.ComponentResource]
    token: str
    name: str
    build_args: Callable[[], Any]
    # Every child's role, sorted; None where the roles depend on data (Gatekeeper's rule set).
    roles: list[str] | None


CASES = [
    Case(
        BinAuthzPolicy,
        "gke-sandbox:binauthz_policy:BinAuthzPolicy",
        "binauthz",
        lambda: policy_args(
            attestors=[
                AttestorRef(project="a-demo-model", attestor_id=attestor)
                for attestor in ("projects/a-demo-model/attestors/harness-attestor", SECOND_ID)
            ]
        ),
        ["policy", "verifier-0", "verifier-1"],
    ),
    Case(
        ConfidentialCluster,
        "gke-sandbox:confidential_cluster:ConfidentialCluster",
        "cluster",
        cluster_args,
        [
            "cluster",
            "gcr-io-a",
            "gcr-io-cname",
            "gcr-io-zone",
            "googleapis-com-a",
            "googleapis-com-cname",
            "googleapis-com-zone",
            "network",
            "node-artifactregistry",
            "node-logging",
            "node-monitoring",
            "node-sa",
            "pkg-dev-a",
            "pkg-dev-cname",
            "pkg-dev-zone",
            "pool",
            "subnet",
            "webhook-firewall",
        ],
    ),
    Case(
        ConfidentialFolder,
        "gke-sandbox:confidential_folder:ConfidentialFolder",
        "folder",
        with_deny,
        ["confidential-only", "deny", "folder"],
    ),
    Case(Gatekeeper, "gke-sandbox:gatekeeper:Gatekeeper", "gatekeeper", gatekeeper_args, None),
    Case(
        HarnessRegistry,
        "gke-sandbox:harness_registry:HarnessRegistry",
        "registry",
        lambda: registry_args([NODE_SA, OTHER_SA]),
        ["reader-0", "reader-1", "repository"],
    ),
    Case(
        HarnessWorkload,
        "gke-sandbox:harness_workload:HarnessWorkload",
        "harness",
        workload_args,
        [
            "deployment",
            "disruption-budget",
            "frontend",
            "ingress",
            "service",
            "tls",
            "tls-cert",
            "tls-key",
            "token",
            "token-value",
        ],
    ),
    Case(
        ImageAttestor,
        "gke-sandbox:image_attestor:ImageAttestor",
        "attestor",
        attestor_args,
        ["attestor", "note", "signing-key"],
    ),
    Case(
        ImageMirror,
        "gke-sandbox:image_mirror:ImageMirror",
        "mirror",
        mirror_args,
        ["repository"],
    ),
    Case(
        ModelVault,
        "gke-sandbox:model_vault:ModelVault",
        "model",
        lambda: vault_args(sealed_model=SealedModel("build/sealed/m.sealed", SEALED_METADATA)),
        ["bucket", "key", "key-ring", "model"],
    ),
    Case(
        SandboxProject,
        "gke-sandbox:sandbox_project:SandboxProject",
        "project",
        project_args,
        sorted(["project", *SERVICES]),
    ),
    Case(
        ProjectServices,
        "gke-sandbox:project_services:ProjectServices",
        "model-apis",
        services_args,
        ["cloudkms", "storage"],
    ),
    Case(
        ServicePerimeter,
        "gke-sandbox:service_perimeter:ServicePerimeter",
        "perimeter",
        perimeter_args,
        ["perimeter"],
    ),
    Case(
        TenantIam,
        "gke-sandbox:tenant_iam:TenantIam",
        "tenant-iam-bob",
        iam_args,
        ["cluster-viewer-0", "cluster-viewer-1"],
    ),
    Case(
        TenantSandbox,
        "gke-sandbox:tenant_sandbox:TenantSandbox",
        "tenant-bob",
        workload_tenant,
        [
            "allow-dns",
            "allow-google-apis",
            "allow-load-balancer",
            "default-deny",
            "limits",
            "namespace",
            "quota",
            "role",
            "role-binding",
            "workload-ksa",
        ],
    ),
    Case(
        IngressAddress,
        "gke-sandbox:ingress_address:IngressAddress",
        "ingress",
        lambda: IngressAddressArgs(project="ab-demo-cluster"),
        ["address"],
    ),
    Case(
        ConfidentialSpaceWorkload,
        "gke-sandbox:confidential_space:ConfidentialSpaceWorkload",
        "space",
        space_args,
        sorted(
            [
                "sa",
                "workloaduser",
                "pool",
                "provider",
                "decrypter",
                "object-viewer",
                "network",
                "subnet",
                "lb-to-harness",
                "vm",
                "group",
                "health",
                "backend",
                "url-map",
                "certificate",
                "https-proxy",
                "address",
                "https",
                "token-value",
                "token-sealed",
            ]
        ),
    ),
    Case(TlsPolicy, "gke-sandbox:tls_policy:TlsPolicy", "tls", tls_args, ["ssl-policy"]),
    Case(
        WorkloadIdentity,
        "gke-sandbox:workload_identity:WorkloadIdentity",
        "wi",
        identity_args,
        ["decrypter", "gsa", "object-viewer", "wi-user"],
    ),
]
IDS = [case.component.__name__ for case in CASES]


def test_every_component_module_is_covered():
    """A new component module joins this contract test, or this test names it."""
    import pathlib

    import components

    modules = {
        p.stem
        for p in pathlib.Path(components.__file__).parent.glob("*.py")
        if not p.stem.startswith("_") and p.stem != "package"  # hosts them, registers none
    }
    covered = {case.component.__module__.rsplit(".", 1)[1] for case in CASES}
    # Modules that build objects for a component but register none themselves.
    helpers = {m for m in modules - covered if "ComponentResource" not in _source(m)}
    assert modules - helpers == covered, sorted(modules - helpers - covered)


def _source(module: str) -> str:
    import importlib

    return inspect.getsource(importlib.import_module(f"components.{module}"))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_signature_is_name_args_opts_with_dataclass_args(case: Case):
    init = case.component.__init__
    params = list(inspect.signature(init).parameters.values())
    assert [p.name for p in params] == ["self", "name", "args", "opts"], params
    assert params[3].default is None, params[3]
    args_type = typing.get_type_hints(init)["args"]
    assert dataclasses.is_dataclass(args_type), args_type
    assert isinstance(case.build_args(), args_type), args_type


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_token_children_and_outputs(case: Case, run, registrations):
    plan = run(lambda: case.component(case.name, case.build_args()))
    module = case.component.__module__.rsplit(".", 1)[1]
    assert case.token == f"gke-sandbox:{module}:{case.component.__name__}", case.token
    component = plan.one(case.token)
    assert component.name == case.name, component.urn

    children = [r for r in plan.resources if r.parent == component.urn]
    assert children, component.urn
    roles = []
    for resource in children:
        assert resource.name.startswith(f"{case.name}-"), resource.urn
        role = resource.name.removeprefix(f"{case.name}-")
        assert ROLE.match(role), f"{resource.urn}: role {role!r} is not kebab-case"
        roles.append(role)
    if case.roles is not None:
        assert sorted(roles) == case.roles, component.urn

    # Nothing the component makes is left at the stack root: every resource of the run
    # is the component or below it (providers and the stack itself aside).
    by_urn = {r.urn: r for r in plan.resources}

    def below(resource: Any) -> bool:
        parent = resource.parent
        while parent in by_urn:
            if parent == component.urn:
                return True
            parent = by_urn[parent].parent
        return False

    strays = [
        r.urn
        for r in plan.resources
        if r is not component and not r.type.startswith("pulumi:") and not below(r)
    ]
    assert not strays, strays

    outputs = registrations.outputs[component.urn]
    assert outputs, component.urn
    assert any(value not in (None, "", [], {}) for value in outputs.values()), outputs
