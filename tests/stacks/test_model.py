"""Alice's model stack: key, bucket and attestor, named by the config's KMS key URI, and nothing else."""

from __future__ import annotations

from stacks import outputs as out
from tests.conftest import stack_config

VAULT = "gke-sandbox:model_vault:ModelVault"
ATTESTOR_COMPONENT = "gke-sandbox:image_attestor:ImageAttestor"
KEY = "gcp:kms/cryptoKey:CryptoKey"
RING = "gcp:kms/keyRing:KeyRing"
BUCKET = "gcp:storage/bucket:Bucket"
OBJECT = "gcp:storage/bucketObject:BucketObject"
ATTESTOR = "gcp:binaryauthorization/attestor:Attestor"
CONFIG = stack_config("model")["model"]
APIS = "gke-sandbox:project_services:ProjectServices"
SERVICE = "gcp:projects/service:Service"


def test_only_model_components_are_registered(shipped):
    model = shipped("model")
    assert model.top_level() == {
        VAULT: {"model"},
        ATTESTOR_COMPONENT: {"attestor"},
        APIS: {"model-apis"},
    }, sorted(model.top_level())
    for resource in model.plan.resources:
        if resource.type == "pulumi:pulumi:Stack":
            continue
        ancestors = [resource.type, *model.ancestor_types(resource)]
        assert {VAULT, ATTESTOR_COMPONENT, APIS} & set(ancestors), resource.urn


def test_every_model_resource_waits_for_its_api(shipped):
    """Issue 10: a fresh model project has these APIs off; the first `up` must enable them
    before the key ring, bucket, note and attestor are created."""
    model = shipped("model")
    plan = model.plan
    services = {s.inputs["service"]: s.urn for s in plan.of_type(SERVICE)}
    assert sorted(services) == [
        "binaryauthorization.googleapis.com",
        "cloudkms.googleapis.com",
        "containeranalysis.googleapis.com",
        "storage.googleapis.com",
    ]
    for token, api in (
        (RING, "cloudkms.googleapis.com"),
        ("gcp:storage/bucket:Bucket", "storage.googleapis.com"),
        ("gcp:containeranalysis/note:Note", "containeranalysis.googleapis.com"),
        ("gcp:binaryauthorization/attestor:Attestor", "binaryauthorization.googleapis.com"),
    ):
        for resource in plan.of_type(token):
            assert services[api] in resource.dependencies, resource.urn


def test_key_ring_key_and_bucket_come_from_the_key_uri(shipped):
    plan = shipped("model").plan
    ring = plan.one(RING)
    assert ring.inputs["project"] == "a-demo-model", ring.urn
    assert ring.inputs["location"] == "us-central1", ring.urn
    assert ring.inputs["name"] == "model-ring", ring.urn
    key = plan.one(KEY, "model-key")
    assert key.inputs["keyRing"] + "/cryptoKeys/" + key.inputs["name"] == CONFIG[
        "kmsKeyUri"
    ].removeprefix("gcp-kms://"), key.urn
    # rotationPeriod: 90d in the stack file.
    assert key.inputs["rotationPeriod"] == "7776000s", key.urn
    bucket = plan.one(BUCKET)
    assert bucket.inputs["name"] == CONFIG["bucket"], bucket.urn
    assert bucket.inputs["project"] == "a-demo-model", bucket.urn


def test_signing_key_lives_in_the_model_key_ring(shipped):
    plan = shipped("model").plan
    signer = plan.one(KEY, "attestor-signing-key")
    model_key = plan.one(KEY, "model-key")
    assert signer.inputs["keyRing"] == model_key.inputs["keyRing"], signer.urn
    assert signer.inputs["purpose"] == "ASYMMETRIC_SIGN", signer.urn
    attestor = plan.one(ATTESTOR)
    assert attestor.inputs["name"] == CONFIG["attestor"]["name"], attestor.urn


def test_no_sealed_object_until_the_sealed_block_is_added(shipped, run_stack):
    assert shipped("model").plan.of_type(OBJECT) == []
    config = stack_config("model")
    # The block `python -m infra seal --no-upload` prints, as the dev stack carries it.
    config["model"]["sealed"] = stack_config("dev")["model"]["sealed"]
    plan = run_stack(config, stack="model")
    obj = plan.one(OBJECT)
    assert obj.inputs["name"] == CONFIG["object"], obj.urn
    assert obj.inputs["bucket"] == CONFIG["bucket"], obj.urn
    assert obj.inputs["metadata"] == config["model"]["sealed"]["metadata"], obj.urn


def test_exports_are_what_the_other_parties_need(shipped):
    outputs = shipped("model").plan.outputs
    assert outputs[out.KMS_KEY_URI] == CONFIG["kmsKeyUri"], out.KMS_KEY_URI
    assert outputs[out.KMS_KEY_ID] == CONFIG["kmsKeyUri"].removeprefix("gcp-kms://"), out.KMS_KEY_ID
    assert outputs[out.MODEL_BUCKET] == CONFIG["bucket"], out.MODEL_BUCKET
    assert outputs[out.MODEL_URI] == f"gs://{CONFIG['bucket']}/{CONFIG['object']}", out.MODEL_URI
    assert outputs[out.ATTESTOR] == "projects/a-demo-model/attestors/harness-attestor", out.ATTESTOR
    assert outputs[out.ATTESTOR_SIGNING_KEY_VERSION].startswith(
        CONFIG["kmsKeyUri"].removeprefix("gcp-kms://").rsplit("/cryptoKeys/", 1)[0]
        + "/cryptoKeys/harness-signer/cryptoKeyVersions/"
    ), out.ATTESTOR_SIGNING_KEY_VERSION
