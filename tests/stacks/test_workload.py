"""Bob's Kubernetes stack: the harness, configured with exactly what Alice's stacks export."""

from __future__ import annotations

from typing import Any

from stacks import outputs as out
from tests.conftest import stack_config

CONFIG = stack_config("workload")
HARNESS = "gke-sandbox:harness_workload:HarnessWorkload"
PROVIDER = "pulumi:providers:kubernetes"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def env_of(deployment: Any) -> dict[str, str]:
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"]}


def test_only_the_harness_is_registered(shipped):
    workload = shipped("workload")
    assert workload.top_level() == {
        HARNESS: {"harness"},
        PROVIDER: {"workload-kubernetes"},
    }, sorted(workload.top_level())
    for resource in workload.plan.resources:
        assert not resource.type.startswith("gcp:"), resource.urn


def test_env_matches_the_model_stack_exports(shipped):
    deployment = shipped("workload").plan.one(DEPLOYMENT)
    model = shipped("model").plan.outputs
    env = env_of(deployment)
    assert env["MODEL_URI"] == model[out.MODEL_URI], deployment.urn
    assert env["KMS_KEY_URI"] == model[out.KMS_KEY_URI], deployment.urn
    assert env["MODEL_SHA256"] == CONFIG["workload"]["modelSha256"], deployment.urn


def test_image_is_the_harness_stacks_and_approved_by_the_sandbox(shipped):
    deployment = shipped("workload").plan.one(DEPLOYMENT)
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    assert container["image"] == shipped("harness").plan.outputs[out.HARNESS_IMAGE], deployment.urn
    digest = container["image"].rsplit("@", 1)[1]
    assert digest in stack_config("sandbox")["sandbox"]["approvedDigests"], deployment.urn


def test_runs_as_the_sandbox_ksa_in_its_namespace(shipped):
    deployment = shipped("workload").plan.one(DEPLOYMENT)
    ksa = shipped("sandbox").plan.one("kubernetes:core/v1:ServiceAccount")
    spec = deployment.inputs["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == ksa.inputs["metadata"]["name"], deployment.urn
    assert deployment.inputs["metadata"]["namespace"] == ksa.inputs["metadata"]["namespace"], (
        deployment.urn
    )


def test_every_kubernetes_object_goes_through_the_explicit_provider(shipped):
    workload = shipped("workload")
    provider = workload.plan.one(PROVIDER)
    assert provider.inputs["kubeconfig"] == "[secret]", provider.urn
    for resource in workload.plan.resources:
        if resource.custom and resource.type.startswith("kubernetes:"):
            assert workload.registrations.providers[resource.urn].startswith(provider.urn + "::"), (
                resource.urn
            )


def test_exports_keep_the_token_secret(shipped):
    plan = shipped("workload").plan
    assert plan.outputs[out.HARNESS_URL] == f"https://{CONFIG['workload']['host']}", out.HARNESS_URL
    assert out.HARNESS_TOKEN in plan.captured.secret_outputs, out.HARNESS_TOKEN
    assert plan.captured.masked_outputs()[out.HARNESS_TOKEN] == "[secret]", out.HARNESS_TOKEN
    assert plan.outputs[out.HARNESS_CERTIFICATE].startswith("-----BEGIN CERTIFICATE-----"), (
        out.HARNESS_CERTIFICATE
    )


def test_frontend_config_names_alices_ssl_policy(shipped):
    """Issue 10: the Ingress's FrontendConfig carries the TLS 1.2+ policy named in config."""
    plan = shipped("workload").plan
    frontend = plan.one("kubernetes:networking.gke.io/v1beta1:FrontendConfig")
    assert frontend.inputs["spec"]["sslPolicy"] == "sandbox-tls", frontend.urn
    ingress = plan.one("kubernetes:networking.k8s.io/v1:Ingress")
    annotation = ingress.inputs["metadata"]["annotations"][
        "networking.gke.io/v1beta1.FrontendConfig"
    ]
    assert annotation == frontend.inputs["metadata"]["name"], ingress.urn


def test_trusted_proxies_from_config_reach_the_harness(run_stack):
    import copy

    config = copy.deepcopy(CONFIG)
    config["workload"]["trustedProxies"] = ["10.129.0.0/23"]
    deployment = run_stack(config, stack="workload").one(DEPLOYMENT)
    # the configured proxies, then the Ingress's reserved address as the last hop
    assert env_of(deployment)["HARNESS_TRUSTED_PROXIES"] == "10.129.0.0/23,203.0.113.7/32", (
        deployment.urn
    )
