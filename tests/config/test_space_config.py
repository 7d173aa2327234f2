"""The `space` part's config: read once into SpaceConfig, unknown keys and unsafe values refused
with the key named; the all-in-one `dev` stack does not run the Confidential Space path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.config import ConfidentialType, Part, parse
from infra.errors import ConfigError
from tests.conftest import stack_config


@pytest.fixture
def space_config() -> dict[str, Any]:
    return copy.deepcopy(stack_config("space"))


def error_of(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(raw)
    return str(caught.value)


def test_the_shipped_space_stack_parses(space_config):
    config = parse(space_config)
    assert config.part is Part.SPACE
    assert config.space is not None and config.model is not None
    assert config.space.digest == (
        "sha256:79bd5f912186c23fbd086440a18b4ea73aab1a52f0dc873dd2c22aab92b9e315"
    )
    assert config.space.confidential_type is ConfidentialType.SEV
    assert config.space.region == "us-central1"
    assert (
        config.space.service_account_email == "space-harness@a-demo-space.iam.gserviceaccount.com"
    )
    assert config.runs(Part.SPACE) and not config.runs(Part.CLUSTER)


def test_all_does_not_run_the_space_part():
    config = parse(stack_config("dev"))
    assert config.runs(Part.CLUSTER) and not config.runs(Part.SPACE)


def test_the_dev_stack_may_not_carry_a_space_block(space_config):
    dev = stack_config("dev")
    dev["space"] = space_config["space"]
    assert error_of(dev).startswith("config gke-sandbox:space: is not used by part all")


def test_an_unknown_key_is_refused(space_config):
    space_config["space"]["machinetype"] = "n2d-standard-4"
    assert error_of(space_config).startswith(
        "config gke-sandbox:space.machinetype: is not a known key"
    )


def test_an_image_by_tag_is_refused(space_config):
    space_config["space"]["image"] = "us-central1-docker.pkg.dev/b-demo-harness/repo1/harness:v1"
    assert error_of(space_config).startswith(
        "config gke-sandbox:space.image: is given by tag, not by digest"
    )


def test_a_machine_type_that_cannot_run_the_tee_is_refused(space_config):
    space_config["space"]["confidentialType"] = "TDX"
    message = error_of(space_config)
    assert message.startswith("config gke-sandbox:space.machineType: cannot run TDX"), message
    assert "a c3 machine type for TDX" in message, message


def test_an_unknown_tee_is_refused(space_config):
    space_config["space"]["confidentialType"] = "SEV_ES"
    assert error_of(space_config).startswith(
        "config gke-sandbox:space.confidentialType: is not a known value"
    )


def test_a_reserved_pool_id_is_refused(space_config):
    space_config["space"]["pool"] = "gcp-pool"
    assert error_of(space_config).startswith("config gke-sandbox:space.pool: is malformed")


def test_the_space_part_needs_the_model_block(space_config):
    del space_config["model"]
    assert error_of(space_config).startswith("config gke-sandbox:model: is required for part space")
