"""ProjectServices: an existing project's APIs enabled once each, never disabled on destroy."""

from __future__ import annotations

import pytest

from components.project_services import ProjectServices, ProjectServicesArgs

SERVICE = "gcp:projects/service:Service"


def services_args() -> ProjectServicesArgs:
    return ProjectServicesArgs(
        project="a-demo-model",
        services=["storage.googleapis.com", "cloudkms.googleapis.com", "storage.googleapis.com"],
    )


def test_each_api_once_in_the_named_project_kept_on_destroy(run):
    plan = run(lambda: ProjectServices("model-apis", services_args()))
    services = plan.of_type(SERVICE)
    assert sorted((s.name, s.inputs["service"]) for s in services) == [
        ("model-apis-cloudkms", "cloudkms.googleapis.com"),
        ("model-apis-storage", "storage.googleapis.com"),
    ]
    for service in services:
        assert service.inputs["project"] == "a-demo-model", service.urn
        assert service.inputs["disableOnDestroy"] is False, service.urn


def test_registered_outputs_list_the_apis(run, registrations):
    plan = run(lambda: ProjectServices("model-apis", services_args()))
    component = plan.one("gke-sandbox:project_services:ProjectServices")
    assert registrations.outputs[component.urn] == {
        "enabledApis": ["cloudkms.googleapis.com", "storage.googleapis.com"]
    }


def test_nothing_to_enable_is_refused():
    with pytest.raises(ValueError, match="at least one API"):
        ProjectServices("model-apis", ProjectServicesArgs(project="a-demo-model", services=[]))
