"""What a first `pulumi up` needs that only the wiring between resources and parties shows:
the Ingress's reserved address (`ingress-static-address`), Gatekeeper held back until its
image is in a mirror made by the same stack (`gatekeeper-after-mirror`), grants that cross
organizations under domain-restricted sharing (`cross-org-grants`), and CI's deploy identity
inside the perimeter (`ci-identity-in-perimeter`).

Config the plan cannot otherwise show is recorded by the program in one resource of type
policy.facts.DEPLOY_FACTS_TYPE (infra/program.py `record_deploy_facts`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from harness.contract import ENV_TRUSTED_PROXIES
from policy.facts import ARTIFACT_REGISTRY_IMAGE, DEPLOY_FACTS_TYPE, STATIC_IP_ANNOTATION

from .engine import Violation, violation
from .gcp_iam import iam_grants
from .plan import Resource, as_list, get, inputs_of, is_unknown, of_type, show, type_of
from .tokens import (
    AR_REPOSITORY,
    GLOBAL_ADDRESS,
    HELM_TYPES,
    K8S_INGRESS,
    K8S_WORKLOAD_TYPES,
    REPOSITORY_IAM,
    SERVICE_PERIMETER,
)

TENANT_IAM_TYPE = "gke-sandbox:tenant_iam:TenantIam"


def deploy_facts(resources: Sequence[Resource]) -> Mapping[str, Any]:
    """The inputs of the plan's deploy-facts record ({} when the program recorded none)."""
    for resource in of_type(resources, DEPLOY_FACTS_TYPE):
        return inputs_of(resource)
    return {}


def _by_urn(resources: Sequence[Resource]) -> dict[str, Resource]:
    return {str(r.get("urn")): r for r in resources}


# --------------------------------------------------------------------------- ingress-static-address
def check_ingress_static_address(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Each Ingress names a reserved global address; when the plan reserves it, the harness's
    trusted proxies are fed from that address (the Deployment depends on it), not a copy."""
    rule = "ingress-static-address"
    addresses = {
        name: a
        for a in of_type(resources, GLOBAL_ADDRESS)
        if isinstance(name := get(inputs_of(a), "name"), str)
    }
    workloads = of_type(resources, *K8S_WORKLOAD_TYPES)
    for ingress in of_type(resources, K8S_INGRESS):
        name = get(inputs_of(ingress), ("metadata", "annotations", STATIC_IP_ANNOTATION))
        if is_unknown(name):
            continue
        if not isinstance(name, str) or not name:
            yield violation(
                rule,
                ingress,
                f"metadata.annotations[{STATIC_IP_ANNOTATION}] is {show(name)}; name the global "
                "address reserved for it, or the load balancer gets an ephemeral IP that the "
                "harness cannot trust and that changes on every re-create",
            )
            continue
        address = addresses.get(name)
        if address is None:
            continue  # reserved by another party's stack: the name was handed over
        for workload in workloads:
            env = get(inputs_of(workload), "spec.template.spec.containers[0].env")
            reads_proxies = any(
                isinstance(e, Mapping) and e.get("name") == ENV_TRUSTED_PROXIES
                for e in as_list(env)
            )
            if reads_proxies and address.get("urn") not in as_list(workload.get("dependencies")):
                yield violation(
                    rule,
                    workload,
                    f"{ENV_TRUSTED_PROXIES} is not fed from the reserved address "
                    f'"{name}" (the workload does not depend on it); pass the address '
                    "resource's output, not a copied IP",
                )


# --------------------------------------------------------------------------- gatekeeper-after-mirror
def _repository_key(resource: Resource) -> tuple[str, str, str] | None:
    ins = inputs_of(resource)
    project, location, repository = (ins.get(k) for k in ("project", "location", "repositoryId"))
    if isinstance(project, str) and isinstance(location, str) and isinstance(repository, str):
        return project, location, repository
    return None


def check_gatekeeper_after_mirror(resources: Sequence[Resource]) -> Iterator[Violation]:
    """A chart pulling from a repository the same plan creates can only come up once the image
    has been copied there. The program builds the chart (and the tenants and workload after it)
    only when config `sandbox.gatekeeper.mirrored` is true, and records that setting with the
    image; a plan holding such a chart without that record for its image was not staged. Without
    staging, the first `up` creates pods that cannot pull and a fail-closed webhook that rejects
    every write after it."""
    rule = "gatekeeper-after-mirror"
    repositories = {
        key for r in of_type(resources, AR_REPOSITORY) if (key := _repository_key(r)) is not None
    }
    gatekeeper = get(deploy_facts(resources), "gatekeeper") or {}
    for chart in of_type(resources, *HELM_TYPES):
        if get(inputs_of(chart), "chart") != "gatekeeper":
            continue
        image = get(inputs_of(chart), "values.image.repository")
        match = ARTIFACT_REGISTRY_IMAGE.match(image) if isinstance(image, str) else None
        if match is None:
            continue
        key = (match["project"], match["location"], match["repository"])
        if key not in repositories:
            continue  # the mirror is another stack's, created (and filled) before this one
        if get(gatekeeper, "mirrored") is True and get(gatekeeper, "image") == image:
            continue
        yield violation(
            rule,
            chart,
            f'values.image.repository "{image}" is in a repository this plan creates, and '
            "the plan does not record it as copied there (sandbox.gatekeeper.mirrored); stage "
            "the stack: first `up` with mirrored false, copy the image, then true",
        )


# --------------------------------------------------------------------------- cross-org-grants
def check_cross_org_grants(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Grants to the other party's principals cross organizations. Where the organization
    enforces `iam.allowedPolicyMemberDomains` (domain-restricted sharing,
    cloud.google.com/resource-manager/docs/organization-policy/restricting-domains) IAM rejects
    them unless the other organization's customer ID is allowed; config names those IDs
    (`cluster.allowedCustomerIds`, `harness.allowedCustomerIds`) and the program records them."""
    rule = "cross-org-grants"
    allowed = get(deploy_facts(resources), "allowedCustomerIds") or {}
    by_urn = _by_urn(resources)
    for grant in iam_grants(resources):
        if is_unknown(grant.member) or not isinstance(grant.member, str):
            continue
        parent = by_urn.get(str(grant.resource.get("parent")), {})
        if type_of(parent) == TENANT_IAM_TYPE:
            side, key, whose = "cluster", "cluster.allowedCustomerIds", "the tenants'"
        elif type_of(grant.resource) in REPOSITORY_IAM and grant.member.startswith(
            "serviceAccount:"
        ):
            side, key, whose = "harness", "harness.allowedCustomerIds", "the cluster owner's"
        else:
            continue
        if not as_list(get(allowed, side)):
            yield violation(
                rule,
                grant.resource,
                f"{grant.path} {show(grant.member)} is a principal of {whose} organization; "
                "where iam.allowedPolicyMemberDomains is enforced this grant fails unless that "
                f"organization's customer ID is allowed: list it in {key} and in the policy",
            )


# --------------------------------------------------------------------------- ci-identity-in-perimeter
def _perimeter_identities(perimeter: Resource) -> set[str]:
    ins = inputs_of(perimeter)
    return {
        identity
        for policy in as_list(get(ins, "status.ingressPolicies"))
        for identity in as_list(get(policy, "ingressFrom.identities"))
        if isinstance(identity, str)
    }


def check_ci_identity_in_perimeter(resources: Sequence[Resource]) -> Iterator[Violation]:
    """The workflows run the model and cluster stacks as a service account (`GCP_DEPLOY_SA_model`,
    `GCP_DEPLOY_SA_cluster`); from outside the perimeter, storage and KMS refuse it unless it is
    an ingress identity, so `pulumi up` from CI fails on the bucket and key."""
    rule = "ci-identity-in-perimeter"
    recorded = [
        i for i in as_list(get(deploy_facts(resources), "deployIdentities")) if isinstance(i, str)
    ]
    for perimeter in of_type(resources, SERVICE_PERIMETER):
        identities = _perimeter_identities(perimeter)
        if not recorded:
            yield violation(
                rule,
                perimeter,
                "no CI deploy identity is recorded (cluster.perimeter.deployIdentities); list "
                "the service accounts the workflows run the model and cluster stacks as, and "
                "each in ingressIdentities",
            )
        for identity in recorded:
            if identity not in identities:
                yield violation(
                    rule,
                    perimeter,
                    f"the CI deploy identity {show(identity)} is not an ingress identity "
                    f"(status.ingressPolicies[].ingressFrom.identities is {show(sorted(identities))}"
                    "); add it to cluster.perimeter.ingressIdentities",
                )
