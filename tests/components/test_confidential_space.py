"""ConfidentialSpaceWorkload: a Confidential VM on the production Confidential Space image runs the
approved digest, and only that digest's attested principalSet may decrypt the key and read the
one object; the VM is reached only through an HTTPS load balancer with the sandbox SSL policy."""

from __future__ import annotations

from typing import Any

import pytest

from components.confidential_space import (
    ConfidentialSpaceWorkload,
    ConfidentialSpaceWorkloadArgs,
)
from harness.contract import LAUNCH_POLICY
from infra.plan.mocks import _random_password, _secret_ciphertext

INSTANCE = "gcp:compute/instance:Instance"
PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
POOL = "gcp:iam/workloadIdentityPool:WorkloadIdentityPool"
DECRYPTER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
READER = "gcp:storage/bucketIAMMember:BucketIAMMember"
PROJECT_GRANT = "gcp:projects/iAMMember:IAMMember"
FIREWALL = "gcp:compute/firewall:Firewall"
PROXY = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
FORWARDING = "gcp:compute/globalForwardingRule:GlobalForwardingRule"
BACKEND = "gcp:compute/backendService:BackendService"
SECRET_CIPHERTEXT = "gcp:kms/secretCiphertext:SecretCiphertext"
# What the plan mocks answer for the generated token and its KMS ciphertext (infra/plan/mocks.py).
MOCK_TOKEN = _random_password(None, "space-token-value", {"length": 48})[1]["result"]
MOCK_CIPHERTEXT = _secret_ciphertext(None, "space-token-sealed", {})[1]["ciphertext"]
KEY_ID = "projects/a-demo-model/locations/us-central1/keyRings/model-ring/cryptoKeys/model-key"
DIGEST = "sha256:" + "ab" * 32
IMAGE = f"us-central1-docker.pkg.dev/b-demo-harness/repo1/harness@{DIGEST}"
EMAIL = "space-harness@a-demo-space.iam.gserviceaccount.com"
PRINCIPAL = (
    "principalSet://iam.googleapis.com/projects/314159265358/locations/global/"
    f"workloadIdentityPools/confidential-space/attribute.image_digest/{DIGEST}"
)


def space_args(**overrides: Any) -> ConfidentialSpaceWorkloadArgs:
    base: dict[str, Any] = {
        "project": "a-demo-space",
        "project_number": "314159265358",
        "zone": "us-central1-a",
        "image": IMAGE,
        "host": "model.example.com",
        "kms_key_id": KEY_ID,
        "kms_key_uri": f"gcp-kms://{KEY_ID}",
        "bucket": "a-demo-model-sealed",
        "object_name": "sentiment-model.tar.sealed",
        "ssl_policy": "sandbox-tls",
        "model_sha256": "c" * 64,
    }
    return ConfidentialSpaceWorkloadArgs(**{**base, **overrides})


def test_the_vm_is_a_confidential_vm_on_the_production_image(run):
    vm = run(lambda: ConfidentialSpaceWorkload("space", space_args())).one(INSTANCE)
    ins = vm.inputs
    assert ins["confidentialInstanceConfig"] == {"confidentialInstanceType": "SEV"}, vm.urn
    assert ins["bootDisk"]["initializeParams"]["image"] == (
        "projects/confidential-space-images/global/images/family/confidential-space"
    ), vm.urn
    assert ins["shieldedInstanceConfig"]["enableSecureBoot"] is True, vm.urn
    assert ins["scheduling"]["onHostMaintenance"] == "TERMINATE", vm.urn
    assert ins["networkInterfaces"] == [{"subnetwork": "space-subnet-id"}], "no external IP"
    assert ins["serviceAccount"] == {
        "email": EMAIL,
        "scopes": ["https://www.googleapis.com/auth/cloud-platform"],
    }, vm.urn


def test_the_metadata_runs_the_digest_with_only_admitted_env_and_no_ssh(run):
    metadata = (
        run(lambda: ConfidentialSpaceWorkload("space", space_args()))
        .one(INSTANCE)
        .inputs["metadata"]
    )
    assert metadata["tee-image-reference"] == IMAGE
    assert metadata["tee-restart-policy"] == "OnFailure"
    assert metadata["tee-container-log-redirect"] == "true"
    assert metadata["block-project-ssh-keys"] == "TRUE"
    assert metadata["enable-oslogin"] == "TRUE"
    assert metadata["serial-port-enable"] == "FALSE"
    env = {k.removeprefix("tee-env-"): v for k, v in metadata.items() if k.startswith("tee-env-")}
    assert env == {
        "MODEL_URI": "gs://a-demo-model-sealed/sentiment-model.tar.sealed",
        "KMS_KEY_URI": f"gcp-kms://{KEY_ID}",
        "MODEL_SHA256": "c" * 64,
        "HARNESS_TRUSTED_PROXIES": "35.191.0.0/16,130.211.0.0/22,2600:2d00:1:b029::/64,"
        "2600:2d00:1:1::/64",
        "HARNESS_WIP_PROVIDER": "projects/314159265358/locations/global/"
        "workloadIdentityPools/confidential-space/providers/attestation",
        "HARNESS_TOKEN_SEALED": MOCK_CIPHERTEXT,
    }
    # The image's launch policy admits every one of them (and the launcher refuses others).
    admitted = LAUNCH_POLICY["tee.launch_policy.allow_env_override"].split(",")
    assert set(env) <= set(admitted)


def test_the_bearer_token_reaches_the_vm_only_sealed_by_the_model_key(run):
    plan = run(lambda: ConfidentialSpaceWorkload("space", space_args()))
    (sealed,) = plan.of_type(SECRET_CIPHERTEXT)
    assert sealed.inputs["cryptoKey"] == KEY_ID, sealed.urn
    # The provider marks the associated data sensitive (pulumi-gcp 10.2.0 kms/secret_ciphertext.py).
    assert sealed.inputs["additionalAuthenticatedData"] == "[secret]"
    (password,) = plan.of_type("random:index/randomPassword:RandomPassword")
    # The generated token is what is sealed (a secret input: the plan shows only its source).
    assert sealed.inputs["plaintext"] == "[secret]"
    assert password.urn in sealed.dependencies, sealed.dependencies
    metadata = plan.one(INSTANCE).inputs["metadata"]
    assert metadata["tee-env-HARNESS_TOKEN_SEALED"] == MOCK_CIPHERTEXT
    assert all(MOCK_TOKEN not in str(v) for v in metadata.values()), "plaintext token in metadata"


def test_the_provider_accepts_only_attested_production_tokens_for_the_digest(run):
    plan = run(lambda: ConfidentialSpaceWorkload("space", space_args()))
    provider = plan.one(PROVIDER)
    assert provider.inputs["oidc"] == {
        "issuerUri": "https://confidentialcomputing.googleapis.com/",
        "allowedAudiences": ["https://sts.googleapis.com"],
    }, provider.urn
    assert provider.inputs["attributeMapping"] == {
        "google.subject": "assertion.sub",
        "attribute.image_digest": "assertion.submods.container.image_digest",
    }, provider.urn
    assert provider.inputs["attributeCondition"] == (
        "assertion.swname == 'CONFIDENTIAL_SPACE' && "
        "'STABLE' in assertion.submods.confidential_space.support_attributes && "
        "assertion.dbgstat == 'disabled-since-boot' && "
        f"assertion.submods.container.image_digest == '{DIGEST}' && "
        f"'{EMAIL}' in assertion.google_service_accounts"
    ), provider.urn
    assert provider.inputs["workloadIdentityPoolId"] == "confidential-space"
    assert plan.one(POOL).inputs["workloadIdentityPoolId"] == "confidential-space"


def test_only_the_digests_principal_set_decrypts_and_reads_the_one_object(run):
    plan = run(lambda: ConfidentialSpaceWorkload("space", space_args()))
    (grant,) = plan.of_type(DECRYPTER)
    assert grant.inputs == {
        "cryptoKeyId": KEY_ID,
        "role": "roles/cloudkms.cryptoKeyDecrypter",
        "member": PRINCIPAL,
    }, grant.urn
    (reader,) = plan.of_type(READER)
    assert reader.inputs["member"] == PRINCIPAL, reader.urn
    assert reader.inputs["role"] == "roles/storage.objectViewer", reader.urn
    assert reader.inputs["condition"]["expression"] == (
        'resource.name == "projects/_/buckets/a-demo-model-sealed/objects/'
        'sentiment-model.tar.sealed"'
    ), reader.urn


def test_the_vm_account_holds_only_the_launcher_role(run):
    plan = run(lambda: ConfidentialSpaceWorkload("space", space_args()))
    assert [(g.inputs["role"], g.inputs["member"]) for g in plan.of_type(PROJECT_GRANT)] == [
        ("roles/confidentialcomputing.workloadUser", f"serviceAccount:{EMAIL}")
    ]


def test_https_only_through_the_load_balancer_with_the_ssl_policy(run):
    plan = run(lambda: ConfidentialSpaceWorkload("space", space_args()))
    proxy = plan.one(PROXY)
    assert proxy.inputs["sslPolicy"] == "sandbox-tls", proxy.urn
    (rule,) = plan.of_type(FORWARDING)
    assert (rule.inputs["portRange"], rule.inputs["loadBalancingScheme"]) == (
        "443",
        "EXTERNAL_MANAGED",
    ), rule.urn
    backend = plan.one(BACKEND)
    assert (backend.inputs["protocol"], backend.inputs["portName"]) == ("HTTPS", "https")
    firewall = plan.one(FIREWALL)
    assert firewall.inputs["sourceRanges"] == ["35.191.0.0/16", "130.211.0.0/22"], firewall.urn
    assert firewall.inputs["allows"] == [{"protocol": "tcp", "ports": ["8443"]}], firewall.urn
    assert firewall.inputs["targetServiceAccounts"] == [EMAIL], firewall.urn


def test_tdx_runs_on_c3(run):
    vm = run(
        lambda: ConfidentialSpaceWorkload(
            "space", space_args(confidential_type="TDX", machine_type="c3-standard-4")
        )
    ).one(INSTANCE)
    assert vm.inputs["confidentialInstanceConfig"] == {"confidentialInstanceType": "TDX"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"image": "us-central1-docker.pkg.dev/b-demo-harness/repo1/harness:latest"},
            "must be given by digest",
        ),
        ({"confidential_type": "TDX"}, "machine_type 'n2d-standard-2' cannot run TDX; use a c3"),
        ({"machine_type": "e2-standard-2"}, "cannot run SEV; use a n2d/c2d/c3d machine type"),
        ({"confidential_type": "NONE"}, "confidential_type 'NONE' must be one of SEV, TDX"),
    ],
)
def test_unsafe_arguments_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        ConfidentialSpaceWorkload("space", space_args(**overrides))
