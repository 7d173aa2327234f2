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
    facts = "gke-sandbox:review:DeployFacts"  # the customer IDs Bob's organization allows
    assert harness.top_level() == {
        REGISTRY: {"registry"},
        apis: {"harness-apis"},
        facts: {"deploy-facts"},
    }, sorted(harness.top_level())
    parents = {harness.plan.one(REGISTRY).urn, harness.plan.one(apis).urn}
    for resource in harness.plan.resources:
        if resource.type not in ("pulumi:pulumi:Stack", REGISTRY, apis, facts):
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


NODE_SA = "gke-node@ab-demo-cluster.iam.gserviceaccount.com"


def test_second_up_grants_the_cluster_stacks_node_service_account(run_stack, shipped):
    """README "The real path": after `up -s cluster`, Bob sets the exported node SA and re-runs."""
    assert shipped("cluster").plan.outputs[out.NODE_SERVICE_ACCOUNT] == NODE_SA
    config = stack_config("harness")
    config["harness"]["nodeServiceAccount"] = NODE_SA
    grant = run_stack(config, stack="harness").one(READER)
    assert grant.inputs["member"] == f"serviceAccount:{NODE_SA}", grant.urn
    assert grant.inputs["role"] == "roles/artifactregistry.reader", grant.urn
    assert grant.inputs["repository"] == CONFIG["repository"], grant.urn
    assert grant.inputs["project"] == CONFIG["project"], grant.urn


def test_first_up_has_no_reader_grant(shipped):
    """The committed file runs before the cluster exists: no grant to a missing account (issue 10)."""
    assert "nodeServiceAccount" not in CONFIG
    plan = shipped("harness").plan
    assert plan.of_type(READER) == [], [r.urn for r in plan.of_type(READER)]
    assert len(plan.of_type(REPOSITORY)) == 1


def test_exports_repository_and_image(shipped):
    outputs = shipped("harness").plan.outputs
    url = f"{CONFIG['location']}-docker.pkg.dev/{CONFIG['project']}/{CONFIG['repository']}"
    assert outputs[out.REPOSITORY_URL] == url, out.REPOSITORY_URL
    assert outputs[out.HARNESS_IMAGE] == CONFIG["image"], out.HARNESS_IMAGE
    assert outputs[out.HARNESS_IMAGE].startswith(url + "/"), out.HARNESS_IMAGE
