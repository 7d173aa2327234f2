"""The one identity that may read and decrypt the model: `ns/ksa` via Workload Identity (seed 003 steps 6-7)."""

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components._common import as_args, child, ksa_member, sa_member, token, waits_for


@dataclass
class WorkloadIdentityArgs:
    """The workload's GSA, the one `namespace/ksa` that may act as it, and what it may read."""

    project_id: pulumi.Input[str]
    """The cluster project (holds the GSA and the workload pool)."""
    account_id: str
    """The workload GSA's account id."""
    namespace: str
    """The Kubernetes namespace of the one service account that may act as the GSA."""
    kubernetes_service_account: str
    """That Kubernetes service account's name."""
    kms_key_id: pulumi.Input[str]
    """The model key, `projects/.../cryptoKeys/<key>`: decrypt only."""
    bucket: pulumi.Input[str]
    """The model bucket: object read only."""
    object_name: str | None = None
    """When set, read access is limited to this one object, not the whole bucket."""


class WorkloadIdentity(pulumi.ComponentResource):
    """Workload GSA, its Workload Identity binding, decrypt on one key and read on one bucket/object.

    `depends_on` (resource option): the cluster (the workload pool appears with it) and the
    iam API's enablement; the GSA and its binding wait for them.
    """

    email: pulumi.Output[str]
    """The workload GSA's email (the Kubernetes service account's annotation)."""
    member: pulumi.Output[str]
    """The GSA as an IAM member, `serviceAccount:<email>`."""
    kubernetes_member: pulumi.Output[str]
    """The Kubernetes service account as an IAM member, `serviceAccount:<pool>[<ns>/<ksa>]`."""

    def __init__(
        self, name: str, args: WorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(WorkloadIdentityArgs, args)
        super().__init__(token("workload_identity", "WorkloadIdentity"), name, None, opts)
        waits = waits_for(opts)
        self.service_account: gcp.serviceaccount.Account = gcp.serviceaccount.Account(
            f"{name}-gsa",
            account_id=args.account_id,
            project=args.project_id,
            display_name=f"Model reader for {args.namespace}/{args.kubernetes_service_account}",
            description="Decrypts and reads the sealed model; usable only by one Kubernetes service account.",
            opts=child(self, depends_on=waits),
        )
        pool_member = pulumi.Output.from_input(args.project_id).apply(
            lambda p: ksa_member(p, args.namespace, args.kubernetes_service_account)
        )
        # workloadIdentityUser, not serviceAccountTokenCreator as seed 003 used: the KSA
        # may act as the GSA, and nobody may mint tokens for it directly.
        self.wi_binding: gcp.serviceaccount.IAMMember = gcp.serviceaccount.IAMMember(
            f"{name}-wi-user",
            service_account_id=self.service_account.name,
            role="roles/iam.workloadIdentityUser",
            member=pool_member,
            opts=child(self, depends_on=waits),
        )
        member = sa_member(self.service_account.email)
        self.decrypter: gcp.kms.CryptoKeyIAMMember = gcp.kms.CryptoKeyIAMMember(
            f"{name}-decrypter",
            crypto_key_id=args.kms_key_id,
            role="roles/cloudkms.cryptoKeyDecrypter",
            member=member,
            opts=child(self),
        )
        condition = None
        if args.object_name is not None:
            condition = {
                "title": "sealed-model-only",
                "description": "Read the sealed model object and nothing else in the bucket.",
                "expression": pulumi.Output.from_input(args.bucket).apply(
                    lambda b: (
                        f'resource.name == "projects/_/buckets/{b}/objects/{args.object_name}"'
                    )
                ),
            }
        self.object_reader: gcp.storage.BucketIAMMember = gcp.storage.BucketIAMMember(
            f"{name}-object-viewer",
            bucket=args.bucket,
            role="roles/storage.objectViewer",
            member=member,
            condition=condition,
            opts=child(self),
        )
        self.email = self.service_account.email
        self.member = member
        self.kubernetes_member = pool_member
        self.register_outputs(
            {"email": self.email, "member": self.member, "kubernetesMember": self.kubernetes_member}
        )
