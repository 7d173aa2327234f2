"""HarnessRegistry: Bob's docker repository keeps a signed digest's bytes fixed and lists who may pull."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.harness_registry import HarnessRegistry, HarnessRegistryArgs
from tests.conftest import resolve

COMPONENT = "gke-sandbox:harness_registry:HarnessRegistry"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
READER = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
NODE_SA = "serviceAccount:gke-node@ab-demo-cluster.iam.gserviceaccount.com"
OTHER_SA = "serviceAccount:ci@b-demo-harness.iam.gserviceaccount.com"


def registry_args(readers: Sequence[str] = (NODE_SA,), **overrides: Any) -> HarnessRegistryArgs:
    base: dict[str, Any] = {
        "project": "b-demo-harness",
        "location": "us-central1",
        "repository_id": "harness",
        "readers": list(readers),
    }
    return HarnessRegistryArgs(**{**base, **overrides})


def test_repository_is_docker_with_immutable_tags(run):
    plan = run(lambda: HarnessRegistry("registry", registry_args()))
    repo = plan.one(REPOSITORY)
    assert repo.inputs["format"] == "DOCKER", repo.urn
    assert repo.inputs["dockerConfig"] == {"immutableTags": True}, repo.urn
    assert repo.inputs["repositoryId"] == "harness", repo.urn
    assert repo.inputs["project"] == "b-demo-harness", repo.urn
    assert repo.inputs["location"] == "us-central1", repo.urn


def test_one_reader_grant_per_member(run):
    plan = run(lambda: HarnessRegistry("registry", registry_args([NODE_SA, OTHER_SA])))
    grants = plan.of_type(READER)
    assert sorted(g.inputs["member"] for g in grants) == sorted([NODE_SA, OTHER_SA]), [
        g.urn for g in grants
    ]
    for grant in grants:
        assert grant.inputs["role"] == "roles/artifactregistry.reader", grant.urn
        assert grant.inputs["repository"] == "harness", grant.urn
        assert grant.inputs["project"] == "b-demo-harness", grant.urn
        assert grant.inputs["location"] == "us-central1", grant.urn


def test_no_readers_means_no_grants(run):
    plan = run(lambda: HarnessRegistry("registry", registry_args(readers=[])))
    assert plan.of_type(READER) == []
    assert len(plan.of_type(REPOSITORY)) == 1


def test_registered_outputs_give_the_repository_url(run, registrations):
    made: dict[str, HarnessRegistry] = {}
    plan = run(lambda: made.setdefault("c", HarnessRegistry("registry", registry_args())))
    component = plan.one(COMPONENT)
    url = "us-central1-docker.pkg.dev/b-demo-harness/harness"
    assert registrations.outputs[component.urn] == {
        "repositoryId": "projects/b-demo-harness/locations/us-central1/repositories/harness",
        "repositoryUrl": url,
    }, component.urn
    assert resolve(made["c"].repository_url) == url, component.urn
