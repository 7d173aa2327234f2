"""ConfidentialCluster: the settings the sandbox's promise rests on are fixed, not options."""

from __future__ import annotations

import base64
from typing import Any

import pulumi
import pytest

from components.confidential_cluster import (
    AuthorizedNetwork,
    ConfidentialCluster,
    ConfidentialClusterArgs,
    check_args,
    cluster_settings,
    node_config,
)
from infra.plan.mocks import MOCK_CA_PEM, MOCK_ENDPOINT

COMPONENT = "gke-sandbox:confidential_cluster:ConfidentialCluster"
CLUSTER = "gcp:container/cluster:Cluster"
POOL = "gcp:container/nodePool:NodePool"
ACCOUNT = "gcp:serviceaccount/account:Account"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
NETWORK = "gcp:compute/network:Network"
NODE_EMAIL = "gke-node@ab-demo-cluster.iam.gserviceaccount.com"


def cluster_args(**overrides: Any) -> ConfidentialClusterArgs:
    base: dict[str, Any] = {
        "project_id": "ab-demo-cluster",
        "region": "us-central1",
        "location": "us-central1-a",
        "cluster_name": "sandbox",
        "authorized_networks": [AuthorizedNetwork("alice-office", "198.51.100.0/24")],
    }
    return ConfidentialClusterArgs(**{**base, **overrides})


def secure_node_config(owner: Any, node_config: dict[str, Any]) -> None:
    """What every node (default pool and managed pool) must run with."""
    assert node_config["confidentialNodes"] == {"enabled": True}, owner.urn
    assert node_config["shieldedInstanceConfig"] == {
        "enableSecureBoot": True,
        "enableIntegrityMonitoring": True,
    }, owner.urn
    assert node_config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}, owner.urn
    assert node_config["serviceAccount"] == NODE_EMAIL, owner.urn
    assert node_config["machineType"].startswith(("n2d-", "c2d-", "c3d-")), owner.urn
    assert node_config["metadata"]["disable-legacy-endpoints"] == "true", owner.urn


def test_cluster_is_confidential_shielded_and_enforcing(run):
    plan = run(lambda: ConfidentialCluster("cluster", cluster_args()))
    cluster = plan.one(CLUSTER)
    inputs = cluster.inputs
    assert inputs["confidentialNodes"] == {"enabled": True}, cluster.urn
    assert inputs["enableShieldedNodes"] is True, cluster.urn
    assert inputs["workloadIdentityConfig"] == {"workloadPool": "ab-demo-cluster.svc.id.goog"}, (
        cluster.urn
    )
    assert inputs["binaryAuthorization"] == {
        "evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"
    }, cluster.urn
    assert inputs["datapathProvider"] == "ADVANCED_DATAPATH", cluster.urn
    assert inputs["enableLegacyAbac"] is False, cluster.urn
    assert inputs["masterAuth"]["clientCertificateConfig"] == {"issueClientCertificate": False}, (
        cluster.urn
    )
    assert inputs["privateClusterConfig"]["enablePrivateNodes"] is True, cluster.urn
    assert inputs["enableKubernetesAlpha"] is False, cluster.urn
    assert inputs["removeDefaultNodePool"] is True, cluster.urn
    secure_node_config(cluster, inputs["nodeConfig"])


def test_node_pool_is_confidential_and_shielded(run):
    plan = run(lambda: ConfidentialCluster("cluster", cluster_args(node_count=3)))
    pool = plan.one(POOL)
    assert pool.inputs["cluster"] == "sandbox", pool.urn
    assert pool.inputs["location"] == "us-central1-a", pool.urn
    assert pool.inputs["nodeCount"] == 3, pool.urn
    assert pool.inputs["management"] == {"autoRepair": True, "autoUpgrade": True}, pool.urn
    secure_node_config(pool, pool.inputs["nodeConfig"])


def test_control_plane_is_reachable_only_from_listed_networks(run):
    plan = run(lambda: ConfidentialCluster("cluster", cluster_args()))
    cluster = plan.one(CLUSTER)
    assert cluster.inputs["masterAuthorizedNetworksConfig"] == {
        "gcpPublicCidrsAccessEnabled": False,
        "cidrBlocks": [{"displayName": "alice-office", "cidrBlock": "198.51.100.0/24"}],
    }, cluster.urn


def test_node_service_account_has_exactly_three_roles(run):
    plan = run(lambda: ConfidentialCluster("cluster", cluster_args()))
    account = plan.one(ACCOUNT)
    assert account.inputs["accountId"] == "gke-node", account.urn
    assert account.inputs["project"] == "ab-demo-cluster", account.urn
    grants = plan.of_type(PROJECT_MEMBER)
    assert sorted(g.inputs["role"] for g in grants) == [
        "roles/artifactregistry.reader",
        "roles/logging.logWriter",
        "roles/monitoring.metricWriter",
    ], [g.urn for g in grants]
    for grant in grants:
        assert grant.inputs["member"] == f"serviceAccount:{NODE_EMAIL}", grant.urn
        assert grant.inputs["project"] == "ab-demo-cluster", grant.urn


def test_nodes_are_private_with_google_access(run):
    plan = run(lambda: ConfidentialCluster("cluster", cluster_args()))
    network = plan.one(NETWORK)
    subnet = plan.one(SUBNET)
    assert network.inputs["autoCreateSubnetworks"] is False, network.urn
    assert subnet.inputs["privateIpGoogleAccess"] is True, subnet.urn
    assert subnet.inputs["region"] == "us-central1", subnet.urn
    assert sorted(r["rangeName"] for r in subnet.inputs["secondaryIpRanges"]) == [
        "pods",
        "services",
    ], subnet.urn


def test_cluster_waits_for_node_roles_and_given_dependencies(run, registrations):
    def program() -> None:
        from components.sandbox_project import SandboxProject, SandboxProjectArgs

        project = SandboxProject(
            "project", SandboxProjectArgs("ab-demo-cluster", "1", "018B55-7FDD84-7F175A")
        )
        ConfidentialCluster(
            "cluster", cluster_args(), pulumi.ResourceOptions(depends_on=project.services)
        )

    plan = run(program)
    cluster = plan.one(CLUSTER)
    needed = {g.urn for g in plan.of_type(PROJECT_MEMBER)} | {
        s.urn for s in plan.of_type("gcp:projects/service:Service")
    }
    missing = needed - registrations.dependencies[cluster.urn]
    assert not missing, f"{cluster.urn} does not wait for {sorted(missing)}"


def test_registered_outputs_give_coordinates_and_identities(run, registrations):
    plan = run(lambda: ConfidentialCluster("cluster", cluster_args()))
    component = plan.one(COMPONENT)
    outputs = registrations.outputs[component.urn]
    assert outputs["clusterName"] == "sandbox", component.urn
    assert outputs["endpoint"] == MOCK_ENDPOINT, component.urn
    assert outputs["nodeServiceAccount"] == NODE_EMAIL, component.urn
    assert outputs["workloadPool"] == "ab-demo-cluster.svc.id.goog", component.urn
    ca = base64.b64encode(MOCK_CA_PEM.encode()).decode()
    assert outputs["caCertificate"] == ca, component.urn


@pytest.mark.parametrize("machine_type", ["e2-standard-4", "n2-standard-2", "c3-standard-4"])
def test_non_sev_machine_type_is_refused(machine_type):
    with pytest.raises(ValueError, match=f"machine_type '{machine_type}' cannot run Confidential"):
        ConfidentialCluster("cluster", cluster_args(machine_type=machine_type))


def test_location_outside_region_is_refused():
    with pytest.raises(
        ValueError, match="location 'europe-west4-a' is not in region 'us-central1'"
    ):
        ConfidentialCluster("cluster", cluster_args(location="europe-west4-a"))


def test_machine_type_refusal_names_the_sev_series():
    with pytest.raises(ValueError, match=r"use an AMD SEV series: n2d, c2d, c3d"):
        check_args(cluster_args(machine_type="n2-standard-2"))


@pytest.mark.parametrize("machine_type", ["n2d-standard-2", "c2d-highmem-8", "c3d-standard-4"])
def test_sev_machine_types_are_accepted(machine_type):
    check_args(cluster_args(machine_type=machine_type))


# --------------------------------------------------------------------------- pure builders, no mocks


def test_node_config_is_confidential_shielded_and_keeps_node_credentials_from_pods():
    config = node_config("n2d-standard-2", "nodes@p.iam.gserviceaccount.com")
    assert config["machine_type"] == "n2d-standard-2"
    assert config["service_account"] == "nodes@p.iam.gserviceaccount.com"
    assert config["confidential_nodes"] == {"enabled": True}
    assert config["shielded_instance_config"] == {
        "enable_secure_boot": True,
        "enable_integrity_monitoring": True,
    }
    assert config["workload_metadata_config"] == {"mode": "GKE_METADATA"}
    assert config["metadata"] == {"disable-legacy-endpoints": "true"}


def test_cluster_settings_fix_what_the_sandbox_depends_on():
    settings = cluster_settings(cluster_args())
    assert settings["confidential_nodes"] == {"enabled": True}
    assert settings["enable_shielded_nodes"] is True
    assert settings["binary_authorization"] == {
        "evaluation_mode": "PROJECT_SINGLETON_POLICY_ENFORCE"
    }
    assert settings["datapath_provider"] == "ADVANCED_DATAPATH"
    assert settings["enable_legacy_abac"] is False
    assert settings["master_auth"] == {
        "client_certificate_config": {"issue_client_certificate": False}
    }
    assert settings["private_cluster_config"]["enable_private_nodes"] is True
    assert settings["deletion_protection"] is True
    assert settings["master_authorized_networks_config"] == {
        "gcp_public_cidrs_access_enabled": False,
        "cidr_blocks": [{"display_name": "alice-office", "cidr_block": "198.51.100.0/24"}],
    }


def test_cluster_settings_take_name_location_and_control_plane_range_from_args():
    settings = cluster_settings(
        cluster_args(cluster_name="c2", location="us-central1", master_cidr="172.16.0.32/28")
    )
    assert settings["name"] == "c2"
    assert settings["location"] == "us-central1"
    assert settings["private_cluster_config"]["master_ipv4_cidr_block"] == "172.16.0.32/28"


# --------------------------------------------------------------------------- issue 10: private access
FIREWALL = "gcp:compute/firewall:Firewall"
ZONE = "gcp:dns/managedZone:ManagedZone"
RECORD = "gcp:dns/recordSet:RecordSet"
RESTRICTED = ["199.36.153.4", "199.36.153.5", "199.36.153.6", "199.36.153.7"]


def test_control_plane_reaches_the_gatekeeper_webhook_on_the_nodes(run):
    plan = run(lambda: ConfidentialCluster("cluster", cluster_args(master_cidr="172.16.0.32/28")))
    firewall = plan.one(FIREWALL)
    network = plan.one(CLUSTER).inputs["network"]
    assert firewall.inputs["direction"] == "INGRESS", firewall.urn
    assert firewall.inputs["sourceRanges"] == ["172.16.0.32/28"], firewall.urn
    # Gatekeeper's webhook port (chart 3.15.0 controllerManager.port), nothing else.
    assert firewall.inputs["allows"] == [{"protocol": "tcp", "ports": ["8443"]}], firewall.urn
    assert firewall.inputs["targetServiceAccounts"] == [NODE_EMAIL], firewall.urn
    assert firewall.inputs["network"] == network, firewall.urn


def test_google_api_names_resolve_to_the_restricted_vip_on_the_cluster_network(run):
    plan = run(lambda: ConfidentialCluster("cluster", cluster_args()))
    network = plan.one(CLUSTER).inputs["network"]
    zones = {z.inputs["dnsName"]: z for z in plan.of_type(ZONE)}
    assert sorted(zones) == ["gcr.io.", "googleapis.com.", "pkg.dev."]
    for zone in zones.values():
        assert zone.inputs["visibility"] == "private", zone.urn
        assert zone.inputs["privateVisibilityConfig"] == {"networks": [{"networkUrl": network}]}, (
            zone.urn
        )
    records = {
        (r.inputs["managedZone"], r.inputs["name"], r.inputs["type"]): r.inputs["rrdatas"]
        for r in plan.of_type(RECORD)
    }
    assert records == {
        ("sandbox-googleapis-com", "*.googleapis.com.", "CNAME"): ["restricted.googleapis.com."],
        ("sandbox-googleapis-com", "restricted.googleapis.com.", "A"): RESTRICTED,
        ("sandbox-pkg-dev", "*.pkg.dev.", "CNAME"): ["pkg.dev."],
        ("sandbox-pkg-dev", "pkg.dev.", "A"): RESTRICTED,
        # Container Registry's host, as the VPC-SC GKE guide routes it.
        ("sandbox-gcr-io", "*.gcr.io.", "CNAME"): ["gcr.io."],
        ("sandbox-gcr-io", "gcr.io.", "A"): RESTRICTED,
    }


def test_private_access_waits_for_the_given_dependencies(run, registrations):
    def program() -> None:
        from components.sandbox_project import SandboxProject, SandboxProjectArgs

        project = SandboxProject(
            "project", SandboxProjectArgs("ab-demo-cluster", "1", "018B55-7FDD84-7F175A")
        )
        ConfidentialCluster(
            "cluster", cluster_args(), pulumi.ResourceOptions(depends_on=project.services)
        )

    plan = run(program)
    dns = plan.one("gcp:projects/service:Service", "project-dns").urn
    compute = plan.one("gcp:projects/service:Service", "project-compute").urn
    for zone in plan.of_type(ZONE):
        assert dns in registrations.dependencies[zone.urn], zone.urn
    assert compute in registrations.dependencies[plan.one(FIREWALL).urn]


def test_dns_endpoint_is_on_with_google_tokens_only(run, registrations):
    plan = run(lambda: ConfidentialCluster("cluster", cluster_args()))
    cluster = plan.one(CLUSTER)
    assert cluster.inputs["controlPlaneEndpointsConfig"] == {
        "dnsEndpointConfig": {
            "allowExternalTraffic": True,
            "enableK8sTokensViaDns": False,
            "enableK8sCertsViaDns": False,
        }
    }, cluster.urn
    outputs = registrations.outputs[plan.one(COMPONENT).urn]
    assert outputs["dnsEndpoint"].endswith(".gke.goog"), outputs


def test_basic_vulnerability_scanning_is_not_requested():
    # VULNERABILITY_BASIC was shut down on 2025-07-31; asking for it is asking for nothing.
    posture = cluster_settings(cluster_args())["security_posture_config"]
    assert posture == {"mode": "BASIC", "vulnerability_mode": "VULNERABILITY_DISABLED"}
