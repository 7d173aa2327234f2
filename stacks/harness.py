"""Bob's harness stack: the image repository and the cluster nodes' read access (seed 003 steps 4, 13).

Bob can run it before the cluster exists; once Alice hands over the node service account
(`harness.nodeServiceAccount`), the next `pulumi up` adds the reader grant.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.harness_registry import HarnessRegistry, HarnessRegistryArgs
from components.project_services import ProjectServices, ProjectServicesArgs
from infra.config import StackConfig
from stacks import outputs as out
from stacks.links import Links


def build(config: StackConfig, links: Links) -> dict[str, Any]:
    harness = config.harness
    assert harness is not None
    node_sa = links.node_sa_email or harness.node_service_account
    apis = ProjectServices(
        "harness-apis",
        ProjectServicesArgs(project=harness.project, services=["artifactregistry.googleapis.com"]),
    )
    readers = [] if node_sa is None else [pulumi.Output.concat("serviceAccount:", node_sa)]
    registry = HarnessRegistry(
        "registry",
        HarnessRegistryArgs(
            project=harness.project,
            location=harness.location,
            repository_id=harness.repository,
            readers=readers,
        ),
        pulumi.ResourceOptions(depends_on=apis.services),
    )
    return {out.REPOSITORY_URL: registry.repository_url, out.HARNESS_IMAGE: harness.image}
