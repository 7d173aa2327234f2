"""The components as one Pulumi component package, `gke-sandbox`, usable from every Pulumi language.

`PulumiPlugin.yaml` (repo root) runs `components/__main__.py`, which hosts the classes below
with the SDK's ComponentProvider (`host()`); the engine then asks it for its schema and calls
`Construct` for each component a TypeScript, Go, C#, Java or YAML program declares. The
schema is inferred from the classes' annotations (args dataclasses in, documented
`pulumi.Output` attributes out) by the analyzer in the pinned SDK, with the outputs a
component declares secret (`_common.secret_outputs`) marked so (components/_provider.py);
`python -m infra schema` writes it to `components/schema.json`, and a test fails when the
two drift.
"""

import json
import sys
from typing import Any

import pulumi

from components._common import PACKAGE, host_as_package
from components.binauthz_policy import BinAuthzPolicy
from components.confidential_cluster import ConfidentialCluster
from components.confidential_folder import ConfidentialFolder
from components.confidential_space import ConfidentialSpaceWorkload
from components.gatekeeper import Gatekeeper
from components.harness_registry import HarnessRegistry
from components.harness_workload import HarnessWorkload
from components.image_attestor import ImageAttestor
from components.image_mirror import ImageMirror
from components.ingress_address import IngressAddress
from components.model_vault import ModelVault
from components.project_services import ProjectServices
from components.sandbox_project import SandboxProject
from components.service_perimeter import ServicePerimeter
from components.tenant_iam import TenantIam
from components.tenant_sandbox import TenantSandbox
from components.tls_policy import TlsPolicy
from components.workload_identity import WorkloadIdentity

# The package's version, as in pyproject.toml; consumers pin it (`pulumi package add ...@v0.1.0`).
VERSION = "0.1.0"

# Every component of the package (tests/package checks that none is left out).
COMPONENTS: list[type[pulumi.ComponentResource]] = [
    BinAuthzPolicy,
    ConfidentialCluster,
    ConfidentialFolder,
    ConfidentialSpaceWorkload,
    Gatekeeper,
    HarnessRegistry,
    HarnessWorkload,
    ImageAttestor,
    ImageMirror,
    IngressAddress,
    ModelVault,
    ProjectServices,
    SandboxProject,
    ServicePerimeter,
    TenantIam,
    TenantSandbox,
    TlsPolicy,
    WorkloadIdentity,
]


def provider() -> Any:
    """The provider the host serves (a ComponentProvider with secret outputs): the analyzer runs here.

    `pulumi.provider` is imported here, not at the top: its generated google.rpc.Status proto
    clashes with googleapis-common-protos' in one process (duplicate symbol), and the stacks'
    and tests' processes load the latter with the Google clients; only the host needs it.
    """
    from components._provider import SecretOutputsProvider

    return SecretOutputsProvider(COMPONENTS, PACKAGE, version=VERSION)


def schema() -> dict[str, Any]:
    """The package schema exactly as the provider answers `GetSchema`."""
    return json.loads(provider().schema or "{}")


def host() -> None:
    """Serve the package over gRPC (the engine passes its address on the command line).

    What the SDK's `component_provider_host` does, with this package's provider in place of
    the plain ComponentProvider it would build.
    """
    from pulumi.provider import main

    host_as_package()
    main(provider(), sys.argv[1:])
