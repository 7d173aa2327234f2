"""The committed component package schema is the one the code defines, and it is complete.

The schema is inferred by the analyzer in the pinned Pulumi SDK (what `pulumi package add`
and every language's generated SDK will see); these tests read it, not the classes.
"""

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from dataclasses import fields
from typing import get_type_hints

import pulumi
import pytest

import components
from components.package import COMPONENTS
from infra.schema import SCHEMA_FILE

# What each hosted component outputs, as its Python attributes and register_outputs say.
OUTPUTS = {
    "BinAuthzPolicy": {"policyId"},
    "ConfidentialCluster": {
        "clusterName",
        "endpoint",
        "dnsEndpoint",
        "caCertificate",
        "nodeServiceAccount",
        "workloadPool",
    },
    "ConfidentialFolder": {"folderName", "folderId"},
    "ConfidentialSpaceWorkload": {
        "serviceAccountEmail",
        "principalSet",
        "providerName",
        "address",
        "url",
        "token",
    },
    "Gatekeeper": {"namespaceName", "ignoredNamespaces", "templateNames", "constraintNames"},
    "HarnessRegistry": {"repositoryId", "repositoryUrl"},
    "HarnessWorkload": {"url", "token", "certificate"},
    "ImageAttestor": {"attestorId", "noteId", "signingKeyVersion"},
    "ImageMirror": {"repositoryUrl"},
    "IngressAddress": {"address", "addressName"},
    "ModelVault": {"keyId", "keyUri", "keyRingId", "bucketName", "modelUri"},
    "ProjectServices": {"enabledApis"},
    "SandboxProject": {"projectId", "projectNumber"},
    "ServicePerimeter": {"perimeterName"},
    "TenantIam": {"members"},
    "TenantSandbox": {"namespaceName", "workloadServiceAccount", "subjects"},
    "TlsPolicy": {"policyName"},
    "WorkloadIdentity": {"email", "member", "kubernetesMember"},
}


def committed() -> dict:
    return json.loads(SCHEMA_FILE.read_text())


def camel_case(name: str) -> str:
    """`kms_key_id` -> `kmsKeyId`, as the analyzer names schema properties."""
    first, *rest = name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def check(*extra: str) -> subprocess.CompletedProcess[str]:
    # In a process of its own: pulumi.provider cannot load beside googleapis-common-protos.
    return subprocess.run(
        [sys.executable, "-m", "infra", "schema", "--check", *extra],
        cwd=SCHEMA_FILE.parents[1],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_committed_schema_matches_the_code():
    result = check()
    assert result.returncode == 0, result.stderr


def test_a_stale_schema_fails_the_check(tmp_path):
    stale = json.loads(SCHEMA_FILE.read_text())
    del stale["resources"]["gke-sandbox:index:ModelVault"]["properties"]["keyUri"]
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(stale, indent=2, sort_keys=True) + "\n")
    result = check("--output", str(path))
    assert result.returncode == 1
    assert "is stale: run `python -m infra schema` and commit it" in result.stderr


def test_every_component_class_is_hosted():
    found = set()
    for module in pkgutil.iter_modules(components.__path__):
        if module.name.startswith("_") or module.name == "package":
            continue
        loaded = importlib.import_module(f"components.{module.name}")
        found |= {
            name
            for name, cls in inspect.getmembers(loaded, inspect.isclass)
            if issubclass(cls, pulumi.ComponentResource) and cls.__module__ == loaded.__name__
        }
    assert found == {c.__name__ for c in COMPONENTS}


def test_each_component_is_a_resource_under_the_package_index_token():
    resources = committed()["resources"]
    assert set(resources) == {f"gke-sandbox:index:{name}" for name in OUTPUTS}
    assert committed()["name"] == "gke-sandbox"
    for token, resource in resources.items():
        assert resource["isComponent"] is True, token
        assert resource.get("description"), f"{token} has no description"


def _is_typed(prop: dict) -> bool:
    return "type" in prop or "$ref" in prop


def test_every_input_is_in_the_schema_typed_and_described():
    resources = committed()["resources"]
    for component in COMPONENTS:
        args_type = get_type_hints(component.__init__)["args"]
        resource = resources[f"gke-sandbox:index:{component.__name__}"]
        expected = {camel_case(f.name) for f in fields(args_type)}
        assert set(resource["inputProperties"]) == expected, component.__name__
        for name, prop in resource["inputProperties"].items():
            assert _is_typed(prop), f"{component.__name__}.{name} has no type"
            assert prop.get("description"), f"{component.__name__}.{name} has no description"


def test_only_fields_without_a_default_are_required():
    resources = committed()["resources"]
    for component in COMPONENTS:
        args_type = get_type_hints(component.__init__)["args"]
        resource = resources[f"gke-sandbox:index:{component.__name__}"]
        without_default = {
            camel_case(f.name)
            for f in fields(args_type)
            if f.default is f.default_factory  # both MISSING: the caller must give it
        }
        assert set(resource.get("requiredInputs", [])) == without_default, component.__name__


def test_every_output_is_in_the_schema_typed_and_described():
    resources = committed()["resources"]
    for name, outputs in OUTPUTS.items():
        resource = resources[f"gke-sandbox:index:{name}"]
        assert set(resource["properties"]) == outputs, name
        for output, prop in resource["properties"].items():
            assert _is_typed(prop), f"{name}.{output} has no type"
            assert prop.get("description"), f"{name}.{output} has no description"


def test_secret_outputs_are_marked_secret_and_only_those():
    resources = committed()["resources"]
    harness = resources["gke-sandbox:index:HarnessWorkload"]["properties"]
    assert harness["token"].get("secret") is True
    marked = {
        (token, name)
        for token, resource in resources.items()
        for name, prop in resource["properties"].items()
        if prop.get("secret")
    }
    assert marked == {
        ("gke-sandbox:index:HarnessWorkload", "token"),
        ("gke-sandbox:index:ConfidentialSpaceWorkload", "token"),
    }


def test_secret_inputs_are_marked_secret_and_only_those():
    """The bearer token and the TLS private key stay secret whatever the caller passed."""
    resources = committed()["resources"]
    marked = {
        (token, name)
        for token, resource in resources.items()
        for name, prop in resource["inputProperties"].items()
        if prop.get("secret")
    }
    assert marked == {
        ("gke-sandbox:index:HarnessWorkload", "token"),
        ("gke-sandbox:index:HarnessWorkload", "tlsPrivateKey"),
    }


def test_nested_types_are_objects_with_described_properties():
    types = committed()["types"]
    objects = {token for token, typ in types.items() if "enum" not in typ}
    assert objects == {
        "gke-sandbox:index:AttestorRef",
        "gke-sandbox:index:AuthorizedNetwork",
        "gke-sandbox:index:Autoscaling",
        "gke-sandbox:index:DenyPolicySpec",
        "gke-sandbox:index:DisruptionBudget",
        "gke-sandbox:index:HarnessSizing",
        "gke-sandbox:index:SealedModel",
        "gke-sandbox:index:TenantQuota",
        "gke-sandbox:index:ZoneSpread",
    }
    for token in objects:
        typ = types[token]
        assert typ["type"] == "object", token
        assert typ.get("description"), f"{token} has no description"
        for name, prop in typ["properties"].items():
            assert _is_typed(prop), f"{token}.{name} has no type"
            assert prop.get("description"), f"{token}.{name} has no description"


def test_enums_list_their_values_with_descriptions():
    types = committed()["types"]
    enums = {token: typ for token, typ in types.items() if "enum" in typ}
    assert set(enums) == {"gke-sandbox:index:WhenUnsatisfiable"}
    spread = enums["gke-sandbox:index:WhenUnsatisfiable"]
    assert spread["type"] == "string"
    assert {v["value"] for v in spread["enum"]} == {"ScheduleAnyway", "DoNotSchedule"}
    for value in spread["enum"]:
        assert value.get("description"), value
    zone = types["gke-sandbox:index:ZoneSpread"]["properties"]
    assert zone["whenUnsatisfiable"]["$ref"] == "#/types/gke-sandbox:index:WhenUnsatisfiable"


def test_a_default_stays_optional_and_a_value_is_typed_as_the_code_takes_it():
    cluster = committed()["resources"]["gke-sandbox:index:ConfidentialCluster"]
    inputs = cluster["inputProperties"]
    assert inputs["nodeCount"]["type"] == "integer"
    assert inputs["projectId"]["type"] == "string"
    # An Input may be another resource's output; a plain field must be known at construction.
    assert "plain" not in inputs["projectId"]
    assert inputs["machineType"]["plain"] is True
    assert (
        inputs["authorizedNetworks"]["items"]["$ref"]
        == "#/types/gke-sandbox:index:AuthorizedNetwork"
    )
    assert "machineType" not in cluster["requiredInputs"]
    vault = committed()["resources"]["gke-sandbox:index:ModelVault"]["inputProperties"]
    assert vault["sealedModel"]["$ref"] == "#/types/gke-sandbox:index:SealedModel"
    assert vault["protectKey"]["type"] == "boolean"


def test_raw_kubernetes_documents_are_lists_of_free_form_objects():
    """Gatekeeper's templates and constraints: any JSON object each, passed on as given."""
    inputs = committed()["resources"]["gke-sandbox:index:Gatekeeper"]["inputProperties"]
    for name in ("templates", "constraints"):
        assert inputs[name]["type"] == "array", name
        items = inputs[name]["items"]
        assert items["type"] == "object", name
        assert items["additionalProperties"]["$ref"] == "pulumi.json#/Any", name


@pytest.mark.parametrize(
    ("decorator", "message"),
    [
        ("secret_outputs", "HarnessWorkload: no output annotation for tokn"),
        ("secret_inputs", "HarnessWorkload: its args have no field tokn"),
    ],
)
def test_a_misspelt_secret_name_fails_at_import(decorator, message):
    import components._common as common
    from components.harness_workload import HarnessWorkload

    with pytest.raises(TypeError) as caught:
        getattr(common, decorator)("tokn")(HarnessWorkload)
    assert str(caught.value) == message
