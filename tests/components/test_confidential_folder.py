"""ConfidentialFolder: every VM under the folder is confidential; the optional deny policy closes side doors."""

from __future__ import annotations

from typing import Any

import pytest

from components.confidential_folder import (
    ConfidentialFolder,
    ConfidentialFolderArgs,
    DenyPolicySpec,
)
from infra.plan.mocks import stable_number
from tests.conftest import resolve

COMPONENT = "gke-sandbox:confidential_folder:ConfidentialFolder"
FOLDER = "gcp:organizations/folder:Folder"
ORG_POLICY = "gcp:orgpolicy/policy:Policy"
DENY = "gcp:iam/denyPolicy:DenyPolicy"
ORG = "673208786098"
ALICE = "principal://goog/subject/alice@example.com"
DENIED = ["iam.googleapis.com/serviceAccountKeys.create"]
# The mock derives folder ids from parent and display name, as tests/conftest documents.
FOLDER_ID = stable_number(f"organizations/{ORG}/sandbox-folder")


def folder_args(**overrides: Any) -> ConfidentialFolderArgs:
    base: dict[str, Any] = {"organization_id": ORG, "display_name": "sandbox-folder"}
    return ConfidentialFolderArgs(**{**base, **overrides})


def with_deny(**overrides: Any) -> ConfidentialFolderArgs:
    spec = DenyPolicySpec(exception_principals=[ALICE], denied_permissions=DENIED)
    return folder_args(deny_policy=spec, **overrides)


def test_folder_sits_under_the_organization(run):
    plan = run(lambda: ConfidentialFolder("folder", folder_args()))
    folder = plan.one(FOLDER)
    assert folder.inputs["parent"] == f"organizations/{ORG}", folder.urn
    assert folder.inputs["displayName"] == "sandbox-folder", folder.urn
    assert folder.inputs["deletionProtection"] is True, folder.urn


def test_org_policy_denies_non_confidential_compute(run):
    plan = run(lambda: ConfidentialFolder("folder", folder_args()))
    policy = plan.one(ORG_POLICY)
    assert (
        policy.inputs["name"]
        == f"folders/{FOLDER_ID}/policies/compute.restrictNonConfidentialComputing"
    ), policy.urn
    assert policy.inputs["parent"] == f"folders/{FOLDER_ID}", policy.urn
    assert policy.inputs["spec"] == {
        "rules": [{"values": {"deniedValues": ["compute.googleapis.com"]}}]
    }, policy.urn


def test_deny_policy_is_optional(run):
    plan = run(lambda: ConfidentialFolder("folder", folder_args()))
    assert plan.of_type(DENY) == []


def test_deny_policy_attaches_to_the_url_encoded_folder(run):
    plan = run(lambda: ConfidentialFolder("folder", with_deny()))
    deny = plan.one(DENY)
    assert (
        deny.inputs["parent"] == f"cloudresourcemanager.googleapis.com%2Ffolders%2F{FOLDER_ID}"
    ), deny.urn
    assert [rule["denyRule"] for rule in deny.inputs["rules"]] == [
        {
            "deniedPrincipals": ["principalSet://goog/public:all"],
            "exceptionPrincipals": [ALICE],
            "deniedPermissions": DENIED,
        }
    ], deny.urn


def test_registered_outputs_name_the_folder(run, registrations):
    made: dict[str, ConfidentialFolder] = {}
    plan = run(lambda: made.setdefault("c", ConfidentialFolder("folder", folder_args())))
    component = plan.one(COMPONENT)
    folder = made["c"].folder
    # The folder's own cloud-assigned name and id, passed through.
    assert registrations.outputs[component.urn] == {
        "folderName": resolve(folder.name),
        "folderId": resolve(folder.folder_id),
    }, component.urn
    assert registrations.outputs[component.urn]["folderName"].startswith("folders/"), component.urn


def test_deny_policy_without_exceptions_is_refused():
    spec = DenyPolicySpec(exception_principals=[], denied_permissions=DENIED)
    with pytest.raises(
        ValueError, match="without exception principals would lock its own admins out"
    ):
        ConfidentialFolder("folder", folder_args(deny_policy=spec))
