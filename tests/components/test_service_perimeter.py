"""ServicePerimeter: enforced, regular, storage and KMS restricted, the two projects inside."""

from __future__ import annotations

from typing import Any

import pytest

from components.service_perimeter import ServicePerimeter, ServicePerimeterArgs

PERIMETER = "gcp:accesscontextmanager/servicePerimeter:ServicePerimeter"


def perimeter_args(**overrides: Any) -> ServicePerimeterArgs:
    base: dict[str, Any] = {
        "access_policy": "512345678901",
        "short_name": "gke_sandbox",
        "project_numbers": ["123456789012", "344938913219"],
        "ingress_identities": ["user:alice@example.com"],
    }
    return ServicePerimeterArgs(**{**base, **overrides})


def test_perimeter_restricts_storage_and_kms_around_both_projects(run):
    plan = run(lambda: ServicePerimeter("perimeter", perimeter_args()))
    perimeter = plan.one(PERIMETER)
    inputs = perimeter.inputs
    assert inputs["parent"] == "accessPolicies/512345678901", perimeter.urn
    assert inputs["name"] == "accessPolicies/512345678901/servicePerimeters/gke_sandbox"
    assert inputs["perimeterType"] == "PERIMETER_TYPE_REGULAR", perimeter.urn
    # Enforced, not a dry run.
    assert "spec" not in inputs and not inputs.get("useExplicitDryRunSpec"), perimeter.urn
    status = inputs["status"]
    assert status["resources"] == ["projects/123456789012", "projects/344938913219"]
    assert status["restrictedServices"] == ["cloudkms.googleapis.com", "storage.googleapis.com"]


def test_only_named_identities_come_in_and_only_for_storage_and_kms(run):
    plan = run(lambda: ServicePerimeter("perimeter", perimeter_args()))
    (policy,) = plan.one(PERIMETER).inputs["status"]["ingressPolicies"]
    assert policy["ingressFrom"]["identities"] == ["user:alice@example.com"]
    assert sorted(op["serviceName"] for op in policy["ingressTo"]["operations"]) == [
        "cloudkms.googleapis.com",
        "storage.googleapis.com",
    ]


def test_no_identities_means_no_ingress_policy(run):
    plan = run(lambda: ServicePerimeter("perimeter", perimeter_args(ingress_identities=[])))
    assert plan.one(PERIMETER).inputs["status"].get("ingressPolicies") in (None, [])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"access_policy": "policies/1"}, "must be the numeric policy id"),
        ({"short_name": "gke-sandbox"}, "letters, digits and underscores"),
        ({"project_numbers": ["1"]}, "model project and the cluster project"),
    ],
)
def test_bad_args_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        ServicePerimeter("perimeter", perimeter_args(**overrides))
