"""The one identity that may read and decrypt the model: `ns/ksa` via Workload Identity (seed 003 steps 6-7)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components._common import child, ksa_member, sa_member


@dataclass
class WorkloadIdentityArgs:
    project_id: pulumi.Input[str]
    account_id: str
    namespace: str
    kubernetes_service_account: str
    kms_key_id: pulumi.Input[str]  # projects/.../cryptoKeys/<key>
    bucket: pulumi.Input[str]
    # When set, read access is limited to this one object, not the whole bucket.
    object_name: str | None = None
    # Must exist before the binding (the workload pool appears with the cluster).
    depends_on: list[pulumi.Resource] | None = None


class WorkloadIdentity(pulumi.ComponentResource):
    """Workload GSA, its Workload Identity binding, decrypt on one key and read on one bucket/object."""

    service_account: gcp.serviceaccount.Account
    wi_binding: gcp.serviceaccount.IAMMember
    decrypter: gcp.kms.CryptoKeyIAMMember
    object_reader: gcp.storage.BucketIAMMember

    def __init__(
        self, name: str, args: WorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("gke-sandbox:workload_identity:WorkloadIdentity", name, None, opts)
        self.service_account = gcp.serviceaccount.Account(
            f"{name}-gsa",
            account_id=args.account_id,
            project=args.project_id,
            display_name=f"Model reader for {args.namespace}/{args.kubernetes_service_account}",
            description="Decrypts and reads the sealed model; usable only by one Kubernetes service account.",
            opts=child(self, depends_on=list(args.depends_on or [])),
        )
        pool_member = pulumi.Output.from_input(args.project_id).apply(
            lambda p: ksa_member(p, args.namespace, args.kubernetes_service_account)
        )
        # workloadIdentityUser, not serviceAccountTokenCreator as seed 003 used: the KSA
        # may act as the GSA, and nobody may mint tokens for it directly.
        self.wi_binding = gcp.serviceaccount.IAMMember(
            f"{name}-wi-user",
            service_account_id=self.service_account.name,
            role="roles/iam.workloadIdentityUser",
            member=pool_member,
            opts=child(self, depends_on=list(args.depends_on or [])),
        )
        member = sa_member(self.service_account.email)
        self.decrypter = gcp.kms.CryptoKeyIAMMember(
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
        self.object_reader = gcp.storage.BucketIAMMember(
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
