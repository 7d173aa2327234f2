"""The folder whose org policy only admits Confidential VMs (seed 003 steps 6, and the optional deny policy)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

import pulumi
import pulumi_gcp as gcp

from components._common import as_args, child, token

CONFIDENTIAL_CONSTRAINT = "compute.restrictNonConfidentialComputing"
# Services listed here must create Confidential VMs only (the constraint's deny list).
CONFIDENTIAL_SERVICES = ("compute.googleapis.com",)


@dataclass
class DenyPolicySpec:
    """An IAM deny policy on the folder: who is denied what, and who is exempt."""

    exception_principals: Sequence[str]
    """Principals the deny rule does not apply to (the sandbox owners); at least one."""
    denied_permissions: Sequence[str]
    """Permissions denied, e.g. `iam.googleapis.com/serviceAccountKeys.create`."""


@dataclass
class ConfidentialFolderArgs:
    """Where the folder goes, what it is called, and its optional deny policy."""

    organization_id: str
    """The numeric organization id the folder is created under."""
    display_name: str
    """The folder's display name."""
    deny_policy: DenyPolicySpec | None = None
    """An optional IAM deny policy attached to the folder."""
    denied_principals: Sequence[str] | None = field(
        default_factory=lambda: ["principalSet://goog/public:all"]
    )
    """Whom the deny policy's rule applies to; by default every principal."""


class ConfidentialFolder(pulumi.ComponentResource):
    """A folder + `constraints/compute.restrictNonConfidentialComputing` (+ optional IAM deny policy)."""

    folder_name: pulumi.Output[str]
    """The folder's resource name, `folders/<id>`."""
    folder_id: pulumi.Output[str]
    """The folder's numeric id."""

    def __init__(
        self, name: str, args: ConfidentialFolderArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(ConfidentialFolderArgs, args)
        if args.deny_policy is not None and not args.deny_policy.exception_principals:
            raise ValueError(
                "a deny policy without exception principals would lock its own admins out"
            )
        super().__init__(token("confidential_folder", "ConfidentialFolder"), name, None, opts)

        self.folder: gcp.organizations.Folder = gcp.organizations.Folder(
            f"{name}-folder",
            display_name=args.display_name,
            parent=f"organizations/{args.organization_id}",
            deletion_protection=True,
            opts=child(self),
        )
        # Fixed, not optional: this policy is the guarantee that every VM under the folder is confidential.
        self.confidential_policy = gcp.orgpolicy.Policy(
            f"{name}-confidential-only",
            name=self.folder.name.apply(
                lambda folder: f"{folder}/policies/{CONFIDENTIAL_CONSTRAINT}"
            ),
            parent=self.folder.name,
            spec={"rules": [{"values": {"denied_values": list(CONFIDENTIAL_SERVICES)}}]},
            opts=child(self),
        )
        self.deny_policy: gcp.iam.DenyPolicy | None = None
        if args.deny_policy is not None:
            spec = args.deny_policy
            self.deny_policy = gcp.iam.DenyPolicy(
                f"{name}-deny",
                name="sandbox-guard",
                display_name="Confidential sandbox guard rails",
                # The attachment point is the folder's URL-encoded full resource name.
                parent=self.folder.folder_id.apply(
                    lambda folder_id: quote(
                        f"cloudresourcemanager.googleapis.com/folders/{folder_id}", safe=""
                    )
                ),
                rules=[
                    {
                        "description": "Only the sandbox owners may open side doors to the nodes or the service accounts.",
                        "deny_rule": {
                            "denied_principals": list(args.denied_principals or []),
                            "exception_principals": list(spec.exception_principals),
                            "denied_permissions": list(spec.denied_permissions),
                        },
                    }
                ],
                opts=child(self),
            )
        self.folder_name = self.folder.name
        self.folder_id = self.folder.folder_id
        self.register_outputs({"folderName": self.folder_name, "folderId": self.folder_id})
