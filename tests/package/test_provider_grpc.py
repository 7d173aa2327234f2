"""The package provider, driven over gRPC the way the engine drives it, without the CLI.

The provider runs as its own process (`python -m components <engine>`, what PulumiPlugin.yaml
launches) and prints its port; this test is the engine: it serves a resource monitor and an
engine log endpoint, asks `GetSchema`, then `Construct`s a ConfidentialCluster and records
what the component registers with the monitor. The monitor echoes inputs as outputs (mocks).
"""

import json
import os
import subprocess
import sys
import threading
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import (
    engine_pb2_grpc,
    provider_pb2,
    provider_pb2_grpc,
    resource_pb2,
    resource_pb2_grpc,
)

ROOT = Path(__file__).resolve().parents[2]
STACK, PROJECT = "dev", "consumer"
SERVICE_URN = f"urn:pulumi:{STACK}::{PROJECT}::gcp:projects/service:Service::container-api"
# How the engine's wire format marks a secret value (sdk/go/common/resource/properties.go).
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
HARNESS = {
    "namespace": "ns1",
    "serviceAccount": "tee-sa",
    "image": "us-central1-docker.pkg.dev/b-demo-harness/harness/harness@sha256:" + "79" * 32,
    "host": "llama.example.com",
    "modelUri": "gs://a-demo-model-sealed/sentiment-model.tar.sealed",
    "kmsKeyUri": "gcp-kms://projects/a/locations/us-central1/keyRings/r/cryptoKeys/k",
    "sslPolicy": "sandbox-tls",
}


class Monitor(resource_pb2_grpc.ResourceMonitorServicer):
    """Records every registration; custom resources get an id, inputs come back as outputs."""

    def __init__(self) -> None:
        self.registered: dict[str, resource_pb2.RegisterResourceRequest] = {}
        self.outputs: dict[str, dict] = {}
        self.lock = threading.Lock()

    def urn(self, request: resource_pb2.RegisterResourceRequest) -> str:
        qualified = request.type
        if request.parent:
            qualified = request.parent.split("::")[2].split("$")[-1] + "$" + request.type
        return f"urn:pulumi:{STACK}::{PROJECT}::{qualified}::{request.name}"

    def RegisterResource(self, request, context):
        urn = self.urn(request)
        with self.lock:
            self.registered[urn] = request
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=f"{request.name}-id" if request.custom else "", object=request.object
        )

    def RegisterResourceOutputs(self, request, context):
        with self.lock:
            self.outputs[request.urn] = json.loads(
                json.dumps(dict(request.outputs.items()), default=str)
            )
        return empty_pb2.Empty()

    def SupportsFeature(self, request, context):
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id != "outputValues")

    def GetDeploymentInfo(self, request, context):
        return resource_pb2.DeploymentInfo(
            supportedFeatures=[
                resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS,
                resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES,
                resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS,
            ]
        )


class Engine(engine_pb2_grpc.EngineServicer):
    def __init__(self) -> None:
        self.messages: list[str] = []

    def Log(self, request, context):
        self.messages.append(request.message)
        return empty_pb2.Empty()


@pytest.fixture(scope="module")
def engine():
    """The engine's side: monitor + log endpoint, and the provider process it launched."""
    monitor, log = Monitor(), Engine()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(monitor, server)
    engine_pb2_grpc.add_EngineServicer_to_server(log, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    address = f"127.0.0.1:{port}"
    plugin = subprocess.Popen(  # the plugin as PulumiPlugin.yaml runs it: by path, from the root
        [sys.executable, str(ROOT / "components"), address],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": ""},
    )
    try:
        line = plugin.stdout.readline().decode().strip()
        assert line.isdigit(), (
            f"provider printed {line!r}; stderr: {plugin.stderr.read1().decode()}"
        )
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        yield provider_pb2_grpc.ResourceProviderStub(channel), monitor, address, log
        channel.close()
    finally:
        plugin.terminate()
        plugin.wait(timeout=10)
        server.stop(None)


def struct(value: dict) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


def plain(value):
    """A protobuf Struct/ListValue as plain dicts and lists."""
    return json.loads(json_format.MessageToJson(value))


def construct(engine, type_name: str, name: str, inputs: dict) -> tuple[str, dict, dict]:
    """Construct `gke-sandbox:index:<type_name>`; its URN, state (each output with the URNs it
    depends on, under `output + "Deps"`) and children by name."""
    provider, monitor, address, _ = engine
    response = provider.Construct(
        provider_pb2.ConstructRequest(
            project=PROJECT,
            stack=STACK,
            monitorEndpoint=address,
            type=f"gke-sandbox:index:{type_name}",
            name=name,
            inputs=struct(inputs),
        ),
        timeout=120,
    )
    children = {
        request.name: request
        for request in monitor.registered.values()
        if request.parent == response.urn
    }
    state = plain(response.state)
    for output, deps in response.stateDependencies.items():
        state[f"{output}Deps"] = set(deps.urns)
    return response.urn, state, children


def test_get_schema_answers_the_committed_schema(engine):
    provider, *_ = engine
    answer = provider.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60)
    committed = json.loads((ROOT / "components" / "schema.json").read_text())
    assert json.loads(answer.schema) == committed


def test_construct_builds_the_cluster_and_its_children(engine):
    provider, monitor, address, _ = engine
    inputs = {
        "projectId": "ab-demo-cluster",
        "region": "us-central1",
        "location": "us-central1-a",
        "clusterName": "sandbox",
        "nodeCount": 3,
        "authorizedNetworks": [{"displayName": "office", "cidrBlock": "198.51.100.0/24"}],
    }
    response = provider.Construct(
        provider_pb2.ConstructRequest(
            project=PROJECT,
            stack=STACK,
            monitorEndpoint=address,
            type="gke-sandbox:index:ConfidentialCluster",
            name="cluster",
            inputs=struct(inputs),
            dependencies=[SERVICE_URN],
        ),
        timeout=120,
    )
    component = f"urn:pulumi:{STACK}::{PROJECT}::gke-sandbox:index:ConfidentialCluster::cluster"
    assert response.urn == component
    # The component's state is its schema outputs; the name comes back from the (echoing) mock.
    assert response.state["clusterName"] == "sandbox"
    assert response.state["workloadPool"] == "ab-demo-cluster.svc.id.goog"

    children = {
        urn: request for urn, request in monitor.registered.items() if request.parent == component
    }
    types = {request.type for request in children.values()}
    assert {
        "gcp:compute/network:Network",
        "gcp:compute/subnetwork:Subnetwork",
        "gcp:serviceaccount/account:Account",
        "gcp:container/cluster:Cluster",
        "gcp:container/nodePool:NodePool",
        "gcp:compute/firewall:Firewall",
    } <= types
    by_name = {request.name: request for request in children.values()}
    # Defaults applied in the component, given values as given (nodeCount arrives as a number).
    pool = by_name["cluster-pool"].object
    assert pool["nodeCount"] == 3
    assert pool["nodeConfig"]["machineType"].startswith("n2d-")
    assert pool["nodeConfig"]["confidentialNodes"]["enabled"] is True
    nets = by_name["cluster-cluster"].object["masterAuthorizedNetworksConfig"]["cidrBlocks"]
    assert [dict(n) for n in nets] == [{"displayName": "office", "cidrBlock": "198.51.100.0/24"}]
    # The engine's dependsOn reached the children that call the APIs first.
    for role in ("cluster-network", "cluster-node-sa", "cluster-cluster"):
        assert SERVICE_URN in by_name[role].dependencies, role
    assert component in monitor.outputs


def test_construct_refuses_a_missing_required_input(engine):
    provider, _, address, _ = engine
    with pytest.raises(grpc.RpcError) as raised:
        provider.Construct(
            provider_pb2.ConstructRequest(
                project=PROJECT,
                stack=STACK,
                monitorEndpoint=address,
                type="gke-sandbox:index:TenantIam",
                name="tenant",
                inputs=struct({"projectId": "p", "tenant": "bob"}),
            ),
            timeout=60,
        )
    error = raised.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    # The reason travels in the rich status (InputPropertiesError), as the engine reads it.
    details = dict(error.trailing_metadata() or ())["grpc-status-details-bin"]
    assert b"Missing required input 'members' on 'TenantIam'" in details


def test_construct_returns_the_harness_token_as_a_secret(engine):
    urn, state, children = construct(
        engine,
        "HarnessWorkload",
        "harness",
        {
            **HARNESS,
            "token": "bearer-from-bob",  # given in the clear: the answer must still hide it
            "autoscaling": {"minReplicas": 2, "maxReplicas": 4},
            "disruptionBudget": {"minAvailable": 1},
            "zoneSpread": {"enabled": False},
        },
    )
    assert urn == f"urn:pulumi:{STACK}::{PROJECT}::gke-sandbox:index:HarnessWorkload::harness"
    assert state["token"] == {**SECRET_SIG, "value": "bearer-from-bob"}
    assert state["url"] == "https://llama.example.com"
    assert sorted(children) == [
        "harness-autoscaler",
        "harness-deployment",
        "harness-disruption-budget",
        "harness-frontend",
        "harness-ingress",
        "harness-service",
        "harness-tls",
        "harness-tls-cert",
        "harness-tls-key",
        "harness-token",
    ]
    # The Kubernetes Secret's data is secret as a whole (the kubernetes SDK marks stringData).
    secret = plain(children["harness-token"].object)
    assert secret["stringData"] == {**SECRET_SIG, "value": {"token": "bearer-from-bob"}}
    # The values another language cannot say with null arrive as values and mean the same.
    budget = plain(children["harness-disruption-budget"].object)["spec"]
    assert (budget.get("minAvailable"), budget.get("maxUnavailable")) == (1, None)
    deployment = plain(children["harness-deployment"].object)["spec"]
    assert "replicas" not in deployment  # the HPA owns the count
    assert "topologySpreadConstraints" not in deployment["template"]["spec"]


def test_construct_takes_the_zone_spread_enum_by_value(engine):
    _, _, children = construct(
        engine,
        "HarnessWorkload",
        "strict",
        {**HARNESS, "zoneSpread": {"maxSkew": 2, "whenUnsatisfiable": "DoNotSchedule"}},
    )
    assert "strict-token-value" in children  # no token given: one is generated
    pod = plain(children["strict-deployment"].object)["spec"]["template"]["spec"]
    (spread,) = pod["topologySpreadConstraints"]
    assert (spread["maxSkew"], spread["whenUnsatisfiable"]) == (2, "DoNotSchedule")
    budget = plain(children["strict-disruption-budget"].object)["spec"]
    assert budget["maxUnavailable"] == 1


def test_construct_applies_raw_gatekeeper_documents_as_given(engine):
    template = {
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {"name": "k8sdenyall"},
        "spec": {
            "crd": {"spec": {"names": {"kind": "K8sDenyAll"}}},
            "targets": [{"target": "admission.k8s.gatekeeper.sh", "rego": "package deny"}],
        },
    }
    constraint = {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": "K8sDenyAll",
        "metadata": {"name": "deny-ns1"},
        "spec": {"match": {"namespaces": ["ns1"]}, "parameters": {"limit": 3}},
    }
    urn, state, children = construct(
        engine,
        "Gatekeeper",
        "gatekeeper",
        {
            "version": "v3.20.1",
            "image": "us-central1-docker.pkg.dev/c/mirror/gatekeeper@sha256:" + "4e" * 32,
            "templates": [template],
            "constraints": [constraint],
        },
    )
    assert urn == f"urn:pulumi:{STACK}::{PROJECT}::gke-sandbox:index:Gatekeeper::gatekeeper"
    assert state["namespaceName"] == "gatekeeper-system"
    assert state["templateNames"] == ["k8sdenyall"]
    assert state["constraintNames"] == ["deny-ns1"]
    # Whatever reads the names waits for the rules themselves.
    rule = f"urn:pulumi:{STACK}::{PROJECT}::gke-sandbox:index:Gatekeeper$kubernetes:"
    assert state["constraintNamesDeps"] == {
        f"{rule}constraints.gatekeeper.sh/v1beta1:K8sDenyAll::gatekeeper-constraint-deny-ns1"
    }
    assert state["templateNamesDeps"] == {
        f"{rule}templates.gatekeeper.sh/v1:ConstraintTemplate::gatekeeper-template-k8sdenyall"
    }
    assert {"gatekeeper-namespace", "gatekeeper-chart", "gatekeeper-ignore-kube-system"} <= set(
        children
    )
    applied = plain(children["gatekeeper-constraint-deny-ns1"].object)
    assert applied["kind"] == "K8sDenyAll"
    assert applied["spec"] == constraint["spec"]
    assert plain(children["gatekeeper-template-k8sdenyall"].object)["spec"] == template["spec"]
