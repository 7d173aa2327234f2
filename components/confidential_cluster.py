"""The Confidential GKE cluster Alice runs for Bob (seed 003 step 6, "create and configure cluster").

Fixed here, because the sandbox's promise depends on them: Confidential Nodes, Shielded
Nodes with secure boot and integrity monitoring, Workload Identity with the GKE metadata
server, Binary Authorization enforcement, network policy (Dataplane V2), no legacy ABAC,
no client certificates, private nodes, and a dedicated least-privilege node service account.

The cluster's and node pool's settings are built by pure functions (`node_config`,
`cluster_settings`, `subnet_ranges`), which tests call without mocks; the component only
registers resources.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components._common import (
    MANAGED_BY,
    as_args,
    child,
    sa_member,
    token,
    waits_for,
    workload_pool,
)
from policy import facts
from policy.facts import (
    GATEKEEPER_WEBHOOK_PORT,
    GOOGLE_API_ZONES,
    RESTRICTED_GOOGLE_APIS_ADDRESSES,
    SEV_MACHINE_FAMILIES,
    is_sev_machine_type,
)

# The only project roles a node needs: ship logs and metrics, pull images.
NODE_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/artifactregistry.reader",
)


@dataclass
class AuthorizedNetwork:
    """A network allowed to reach the cluster's control plane."""

    display_name: str
    """What the network is (shown in the console)."""
    cidr_block: str
    """The network's CIDR block."""


@dataclass
class ConfidentialClusterArgs:
    """Where the cluster goes, its nodes and its network ranges."""

    project_id: pulumi.Input[str]
    """The cluster project."""
    region: str
    """The region of the network and subnet."""
    location: str
    """A zone (zonal cluster) or the region (regional cluster)."""
    cluster_name: str
    """The cluster's name (also prefixes its network, subnet, firewall and DNS zones)."""
    node_service_account_id: str | None = "gke-node"
    """The nodes' own service account id."""
    machine_type: str | None = facts.DEFAULT_MACHINE_TYPE
    """The nodes' machine type: an AMD SEV series, so Confidential Nodes can run."""
    node_count: int | None = 2
    """Nodes in the confidential pool (per zone)."""
    release_channel: str | None = "REGULAR"
    """The GKE release channel."""
    subnet_cidr: str | None = "10.10.0.0/20"
    """The node subnet's range."""
    pods_cidr: str | None = "10.20.0.0/16"
    """The pods' secondary range."""
    services_cidr: str | None = "10.30.0.0/20"
    """The services' secondary range."""
    master_cidr: str | None = "172.16.0.16/28"
    """The control plane's /28 range (private nodes)."""
    authorized_networks: Sequence[AuthorizedNetwork] | None = field(default_factory=list)
    """Networks allowed to reach the control plane's IP endpoint; empty: none."""


def check_args(args: ConfidentialClusterArgs) -> None:
    """Refuse a machine type that cannot be confidential, or a location outside the region."""
    if not is_sev_machine_type(args.machine_type):
        raise ValueError(
            f"machine_type {args.machine_type!r} cannot run Confidential GKE Nodes; "
            f"use an AMD SEV series: {', '.join(SEV_MACHINE_FAMILIES)}"
        )
    if not args.location.startswith(args.region):
        raise ValueError(f"location {args.location!r} is not in region {args.region!r}")


def role_name(role: str) -> str:
    """`roles/logging.logWriter` -> `logging`: the role's part of its grant's resource name."""
    return role.split("/")[1].split(".")[0]


def secondary_ranges(args: ConfidentialClusterArgs) -> list[dict[str, str]]:
    """The subnet's alias ranges for pods and services (VPC-native cluster)."""
    return [
        {"range_name": "pods", "ip_cidr_range": args.pods_cidr},
        {"range_name": "services", "ip_cidr_range": args.services_cidr},
    ]


def node_config(machine_type: str, service_account: pulumi.Input[str]) -> dict[str, Any]:
    """Every node, in the default pool while it exists and in ours: confidential and shielded."""
    return {
        "machine_type": machine_type,
        "image_type": "COS_CONTAINERD",
        "disk_type": "pd-balanced",
        "disk_size_gb": 100,
        "service_account": service_account,
        "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
        # Memory encrypted in use: the model's plaintext never leaves the SEV boundary.
        "confidential_nodes": {"enabled": True},
        # Boot chain verified and measured; a tampered node fails integrity monitoring.
        "shielded_instance_config": {
            "enable_secure_boot": True,
            "enable_integrity_monitoring": True,
        },
        # Pods see the GKE metadata server, never the node's own credentials.
        "workload_metadata_config": {"mode": "GKE_METADATA"},
        # Legacy metadata endpoints answer without the Metadata-Flavor header (cloud.google.com/
        # kubernetes-engine/docs/how-to/protecting-cluster-metadata#disable-legacy-apis).
        "metadata": {"disable-legacy-endpoints": "true"},
        "labels": {"gke-sandbox": "confidential"},
    }


def webhook_firewall(args: ConfidentialClusterArgs) -> dict[str, Any]:
    """INGRESS from the control plane to the nodes on Gatekeeper's webhook port.

    GKE's own rules admit the control plane to private nodes on 443 and 10250 only; without
    this, every admission call times out and, with failurePolicy Fail, every write is
    rejected (Gatekeeper docs, "Running on private GKE Cluster nodes").
    """
    return {
        "direction": "INGRESS",
        "priority": 1000,
        "source_ranges": [args.master_cidr],
        "allows": [{"protocol": "tcp", "ports": [str(GATEKEEPER_WEBHOOK_PORT)]}],
        "description": "GKE control plane to the Gatekeeper admission webhook on the nodes",
    }


def google_api_records() -> list[dict[str, Any]]:
    """Each private zone's records: `*.<zone>` CNAME its target, the target A the restricted VIP.

    Shapes from "Set up restricted access for GKE private clusters"
    (cloud.google.com/vpc-service-controls/docs/set-up-gke); TTL 300 as there.
    """
    records = []
    for zone, (wildcard, target) in GOOGLE_API_ZONES.items():
        role = zone.rstrip(".").replace(".", "-")
        records.append(
            {
                "zone": zone,
                "role": f"{role}-cname",
                "name": wildcard,
                "type": "CNAME",
                "rrdatas": [target],
            }
        )
        records.append(
            {
                "zone": zone,
                "role": f"{role}-a",
                "name": target,
                "type": "A",
                "rrdatas": list(RESTRICTED_GOOGLE_APIS_ADDRESSES),
            }
        )
    return records


def cluster_settings(args: ConfidentialClusterArgs) -> dict[str, Any]:
    """The cluster's fixed security settings and its network shape, as `Cluster` keyword args.

    Only what needs other resources (project, network, node config, workload pool) is left
    to the component.
    """
    return {
        "name": args.cluster_name,
        "location": args.location,
        # Node pools are managed separately; the default pool is confidential too while it exists.
        "remove_default_node_pool": True,
        "initial_node_count": 1,
        "confidential_nodes": {"enabled": True},
        "enable_shielded_nodes": True,
        # Only images the project's Binary Authorization policy admits may run.
        "binary_authorization": {"evaluation_mode": "PROJECT_SINGLETON_POLICY_ENFORCE"},
        # Dataplane V2 enforces NetworkPolicy natively.
        "datapath_provider": "ADVANCED_DATAPATH",
        "enable_legacy_abac": False,
        "master_auth": {"client_certificate_config": {"issue_client_certificate": False}},
        "release_channel": {"channel": args.release_channel},
        "ip_allocation_policy": {
            "cluster_secondary_range_name": "pods",
            "services_secondary_range_name": "services",
        },
        # The DNS-based endpoint: reachable from anywhere like a Google API (GitHub-hosted
        # runners included), every request checked against IAM (container.clusters.connect)
        # before RBAC. Only Google-issued OAuth tokens are accepted on it: no Kubernetes
        # tokens, no client certificates (SDK 10.2.0 ClusterControlPlaneEndpointsConfig*).
        "control_plane_endpoints_config": {
            "dns_endpoint_config": {
                "allow_external_traffic": True,
                "enable_k8s_tokens_via_dns": False,
                "enable_k8s_certs_via_dns": False,
            },
            # The IP endpoint keeps its default (on), fenced by the authorized networks below:
            # people on the listed networks keep working, and nothing else reaches it.
        },
        "private_cluster_config": {
            "enable_private_nodes": True,
            "enable_private_endpoint": False,
            "master_ipv4_cidr_block": args.master_cidr,
        },
        "master_authorized_networks_config": {
            # Only the listed networks reach the control plane; not even other GCP tenants' IPs.
            "gcp_public_cidrs_access_enabled": False,
            "cidr_blocks": [
                {"display_name": n.display_name, "cidr_block": n.cidr_block}
                for n in args.authorized_networks or []
            ],
        },
        "addons_config": {
            "http_load_balancing": {"disabled": False},
            "horizontal_pod_autoscaling": {"disabled": False},
            "gce_persistent_disk_csi_driver_config": {"enabled": True},
        },
        # Workload vulnerability scanning's basic tier was shut down on 2025-07-31 (GKE
        # deprecations page, "vulnerability-scanning-gkee"): asking for it asks for nothing.
        # Image scanning belongs to Artifact Analysis on Bob's registry (containerscanning API),
        # his call; the posture's configuration audit (mode BASIC) stays on.
        "security_posture_config": {
            "mode": "BASIC",
            "vulnerability_mode": "VULNERABILITY_DISABLED",
        },
        "logging_config": {"enable_components": ["SYSTEM_COMPONENTS", "WORKLOADS"]},
        "monitoring_config": {
            "enable_components": ["SYSTEM_COMPONENTS"],
            "managed_prometheus": {"enabled": True},
        },
        "enable_kubernetes_alpha": False,
        "enable_intranode_visibility": True,
        "deletion_protection": True,
        "resource_labels": MANAGED_BY,
    }


class ConfidentialCluster(pulumi.ComponentResource):
    """VPC + subnet, node SA with three roles, the cluster and one confidential node pool.

    `depends_on` (resource option): the project's API enablements; every child that calls an
    API first (network, node SA, firewall, DNS zones, cluster) waits for them.
    """

    cluster_name: pulumi.Output[str]
    """The cluster's name."""
    endpoint: pulumi.Output[str]
    """The control plane's IP endpoint."""
    dns_endpoint: pulumi.Output[str]
    """The control plane's DNS endpoint (IAM-checked, reachable like a Google API)."""
    ca_certificate: pulumi.Output[str]
    """The cluster CA certificate, base64 PEM."""
    node_service_account: pulumi.Output[str]
    """The nodes' service account email."""
    workload_pool: pulumi.Output[str]
    """The Workload Identity pool, `<project>.svc.id.goog`."""

    def __init__(
        self, name: str, args: ConfidentialClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(ConfidentialClusterArgs, args)
        check_args(args)
        super().__init__(token("confidential_cluster", "ConfidentialCluster"), name, None, opts)
        waits = waits_for(opts)
        after = child(self, depends_on=waits)

        self._network(name, args, after)
        self._node_identity(name, args, after)
        self._private_access(name, args, after)
        pool = pulumi.Output.from_input(args.project_id).apply(workload_pool)
        nodes = node_config(args.machine_type, self.node_sa.email)
        self.cluster: gcp.container.Cluster = gcp.container.Cluster(
            f"{name}-cluster",
            project=args.project_id,
            network=self.network.id,
            subnetwork=self.subnet.id,
            node_config=nodes,
            workload_identity_config={"workload_pool": pool},
            **cluster_settings(args),
            opts=child(self, depends_on=[*waits, *self.node_roles]),
        )
        self.node_pool: gcp.container.NodePool = gcp.container.NodePool(
            f"{name}-pool",
            name="confidential",
            project=args.project_id,
            location=args.location,
            cluster=self.cluster.name,
            node_count=args.node_count,
            node_config=nodes,
            management={"auto_repair": True, "auto_upgrade": True},
            opts=child(self),
        )
        self.cluster_name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.dns_endpoint = self.cluster.control_plane_endpoints_config.apply(_dns_endpoint)
        self.ca_certificate = self.cluster.master_auth.cluster_ca_certificate
        self.workload_pool = pool
        self.node_service_account = self.node_sa_email
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "endpoint": self.endpoint,
                "dnsEndpoint": self.dns_endpoint,
                "caCertificate": self.ca_certificate,
                "nodeServiceAccount": self.node_service_account,
                "workloadPool": self.workload_pool,
            }
        )

    def _network(
        self, name: str, args: ConfidentialClusterArgs, after: pulumi.ResourceOptions
    ) -> None:
        """The cluster's own VPC and node subnet (the project has no default network)."""
        self.network: gcp.compute.Network = gcp.compute.Network(
            f"{name}-network",
            name=f"{args.cluster_name}-vpc",
            project=args.project_id,
            auto_create_subnetworks=False,
            opts=after,
        )
        self.subnet: gcp.compute.Subnetwork = gcp.compute.Subnetwork(
            f"{name}-subnet",
            name=f"{args.cluster_name}-nodes",
            project=args.project_id,
            region=args.region,
            network=self.network.id,
            ip_cidr_range=args.subnet_cidr,
            # Nodes have no external IPs; Google APIs (GCS, KMS, Artifact Registry) stay reachable.
            private_ip_google_access=True,
            secondary_ip_ranges=secondary_ranges(args),
            log_config={"aggregation_interval": "INTERVAL_5_SEC", "flow_sampling": 0.5},
            opts=child(self),
        )

    def _node_identity(
        self, name: str, args: ConfidentialClusterArgs, after: pulumi.ResourceOptions
    ) -> None:
        """The nodes' own service account and its three project roles."""
        self.node_sa: gcp.serviceaccount.Account = gcp.serviceaccount.Account(
            f"{name}-node-sa",
            account_id=args.node_service_account_id,
            project=args.project_id,
            display_name="GKE nodes of the confidential sandbox",
            opts=after,
        )
        self.node_sa_email = self.node_sa.email
        node_member = sa_member(self.node_sa.email)
        self.node_roles: list[gcp.projects.IAMMember] = [
            gcp.projects.IAMMember(
                f"{name}-node-{role_name(role)}",
                project=args.project_id,
                role=role,
                member=node_member,
                opts=child(self),
            )
            for role in NODE_ROLES
        ]

    def _private_access(
        self, name: str, args: ConfidentialClusterArgs, after: pulumi.ResourceOptions
    ) -> None:
        """What private nodes need to work: the webhook port open to the control plane, and
        Google API names resolving to the restricted VIP the tenant NetworkPolicy allows."""
        self.webhook_firewall = gcp.compute.Firewall(
            f"{name}-webhook-firewall",
            name=f"{args.cluster_name}-gatekeeper-webhook",
            project=args.project_id,
            network=self.network.id,
            # Only the nodes (they run as this service account), not every VM in the network.
            target_service_accounts=[self.node_sa.email],
            **webhook_firewall(args),
            opts=after,
        )
        self.zones: dict[str, gcp.dns.ManagedZone] = {}
        for zone in GOOGLE_API_ZONES:
            role = zone.rstrip(".").replace(".", "-")
            self.zones[zone] = gcp.dns.ManagedZone(
                f"{name}-{role}-zone",
                name=f"{args.cluster_name}-{role}",
                project=args.project_id,
                dns_name=zone,
                description=f"{zone} to the restricted Google API VIP, for the sandbox nodes",
                # Private: seen only from the cluster's network; the world's DNS is untouched.
                visibility="private",
                private_visibility_config={"networks": [{"network_url": self.network.id}]},
                labels=MANAGED_BY,
                opts=after,
            )
        self.records = [
            gcp.dns.RecordSet(
                f"{name}-{record['role']}",
                project=args.project_id,
                managed_zone=self.zones[record["zone"]].name,
                name=record["name"],
                type=record["type"],
                ttl=300,
                rrdatas=record["rrdatas"],
                opts=child(self),
            )
            for record in google_api_records()
        ]


def _dns_endpoint(config: Any) -> str | None:
    """The DNS endpoint's FQDN from the cluster's controlPlaneEndpointsConfig output."""
    dns = getattr(config, "dns_endpoint_config", None) if config is not None else None
    return getattr(dns, "endpoint", None) if dns is not None else None
