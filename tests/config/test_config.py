"""infra.config.parse: the shipped stacks parse; each unsafe or mistyped value fails naming its key."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from infra.config import Part, parse
from infra.errors import ConfigError
from tests.conftest import ROOT, stack_config

SHIPPED = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
OTHER_DIGEST = "sha256:" + "1" * 64


def config_error(raw: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse(raw)
    return caught.value


def assert_names(error: ConfigError, key: str, problem: str, expected: str) -> None:
    """The message names the key, says what is wrong, and what would be right."""
    message = str(error)
    assert error.key == key, message
    assert message.startswith(f"config {key}: {problem}"), message
    assert expected in error.expected, message
    assert f"expected {error.expected}" in message, message


# --------------------------------------------------------------------------- shipped configs
def test_every_stack_file_is_covered():
    assert SHIPPED == ["cluster", "dev", "harness", "model", "sandbox", "space", "workload"], (
        SHIPPED
    )


@pytest.mark.parametrize("stack", SHIPPED)
def test_shipped_config_parses(stack):
    raw = stack_config(stack)
    config = parse(raw)
    assert config.part is Part(raw["part"]), f"Pulumi.{stack}.yaml gke-sandbox:part"
    for block in ("model", "harness", "cluster", "sandbox", "workload", "space"):
        present = getattr(config, block) is not None
        assert present == (block in raw), f"Pulumi.{stack}.yaml gke-sandbox:{block}"


def test_dev_fills_handover_values_from_their_blocks(dev_config):
    config = parse(dev_config)
    assert config.workload is not None and config.model is not None and config.harness is not None
    assert config.workload.image == dev_config["harness"]["image"], "gke-sandbox:workload.image"
    assert config.workload.model_uri == "gs://a-demo-model-sealed/sentiment-model.tar.sealed", (
        "gke-sandbox:workload.modelUri"
    )
    assert config.workload.kms_key_uri == dev_config["model"]["kmsKeyUri"], (
        "gke-sandbox:workload.kmsKeyUri"
    )
    assert config.sandbox is not None
    assert config.sandbox.allowed_repositories == (
        "us-central1-docker.pkg.dev/b-demo-harness/repo1/",
    ), "gke-sandbox:sandbox.allowedRepositories"


# --------------------------------------------------------------------------- one change each
def test_image_by_tag(dev_config):
    dev_config["harness"]["image"] = "us-central1-docker.pkg.dev/b-demo-harness/repo1/harness:v1"
    error = config_error(dev_config)
    assert_names(error, "gke-sandbox:harness.image", "is given by tag, not by digest", "@sha256:")


def test_malformed_kms_key_uri(dev_config):
    dev_config["model"]["kmsKeyUri"] = (
        "projects/a-demo-model/locations/us-central1/keyRings/model-ring/cryptoKeys/model-key"
    )
    error = config_error(dev_config)
    assert_names(error, "gke-sandbox:model.kmsKeyUri", "is malformed", "gcp-kms://projects/")


def test_missing_billing_account(dev_config):
    del dev_config["cluster"]["billingAccount"]
    error = config_error(dev_config)
    assert_names(error, "gke-sandbox:cluster.billingAccount", "is required", "billing account id")


def test_malformed_billing_account(dev_config):
    dev_config["cluster"]["billingAccount"] = "018b55-7fdd84"
    error = config_error(dev_config)
    assert_names(
        error, "gke-sandbox:cluster.billingAccount", "is malformed", "018B55-7FDD84-7F175A"
    )


def test_unknown_top_level_key(dev_config):
    dev_config["clustr"] = copy.deepcopy(dev_config["cluster"])
    error = config_error(dev_config)
    assert_names(error, "gke-sandbox:clustr", "is not a known key", "cluster")


def test_unknown_key_inside_a_block(dev_config):
    dev_config["cluster"]["machinetype"] = "n2d-standard-4"
    error = config_error(dev_config)
    assert_names(error, "gke-sandbox:cluster.machinetype", "is not a known key", "machineType")


def test_block_the_part_does_not_use():
    raw = stack_config("harness")
    raw["model"] = stack_config("model")["model"]
    error = config_error(raw)
    assert_names(error, "gke-sandbox:model", "is not used by part harness", "only harness")


def test_non_sev_machine_type(dev_config):
    dev_config["cluster"]["machineType"] = "e2-standard-4"
    error = config_error(dev_config)
    assert_names(
        error, "gke-sandbox:cluster.machineType", "cannot run Confidential GKE Nodes", "n2d-"
    )


def test_location_outside_region(dev_config):
    dev_config["cluster"]["location"] = "europe-west4-a"
    error = config_error(dev_config)
    assert_names(error, "gke-sandbox:cluster.location", "is not in the region", "us-central1")


@pytest.mark.parametrize("period", ["91d", "7776001s", "12h"])
def test_rotation_period_outside_1_to_90_days(dev_config, period):
    dev_config["model"]["rotationPeriod"] = period
    error = config_error(dev_config)
    assert_names(error, "gke-sandbox:model.rotationPeriod", "is out of range", "between 1d and 90d")


def test_two_tenants_with_workload_service_account(dev_config):
    dev_config["tenants"][1]["workloadServiceAccount"] = "other-sa"
    error = config_error(dev_config)
    assert_names(
        error,
        "gke-sandbox:tenants",
        "more than one tenant has workloadServiceAccount",
        "at most one",
    )


def test_duplicate_namespaces(dev_config):
    dev_config["tenants"][1]["namespace"] = dev_config["tenants"][0]["namespace"]
    error = config_error(dev_config)
    assert_names(error, "gke-sandbox:tenants[1].namespace", "is used by two tenants", "unique")


@pytest.mark.parametrize(
    "namespace", ["default", "kube-system", "gatekeeper-system", "kube-anything"]
)
def test_reserved_namespace(dev_config, namespace):
    dev_config["tenants"][1]["namespace"] = namespace
    error = config_error(dev_config)
    assert_names(
        error,
        "gke-sandbox:tenants[1].namespace",
        "is reserved for the platform",
        "a tenant's own namespace",
    )


def test_harness_digest_not_approved(dev_config):
    dev_config["sandbox"]["approvedDigests"] = [OTHER_DIGEST]
    error = config_error(dev_config)
    assert_names(
        error,
        "gke-sandbox:sandbox.approvedDigests",
        "does not include the harness image digest",
        "the digest Alice reviewed and signed",
    )


def test_gatekeeper_image_not_in_binauthz_allowlist(dev_config):
    repo = dev_config["sandbox"]["gatekeeper"]["image"].split("@", 1)[0]
    dev_config["sandbox"]["gatekeeper"]["image"] = f"{repo}@{OTHER_DIGEST}"
    error = config_error(dev_config)
    assert_names(
        error,
        "gke-sandbox:cluster.binauthzAllowlist",
        "does not admit sandbox.gatekeeper.image",
        "the Gatekeeper image by digest, exactly",
    )


def test_gatekeeper_image_outside_the_mirror(dev_config):
    """Issue 10: private nodes cannot pull from docker.io."""
    image = f"docker.io/openpolicyagent/gatekeeper@{OTHER_DIGEST}"
    dev_config["sandbox"]["gatekeeper"]["image"] = image
    dev_config["cluster"]["binauthzAllowlist"] = [image]
    error = config_error(dev_config)
    assert_names(
        error,
        "gke-sandbox:sandbox.gatekeeper.image",
        "is not in the cluster project's mirror repository",
        "us-central1-docker.pkg.dev/ab-demo-cluster/mirror/gatekeeper@sha256:<64 hex>",
    )


def test_crd_image_is_no_longer_a_key(dev_config):
    """helm.v4.Chart never runs the CRD hook, so the crds image was never pulled (issue 10)."""
    dev_config["sandbox"]["gatekeeper"]["crdImage"] = dev_config["sandbox"]["gatekeeper"]["image"]
    error = config_error(dev_config)
    assert "crdImage" in str(error)


def test_workload_ssl_policy_defaults_to_the_clusters_in_dev(dev_config):
    config = parse(dev_config)
    assert config.workload.ssl_policy == "sandbox-tls"


@pytest.mark.parametrize("value", ["Sandbox_TLS", "-tls", "a" * 64])
def test_bad_ssl_policy_name(dev_config, value):
    dev_config["cluster"]["sslPolicy"] = value
    error = config_error(dev_config)
    assert_names(error, "gke-sandbox:cluster.sslPolicy", "is malformed", "a lowercase name")


@pytest.mark.parametrize(
    "member", ["bob@example.com", "user:bob", "User:bob@example.com", "allUsers"]
)
def test_bad_member_format(dev_config, member):
    dev_config["tenants"][0]["members"] = [member]
    error = config_error(dev_config)
    assert_names(
        error, "gke-sandbox:tenants[0].members[0]", "is malformed", "user:<email>, group:<email>"
    )


def test_domain_member_is_refused_because_rbac_cannot_bind_it(dev_config):
    """The sandbox part maps members to RBAC subjects; a domain has none, so config must refuse it."""
    dev_config["tenants"][0]["members"] = ["domain:example.com"]
    error = config_error(dev_config)
    assert_names(
        error, "gke-sandbox:tenants[0].members[0]", "is malformed", "user:<email>, group:<email>"
    )


@pytest.mark.parametrize("cidr", ["198.51.100.0/33", "198.51.100.1/24", "not-a-cidr"])
def test_bad_cidr(dev_config, cidr):
    dev_config["cluster"]["authorizedNetworks"][0]["cidr"] = cidr
    error = config_error(dev_config)
    assert_names(
        error, "gke-sandbox:cluster.authorizedNetworks[0].cidr", "is not a CIDR", "IPv4 CIDR"
    )


def test_bad_master_cidr(dev_config):
    dev_config["cluster"]["masterCidr"] = "172.16.0.17/28"
    error = config_error(dev_config)
    assert_names(error, "gke-sandbox:cluster.masterCidr", "is not a CIDR", "IPv4 CIDR")


@pytest.mark.parametrize("key", ["image", "modelUri", "kmsKeyUri"])
def test_workload_part_needs_the_handed_over_values(key):
    raw = stack_config("workload")
    del raw["workload"][key]
    error = config_error(raw)
    assert_names(
        error, f"gke-sandbox:workload.{key}", "is required for part workload", "Alice handed over"
    )


def test_sandbox_part_needs_a_way_to_the_cluster():
    raw = stack_config("sandbox")
    del raw["sandbox"]["clusterStack"]
    error = config_error(raw)
    assert_names(
        error,
        "gke-sandbox:sandbox.clusterStack",
        "is required for part sandbox",
        "clusterStack or clusterAccess",
    )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "sealed-for",
            "gs://a-demo-model-sealed/another.sealed",
            "gs://a-demo-model-sealed/sentiment-model.tar.sealed",
        ),
        (
            "kms-key",
            "gcp-kms://projects/a-demo-model/locations/us-central1/keyRings/model-ring/cryptoKeys/other",
            "gcp-kms://projects/a-demo-model/locations/us-central1/keyRings/model-ring/cryptoKeys/model-key",
        ),
    ],
)
def test_sealed_object_bound_elsewhere_is_refused(dev_config, key, value, expected):
    """The harness would refuse a ciphertext sealed for another object or key; say so at plan time."""
    dev_config["model"]["sealed"]["metadata"][key] = value
    assert_names(
        config_error(dev_config),
        f"gke-sandbox:model.sealed.metadata.{key}",
        "does not match",
        expected,
    )


def test_sealed_metadata_missing_its_format_is_refused(dev_config):
    del dev_config["model"]["sealed"]["metadata"]["sealed-format"]
    error = config_error(dev_config)
    assert_names(
        error,
        "gke-sandbox:model.sealed.metadata.sealed-format",
        "is required",
        "tink-streaming-aead/v1",
    )


def test_sealed_metadata_unknown_key_is_refused(dev_config):
    dev_config["model"]["sealed"]["metadata"]["owner"] = "alice"
    assert_names(
        config_error(dev_config),
        "gke-sandbox:model.sealed.metadata.owner",
        "is not a known key",
        "encryption-key",
    )


@pytest.mark.parametrize(
    "key",
    [
        "sealed-format",
        "encryption-key",
        "plaintext-sha256",
        "plaintext-size",
        "sealed-for",
        "kms-key",
    ],
)
def test_every_metadata_key_the_harness_needs_is_required(dev_config, key):
    del dev_config["model"]["sealed"]["metadata"][key]
    assert_names(
        config_error(dev_config), f"gke-sandbox:model.sealed.metadata.{key}", "is required", ""
    )


@pytest.mark.parametrize("key", ["kms-key-version", "sealed-at"])
def test_optional_metadata_may_be_left_out(dev_config, key):
    dev_config["model"]["sealed"]["metadata"].pop(key, None)
    sealed = parse(dev_config).model.sealed
    assert key not in sealed.metadata_map
    assert sealed.metadata_map["sealed-format"] == "gke-sandbox/tink-streaming-aead/v1"


def test_another_sealed_format_is_refused(dev_config):
    dev_config["model"]["sealed"]["metadata"]["sealed-format"] = (
        "gke-sandbox/tink-streaming-aead/v2"
    )
    assert_names(
        config_error(dev_config),
        "gke-sandbox:model.sealed.metadata.sealed-format",
        "is malformed",
        "gke-sandbox/tink-streaming-aead/v1",
    )


# --------------------------------------------------------------------------- names and places
def test_cluster_name_of_40_characters_is_accepted(dev_config):
    dev_config["cluster"]["name"] = "s" + "a" * 38 + "x"
    assert parse(dev_config).cluster.name == "s" + "a" * 38 + "x"


@pytest.mark.parametrize(
    "name",
    ["s" + "a" * 39 + "x", "1sandbox", "sandbox-", "Sandbox"],
    ids=["41-characters", "leading-digit", "trailing-hyphen", "uppercase"],
)
def test_cluster_name_gke_would_refuse(dev_config, name):
    dev_config["cluster"]["name"] = name
    assert_names(
        config_error(dev_config),
        "gke-sandbox:cluster.name",
        "is malformed",
        "at most 40 characters",
    )


def test_cluster_access_name_follows_the_same_rule():
    raw = stack_config("workload")
    raw["workload"]["clusterAccess"] = {
        "endpoint": "203.0.113.10",
        "caCertificate": "TUlJQg==",
        "clusterName": "c" * 41,
    }
    assert_names(
        config_error(raw),
        "gke-sandbox:workload.clusterAccess.clusterName",
        "is malformed",
        "at most 40 characters",
    )


@pytest.mark.parametrize(
    ("region", "location"),
    [
        ("europe-west10", "europe-west10"),
        ("europe-west10", "europe-west10-a"),
        ("northamerica-northeast2", "northamerica-northeast2-b"),
        ("me-central2", "me-central2-a"),
    ],
)
def test_real_regions_with_two_digit_numbers_are_accepted(dev_config, region, location):
    dev_config["cluster"]["region"] = region
    dev_config["cluster"]["location"] = location
    # The Gatekeeper mirror lives in the cluster's region (issue 10): the image moves with it.
    image = dev_config["sandbox"]["gatekeeper"]["image"].replace("us-central1", region)
    dev_config["sandbox"]["gatekeeper"]["image"] = image
    dev_config["cluster"]["binauthzAllowlist"] = [image]
    cluster = parse(dev_config).cluster
    assert (cluster.region, cluster.location) == (region, location)


def test_harness_repository_in_europe_west10_is_accepted(dev_config):
    image = dev_config["harness"]["image"].replace("us-central1-docker", "europe-west10-docker")
    dev_config["harness"]["location"] = "europe-west10"
    dev_config["harness"]["image"] = image
    dev_config["sandbox"]["allowedRepositories"] = [
        "europe-west10-docker.pkg.dev/b-demo-harness/repo1/"
    ]
    config = parse(dev_config)
    assert config.harness.repository_url == "europe-west10-docker.pkg.dev/b-demo-harness/repo1"


def test_zone_of_a_region_with_a_longer_number_is_not_in_the_shorter_one(dev_config):
    """`europe-west10-a` starts with `europe-west1` but is not in it."""
    dev_config["cluster"]["region"] = "europe-west1"
    dev_config["cluster"]["location"] = "europe-west10-a"
    assert_names(
        config_error(dev_config),
        "gke-sandbox:cluster.location",
        "is not in the region",
        "europe-west1",
    )


@pytest.mark.parametrize("region", ["europe-west", "us-central-1", "europe_west1"])
def test_malformed_region(dev_config, region):
    dev_config["cluster"]["region"] = region
    assert_names(
        config_error(dev_config), "gke-sandbox:cluster.region", "is malformed", "us-central1"
    )


def test_allowed_repository_must_end_in_a_slash(dev_config):
    dev_config["sandbox"]["allowedRepositories"] = [
        "us-central1-docker.pkg.dev/b-demo-harness/repo1"
    ]
    assert_names(
        config_error(dev_config),
        "gke-sandbox:sandbox.allowedRepositories[0]",
        "is malformed",
        "an image prefix ending in /",
    )


@pytest.mark.parametrize("part", ["everything", None])
def test_unknown_part(dev_config, part):
    dev_config["part"] = part
    error = config_error(dev_config)
    assert_names(error, "gke-sandbox:part", "is not a known part", "all, model, harness")


# --------------------------------------------------------------------------- surfaces
def test_program_turns_a_config_error_into_one_run_error(dev_config, run_stack):
    dev_config["cluster"]["machineType"] = "e2-standard-4"
    with pytest.raises(pulumi.RunError) as caught:
        run_stack(dev_config)
    message = str(caught.value)
    assert message.startswith("config gke-sandbox:cluster.machineType: "), message
    assert "expected an AMD SEV machine type" in message, message


def test_plan_cli_prints_one_error_line_and_exits_2(tmp_path: Path):
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    document["config"]["gke-sandbox:cluster"]["billingAccount"] = "not-a-billing-account"
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(document))
    result = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "infra",
            "plan",
            "--project-dir",
            str(tmp_path),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert "gke-sandbox:cluster.billingAccount" in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert not (tmp_path / "build" / "plan" / "dev.json").exists(), (
        "gke-sandbox:cluster.billingAccount"
    )


def test_workload_stack_needs_the_ssl_policy_name():
    """Without it Bob's load balancer would keep GCLB's TLS 1.0 default (issue 10)."""
    raw = stack_config("workload")
    del raw["workload"]["sslPolicy"]
    error = config_error(raw)
    assert_names(
        error,
        "gke-sandbox:workload.sslPolicy",
        "is required",
        "the SSL policy Alice created (cluster stack output sslPolicy)",
    )
