"""Alice's cluster stack: folder, project, BinAuthz, Confidential GKE, the one model-reading identity (seed 003 steps 5-7, 12)."""

from __future__ import annotations

from typing import Any

import pulumi

from components.binauthz_policy import AttestorRef, BinAuthzPolicy, BinAuthzPolicyArgs
from components.confidential_cluster import (
    AuthorizedNetwork,
    ConfidentialCluster,
    ConfidentialClusterArgs,
)
from components.confidential_folder import (
    ConfidentialFolder,
    ConfidentialFolderArgs,
    DenyPolicySpec,
)
from components.image_mirror import ImageMirror, ImageMirrorArgs
from components.ingress_address import IngressAddress, IngressAddressArgs
from components.sandbox_project import SandboxProject, SandboxProjectArgs
from components.service_perimeter import ServicePerimeter, ServicePerimeterArgs
from components.tenant_iam import TenantIam, TenantIamArgs
from components.tls_policy import TlsPolicy, TlsPolicyArgs
from components.workload_identity import WorkloadIdentity, WorkloadIdentityArgs
from infra.config import StackConfig
from stacks import outputs as out
from stacks.links import Links


def build(config: StackConfig, links: Links) -> dict[str, Any]:
    cluster, model, tenant = config.cluster, config.model, config.workload_tenant
    assert cluster is not None and model is not None and tenant is not None
    assert tenant.workload_service_account is not None

    deny = None
    if cluster.deny_policy is not None:
        deny = DenyPolicySpec(
            exception_principals=cluster.deny_policy.exception_principals,
            denied_permissions=cluster.deny_policy.denied_permissions,
        )
    folder = ConfidentialFolder(
        "folder",
        ConfidentialFolderArgs(
            organization_id=cluster.organization, display_name=cluster.folder, deny_policy=deny
        ),
    )
    project = SandboxProject(
        "project",
        SandboxProjectArgs(
            project_id=cluster.project,
            folder_id=folder.folder.folder_id,
            billing_account=cluster.billing_account,
        ),
    )
    BinAuthzPolicy(
        "binauthz",
        BinAuthzPolicyArgs(
            project_id=project.project_id,
            project_number=project.project_number,
            attestors=[
                AttestorRef(
                    project=model.project, attestor_id=links.attestor_id or model.attestor_id
                )
            ],
            allowlist_patterns=list(cluster.binauthz_allowlist),
        ),
        pulumi.ResourceOptions(depends_on=[project.by_api["binaryauthorization.googleapis.com"]]),
    )
    gke = ConfidentialCluster(
        "cluster",
        ConfidentialClusterArgs(
            project_id=project.project_id,
            region=cluster.region,
            location=cluster.location,
            cluster_name=cluster.name,
            node_service_account_id=cluster.node_service_account,
            machine_type=cluster.machine_type,
            node_count=cluster.node_count,
            release_channel=cluster.release_channel.value,
            subnet_cidr=cluster.subnet_cidr,
            pods_cidr=cluster.pods_cidr,
            services_cidr=cluster.services_cidr,
            master_cidr=cluster.master_cidr,
            authorized_networks=[
                AuthorizedNetwork(n.name, n.cidr) for n in cluster.authorized_networks
            ],
        ),
        pulumi.ResourceOptions(depends_on=project.services),
    )
    identity = WorkloadIdentity(
        "workload-identity",
        WorkloadIdentityArgs(
            project_id=project.project_id,
            account_id=cluster.workload_service_account,
            namespace=tenant.namespace,
            kubernetes_service_account=tenant.workload_service_account,
            kms_key_id=links.kms_key_id or model.key_id,
            bucket=links.bucket or model.bucket,
            object_name=model.object_name,
        ),
        pulumi.ResourceOptions(depends_on=[gke.cluster, project.by_api["iam.googleapis.com"]]),
    )
    for each in config.tenants:
        TenantIam(
            f"tenant-iam-{each.name}",
            TenantIamArgs(project_id=project.project_id, tenant=each.name, members=each.members),
        )

    if cluster.perimeter is not None:
        ServicePerimeter(
            "perimeter",
            ServicePerimeterArgs(
                access_policy=cluster.perimeter.access_policy,
                short_name=cluster.perimeter.name,
                project_numbers=[cluster.perimeter.model_project_number, project.project_number],
                ingress_identities=list(cluster.perimeter.ingress_identities),
            ),
            # Inside the perimeter before the first grant on the model is used.
            pulumi.ResourceOptions(depends_on=project.services),
        )

    # Issue 10: platform images come from Alice's mirror; load balancers speak TLS 1.2+ only.
    mirror = ImageMirror(
        "mirror",
        ImageMirrorArgs(
            project=project.project_id,
            location=cluster.region,
            repository_id=cluster.mirror_repository,
        ),
        opts=pulumi.ResourceOptions(depends_on=project.services),
    )
    tls = TlsPolicy(
        "tls",
        TlsPolicyArgs(project=project.project_id, policy_name=cluster.ssl_policy),
        opts=pulumi.ResourceOptions(depends_on=project.services),
    )
    # Bob's Ingress takes this address by name; the harness trusts it as the last XFF hop.
    ingress = IngressAddress(
        "ingress",
        IngressAddressArgs(project=project.project_id, address_name=cluster.ingress_address_name),
        opts=pulumi.ResourceOptions(depends_on=project.services),
    )
    links.ssl_policy = tls.policy_name
    links.ingress_address = ingress.address
    links.ingress_address_name = ingress.address_name
    links.node_sa_email = gke.node_sa_email
    links.workload_gsa_email = identity.email
    links.cluster_name = gke.cluster_name
    # The DNS endpoint (IAM-checked, reachable from CI) is how every Kubernetes stack connects.
    links.cluster_endpoint = gke.dns_endpoint
    links.cluster_ca_certificate = gke.ca_certificate
    return {
        out.FOLDER: folder.folder_name,
        out.CLUSTER_PROJECT: project.project_id,
        out.CLUSTER_PROJECT_NUMBER: project.project_number,
        out.CLUSTER_NAME: gke.cluster_name,
        out.CLUSTER_ENDPOINT: gke.dns_endpoint,
        out.CLUSTER_CA_CERTIFICATE: gke.ca_certificate,
        out.NODE_SERVICE_ACCOUNT: gke.node_sa_email,
        out.WORKLOAD_SERVICE_ACCOUNT: identity.email,
        out.WORKLOAD_IDENTITY: identity.kubernetes_member,
        out.MIRROR_REPOSITORY: mirror.repository_url,
        out.SSL_POLICY: tls.policy_name,
        out.INGRESS_ADDRESS: ingress.address,
        out.INGRESS_ADDRESS_NAME: ingress.address_name,
    }
