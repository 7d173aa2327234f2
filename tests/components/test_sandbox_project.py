"""SandboxProject: created inside the confidential folder, billed to Bob, with only the APIs the sandbox uses."""

from __future__ import annotations

from typing import Any

import pytest

from components.sandbox_project import REQUIRED_SERVICES, SandboxProject, SandboxProjectArgs
from infra.plan.mocks import stable_number

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
    assert sorted(s.inputs["service"] for s in services) == sorted(REQUIRED_SERVICES), [
        s.urn for s in services
    ]
    for service in services:
        assert service.inputs["project"] == "ab-demo-cluster", service.urn
        assert service.inputs["disableOnDestroy"] is False, service.urn


def test_children_are_parented_and_named_by_role(run):
    plan = run(lambda: SandboxProject("project", project_args()))
    component = plan.one(COMPONENT)
    children = [r for r in plan.resources if r.parent == component.urn]
    expected = ["project-project"] + [f"project-{s.split('.')[0]}" for s in REQUIRED_SERVICES]
    assert sorted(r.name for r in children) == sorted(expected), component.urn


def test_registered_outputs_give_id_and_number(run, registrations):
    plan = run(lambda: SandboxProject("project", project_args()))
    component = plan.one(COMPONENT)
    assert registrations.outputs[component.urn] == {
        "projectId": "ab-demo-cluster",
        "projectNumber": stable_number("ab-demo-cluster"),
    }, component.urn


def test_missing_billing_account_is_refused(run):
    with pytest.raises(ValueError, match="billing_account is required"):
        run(lambda: SandboxProject("project", project_args(billing_account="")))
