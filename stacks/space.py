"""Alice's Confidential Space stack: the same sealed model, released to a hardware attestation.

One Confidential VM runs the approved harness digest on Google's production Confidential Space
image; the model key and the sealed object are granted only to the workload identity pool's
principalSet of that digest, whose provider requires a production, supported, non-debug image and
the VM's own service account. The GKE path (cluster, sandbox, workload) stays the default.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.confidential_space import (
    ConfidentialSpaceWorkload,
    ConfidentialSpaceWorkloadArgs,
)
from components.project_services import ProjectServices, ProjectServicesArgs
from components.tls_policy import TlsPolicy, TlsPolicyArgs
from infra.config import StackConfig
from stacks import outputs as out

# The APIs the VM, its launcher, the pool and the load balancer call in the space project
# ("Create your first Confidential Space environment": compute, confidentialcomputing, iam,
# iamcredentials, sts). The key and the bucket live in the model project, whose stack enables
# cloudkms and storage there.
SPACE_APIS = (
    "compute.googleapis.com",
    "confidentialcomputing.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "sts.googleapis.com",
)


def build(config: StackConfig) -> dict[str, Any]:
    space, model = config.space, config.model
    assert space is not None and model is not None
    apis = ProjectServices(
        "space-apis", ProjectServicesArgs(project=space.project, services=SPACE_APIS)
    )
    tls = TlsPolicy(
        "space-tls",
        TlsPolicyArgs(project=space.project, policy_name=space.ssl_policy),
        opts=pulumi.ResourceOptions(depends_on=apis.services),
    )
    workload = ConfidentialSpaceWorkload(
        "space",
        ConfidentialSpaceWorkloadArgs(
            project=space.project,
            project_number=space.project_number,
            zone=space.zone,
            image=space.image,
            host=space.host,
            kms_key_id=model.key_id,
            kms_key_uri=model.kms_key_uri,
            bucket=model.bucket,
            object_name=model.object_name,
            ssl_policy=tls.policy_name,
            model_sha256=model.sealed.plaintext_sha256 if model.sealed else None,
            machine_type=space.machine_type,
            confidential_type=space.confidential_type.value,
            service_account_id=space.service_account,
            pool_id=space.pool,
            provider_id=space.provider,
            subnet_cidr=space.subnet_cidr,
            log_redirect=space.log_redirect,
        ),
        pulumi.ResourceOptions(depends_on=apis.services),
    )
    return {
        out.SPACE_SERVICE_ACCOUNT: workload.service_account_email,
        out.SPACE_PRINCIPAL_SET: workload.principal_set,
        out.SPACE_PROVIDER: workload.provider_name,
        out.SPACE_ADDRESS: workload.address,
        out.HARNESS_URL: workload.url,
        out.HARNESS_TOKEN: workload.token,
        out.SSL_POLICY: tls.policy_name,
    }
