"""The plan records what the engine's RegisterResource request says a resource waits for
(`dependencies`) and whether it is protected (`protect`), sorted so plans diff cleanly."""

from __future__ import annotations

import json

import jsonschema
import pulumi
import pytest

from infra.plan import SCHEMA_PATH
from infra.plan.capture import CapturedStack, run_program
from infra.plan.mocks import CloudMocks
from infra.plan.writer import plan_document
from tests.conftest import engine_form, stack_config

URN = "urn:pulumi:deps::gke-sandbox::"
# Pulumi's mock monitor puts the parent's type in a URN, so a top-level resource's carries
# the Stack's (the real engine leaves it out); the plan records URNs exactly as registered.
TOP = URN + "pulumi:pulumi:Stack$"


class Thing(pulumi.CustomResource):
    def __init__(self, name: str, props: dict | None = None, opts=None) -> None:
        super().__init__("test:index:Thing", name, props or {}, opts)


class Box(pulumi.ComponentResource):
    """A component with two custom children, as the program's components are built."""

    def __init__(self, name: str, opts=None) -> None:
        super().__init__("test:index:Box", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.first = Thing(f"{name}-first", opts=child)
        self.second = Thing(f"{name}-second", opts=child)
        self.register_outputs({})


def small_program() -> None:
    base = Thing("base")
    other = Thing("other")
    Thing("after", opts=pulumi.ResourceOptions(depends_on=[other, base]))
    Thing("uses", {"baseId": base.id})
    Thing("kept", opts=pulumi.ResourceOptions(protect=True))
    box = Box("box")
    Thing("after-box", opts=pulumi.ResourceOptions(depends_on=[box]))


@pytest.fixture(scope="module")
def small() -> dict[str, dict]:
    captured = run_program(small_program, stack="deps", mocks=CloudMocks())
    return {r["name"]: r for r in plan_document("deps", "all", captured)["resources"]}


def test_depends_on_is_listed_sorted(small):
    assert small["after"]["dependencies"] == [
        TOP + "test:index:Thing::base",
        TOP + "test:index:Thing::other",
    ]


def test_an_input_that_uses_another_resources_output_depends_on_it(small):
    assert small["uses"]["dependencies"] == [TOP + "test:index:Thing::base"]


def test_a_dependency_on_a_component_waits_for_its_children(small):
    assert small["after-box"]["dependencies"] == [
        URN + "test:index:Box$test:index:Thing::box-first",
        URN + "test:index:Box$test:index:Thing::box-second",
    ]


def test_protect_is_recorded(small):
    assert small["kept"]["protect"] is True
    assert small["base"]["protect"] is False
    assert small["base"]["dependencies"] == []


def test_children_inherit_protect_from_their_parent():
    def program() -> None:
        Box("locked", opts=pulumi.ResourceOptions(protect=True))

    captured = run_program(program, stack="deps", mocks=CloudMocks())
    protect = {r.name: r.protect for r in captured.resources}
    assert protect["locked-first"] is True and protect["locked-second"] is True


# --------------------------------------------------------------------------- the real program
@pytest.fixture(scope="module")
def dev_plan() -> dict:
    from infra.program import main

    captured: CapturedStack = run_program(
        main, stack="dev", config=engine_form(stack_config("dev")), mocks=CloudMocks()
    )
    return plan_document("dev", "all", captured)


def test_dev_plan_validates_against_the_plan_schema(dev_plan):
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(dev_plan)
    assert all(r["dependencies"] == sorted(r["dependencies"]) for r in dev_plan["resources"])


def test_the_gke_cluster_waits_for_the_container_api(dev_plan):
    cluster = next(r for r in dev_plan["resources"] if r["type"] == "gcp:container/cluster:Cluster")
    assert (
        "urn:pulumi:dev::gke-sandbox::gke-sandbox:sandbox_project:SandboxProject"
        "$gcp:projects/service:Service::project-container"
    ) in cluster["dependencies"]
    assert cluster["protect"] is False


def test_the_model_key_is_protected(dev_plan):
    protected = sorted(r["urn"] for r in dev_plan["resources"] if r["protect"])
    assert protected == [
        "urn:pulumi:dev::gke-sandbox::gke-sandbox:image_attestor:ImageAttestor"
        "$gcp:kms/cryptoKey:CryptoKey::attestor-signing-key",
        "urn:pulumi:dev::gke-sandbox::gke-sandbox:model_vault:ModelVault"
        "$gcp:kms/cryptoKey:CryptoKey::model-key",
        "urn:pulumi:dev::gke-sandbox::gke-sandbox:model_vault:ModelVault"
        "$gcp:kms/keyRing:KeyRing::model-key-ring",
        # the sealed model's only copy (issue 14, model-data-durable)
        "urn:pulumi:dev::gke-sandbox::gke-sandbox:model_vault:ModelVault"
        "$gcp:storage/bucket:Bucket::model-bucket",
    ]
