"""SandboxProject: created inside the confidential folder, billed to Bob, with only the APIs the sandbox uses."""

from __future__ import annotations

from typing import Any

import pytest

from components.sandbox_project import SandboxProject, SandboxProjectArgs
from tests.conftest import resolve

COMPONENT = "gke-sandbox:sandbox_project:SandboxProject"
PROJECT = "gcp:organizations/project:Project"
SERVICE = "gcp:projects/service:Service"
BILLING = "018B55-7FDD84-7F175A"


def project_args(**overrides: Any) -> SandboxProjectArgs:
    base: dict[str, Any] = {
        "project_id": "ab-demo-cluster",
        "folder_id": "152423057221",
        "billing_account": BILLING,
    }
    return SandboxProjectArgs(**{**base, **overrides})


def test_project_is_in_the_folder_on_the_customers_billing(run):
    plan = run(lambda: SandboxProject("project", project_args()))
    project = plan.one(PROJECT)
    assert project.inputs["projectId"] == "ab-demo-cluster", project.urn
    assert project.inputs["folderId"] == "152423057221", project.urn
    assert project.inputs["billingAccount"] == BILLING, project.urn
    # No default network with its permissive firewall rules.
    assert project.inputs["autoCreateNetwork"] is False, project.urn
    assert project.inputs["deletionPolicy"] == "PREVENT", project.urn


def test_exactly_the_required_services_are_enabled(run):
    plan = run(lambda: SandboxProject("project", project_args()))
    services = plan.of_type(SERVICE)
    assert sorted(s.inputs["service"] for s in services) == [
        # Nodes pull the signed harness image from Bob's registry (seed 003 step 13).
        "artifactregistry.googleapis.com",
        # The project's Binary Authorization policy admits only Alice-attested images.
        "binaryauthorization.googleapis.com",
        # The workload GSA lives here, and a service account's calls (KMS Decrypt on Alice's
        # key) use its own project as quota project, where the API must be enabled
        # (cloud.google.com/docs/quotas/set-quota-project).
        "cloudkms.googleapis.com",
        # GKE nodes are Compute Engine VMs on the cluster's own VPC.
        "compute.googleapis.com",
        # GKE itself.
        "container.googleapis.com",
        # Binary Authorization reads attestations as Container Analysis occurrences.
        "containeranalysis.googleapis.com",
        # Private zones sending *.googleapis.com and *.pkg.dev to the restricted VIP.
        "dns.googleapis.com",
        # The node and workload service accounts, and Workload Identity.
        "iam.googleapis.com",
        # The node SA's logWriter/metricWriter roles and the cluster's logging/monitoring.
        "logging.googleapis.com",
        "monitoring.googleapis.com",
    ], [s.urn for s in services]
    for service in services:
        assert service.inputs["project"] == "ab-demo-cluster", service.urn
        assert service.inputs["disableOnDestroy"] is False, service.urn


def test_registered_outputs_give_id_and_number(run, registrations):
    made: dict[str, SandboxProject] = {}
    plan = run(lambda: made.setdefault("c", SandboxProject("project", project_args())))
    component = plan.one(COMPONENT)
    outputs = registrations.outputs[component.urn]
    assert outputs["projectId"] == "ab-demo-cluster", component.urn
    # The number is the project's own (computed by the cloud), not something the args say.
    assert outputs["projectNumber"] == resolve(made["c"].project.number), component.urn
    assert outputs["projectNumber"].isdigit(), component.urn


def test_duplicate_services_are_enabled_once(run):
    args = project_args(
        services=["iam.googleapis.com", "compute.googleapis.com", "iam.googleapis.com"]
    )
    plan = run(lambda: SandboxProject("project", args))
    assert sorted(s.name for s in plan.of_type(SERVICE)) == ["project-compute", "project-iam"]


def test_missing_billing_account_is_refused(run):
    with pytest.raises(ValueError, match="billing_account is required"):
        run(lambda: SandboxProject("project", project_args(billing_account="")))
