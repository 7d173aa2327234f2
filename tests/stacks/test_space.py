"""Alice's Confidential Space stack: the shipped config wired into one ConfidentialSpaceWorkload
for the model stack's key and object, with its APIs and SSL policy; nothing of the GKE path."""

from __future__ import annotations

from stacks import outputs as out
from tests.conftest import stack_config

CONFIG = stack_config("space")
TOP_LEVEL = {
    "gke-sandbox:project_services:ProjectServices": {"space-apis"},
    "gke-sandbox:tls_policy:TlsPolicy": {"space-tls"},
    "gke-sandbox:confidential_space:ConfidentialSpaceWorkload": {"space"},
}
DIGEST = "sha256:79bd5f912186c23fbd086440a18b4ea73aab1a52f0dc873dd2c22aab92b9e315"
PRINCIPAL = (
    "principalSet://iam.googleapis.com/projects/314159265358/locations/global/"
    f"workloadIdentityPools/confidential-space/attribute.image_digest/{DIGEST}"
)


def test_only_space_components_are_registered(shipped):
    space = shipped("space")
    assert space.top_level() == TOP_LEVEL, sorted(space.top_level())
    types = space.plan.types()
    assert not any(t.startswith(("kubernetes:", "gcp:container/")) for t in types), sorted(types)


def test_the_grants_are_on_the_model_stacks_key_and_object(shipped):
    plan = shipped("space").plan
    (decrypter,) = plan.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert decrypter.inputs["cryptoKeyId"] == CONFIG["model"]["kmsKeyUri"].removeprefix(
        "gcp-kms://"
    ), decrypter.urn
    assert decrypter.inputs["member"] == PRINCIPAL, decrypter.urn
    (reader,) = plan.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    assert reader.inputs["bucket"] == CONFIG["model"]["bucket"], reader.urn
    assert CONFIG["model"]["object"] in reader.inputs["condition"]["expression"], reader.urn


def test_the_vm_runs_the_configured_digest_on_the_configured_tee(shipped):
    vm = shipped("space").plan.one("gcp:compute/instance:Instance")
    assert vm.inputs["metadata"]["tee-image-reference"] == CONFIG["space"]["image"], vm.urn
    assert vm.inputs["machineType"] == "n2d-standard-2", vm.urn
    assert vm.inputs["zone"] == "us-central1-a", vm.urn
    assert vm.inputs["project"] == "a-demo-space", vm.urn


def test_the_https_proxy_uses_the_stacks_ssl_policy(shipped):
    plan = shipped("space").plan
    policy = plan.one("gcp:compute/sSLPolicy:SSLPolicy")
    assert (policy.inputs["profile"], policy.inputs["minTlsVersion"]) == ("MODERN", "TLS_1_2")
    proxy = plan.one("gcp:compute/targetHttpsProxy:TargetHttpsProxy")
    assert proxy.inputs["sslPolicy"] == policy.inputs["name"] == "sandbox-tls", proxy.urn


def test_the_stack_exports_what_the_other_parties_need(shipped):
    outputs = shipped("space").plan.outputs
    assert outputs[out.SPACE_PRINCIPAL_SET] == PRINCIPAL
    assert (
        outputs[out.SPACE_SERVICE_ACCOUNT] == "space-harness@a-demo-space.iam.gserviceaccount.com"
    )
    assert outputs[out.SPACE_PROVIDER] == (
        "projects/314159265358/locations/global/workloadIdentityPools/confidential-space/"
        "providers/attestation"
    )
    assert outputs[out.HARNESS_URL] == "https://model.example.com"
    assert set(out.SPACE_ONLY_EXPORTS) <= set(outputs)


def test_the_dev_stack_does_not_build_the_space_path(shipped):
    types = shipped("dev").plan.types()
    assert "gke-sandbox:confidential_space:ConfidentialSpaceWorkload" not in types
    assert "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider" not in types


def test_the_bearer_token_is_exported_secret(shipped):
    captured = shipped("space").plan.captured
    assert out.HARNESS_TOKEN in captured.secret_outputs
    assert captured.masked_outputs()[out.HARNESS_TOKEN] == "[secret]"
