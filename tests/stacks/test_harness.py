"""Bob's harness stack: the repository, and a reader grant for the node SA Alice hands over."""

from __future__ import annotations

from stacks import outputs as out
from tests.conftest import stack_config

REGISTRY = "gke-sandbox:harness_registry:HarnessRegistry"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
READER = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
CONFIG = stack_config("harness")["harness"]


def test_only_the_registry_is_registered(shipped):
    harness = shipped("harness")
    apis = "gke-sandbox:project_services:ProjectServices"
    assert harness.top_level() == {REGISTRY: {"registry"}, apis: {"harness-apis"}}, sorted(
        harness.top_level()
    )
    parents = {harness.plan.one(REGISTRY).urn, harness.plan.one(apis).urn}
    for resource in harness.plan.resources:
        if resource.type not in ("pulumi:pulumi:Stack", REGISTRY, apis):
            assert resource.parent in parents, resource.urn


def test_repository_waits_for_the_artifact_registry_api(shipped):
    """Issue 10: Bob's project may not have Artifact Registry on before his first `up`."""
    plan = shipped("harness").plan
    (service,) = plan.of_type("gcp:projects/service:Service")
    assert service.inputs == {
        "project": CONFIG["project"],
        "service": "artifactregistry.googleapis.com",
        "disableOnDestroy": False,
    }, service.urn
    repository = plan.one("gcp:artifactregistry/repository:Repository")
    assert service.urn in repository.dependencies, repository.urn


def test_reader_grant_goes_to_the_configured_node_service_account(shipped):
    grant = shipped("harness").plan.one(READER)
    assert grant.inputs["member"] == f"serviceAccount:{CONFIG['nodeServiceAccount']}", grant.urn
    assert grant.inputs["role"] == "roles/artifactregistry.reader", grant.urn
    assert grant.inputs["repository"] == CONFIG["repository"], grant.urn
    assert grant.inputs["project"] == CONFIG["project"], grant.urn


def test_configured_node_service_account_is_the_cluster_stacks(shipped):
    """The value Bob was handed is the one Alice's cluster stack exports."""
    node_sa = shipped("cluster").plan.outputs[out.NODE_SERVICE_ACCOUNT]
    assert CONFIG["nodeServiceAccount"] == node_sa, "gke-sandbox:harness.nodeServiceAccount"


def test_without_node_service_account_there_is_no_reader_grant(run_stack):
    config = stack_config("harness")
    del config["harness"]["nodeServiceAccount"]
    plan = run_stack(config, stack="harness")
    assert plan.of_type(READER) == [], [r.urn for r in plan.of_type(READER)]
    assert len(plan.of_type(REPOSITORY)) == 1


def test_exports_repository_and_image(shipped):
    outputs = shipped("harness").plan.outputs
    url = f"{CONFIG['location']}-docker.pkg.dev/{CONFIG['project']}/{CONFIG['repository']}"
    assert outputs[out.REPOSITORY_URL] == url, out.REPOSITORY_URL
    assert outputs[out.HARNESS_IMAGE] == CONFIG["image"], out.HARNESS_IMAGE
    assert outputs[out.HARNESS_IMAGE].startswith(url + "/"), out.HARNESS_IMAGE
