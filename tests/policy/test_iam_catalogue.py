"""The vendored IAM catalogue, its refresh command, and the deny-support verdicts."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from infra import iam_catalogue as refresh
from policy.iam_catalogue import load, parse, v1_name
from policy.rules.iam_names import check_iam_names_exist


def test_the_snapshot_says_where_it_comes_from_and_when():
    doc = json.loads(Path("policy/iam_catalogue.json").read_text())
    assert doc["generated"] == "2026-12-04"
    assert doc["sources"]["roles"].startswith("https://github.com/iann0036/iam-dataset")
    assert doc["sources"]["deny"] == "https://cloud.google.com/iam/docs/deny-permissions-support"


def test_the_snapshot_knows_the_roles_and_permissions_the_program_uses():
    catalogue = load()
    for role in ("roles/storage.objectViewer", "roles/container.clusterViewer"):
        assert catalogue.role_exists(role), role
    assert not catalogue.role_exists("roles/storage.objectReaderX")
    assert catalogue.permission_exists("iam.serviceAccountKeys.create")
    # Uploading a key is authorised by create; there is no upload permission.
    assert not catalogue.permission_exists("iam.serviceAccountKeys.upload")
    assert (
        "container.clusters.connect" in catalogue.role_permissions["roles/container.clusterViewer"]
    )


def _deny_policy(*permissions: str) -> dict:
    return {
        "urn": "urn:deny",
        "type": "gcp:iam/denyPolicy:DenyPolicy",
        "name": "deny",
        "inputs": {"rules": [{"denyRule": {"deniedPermissions": list(permissions)}}]},
    }


COMPLETE = parse(
    {
        "roles": ["roles/iam.serviceAccountKeyAdmin"],
        "permissions": {"iam": ["serviceAccountKeys.create"], "compute": ["instances.get"]},
        "denySupported": {
            "complete": True,
            "services": {"iam.googleapis.com": ["serviceAccountKeys.*"]},
        },
    }
)


def test_a_complete_deny_list_rejects_unsupported_permissions_and_services():
    found = list(
        check_iam_names_exist(
            [
                _deny_policy(
                    "iam.googleapis.com/serviceAccountKeys.create",
                    "compute.googleapis.com/instances.get",
                    "iam.serviceAccountKeys.create",
                )
            ],
            COMPLETE,
        )
    )
    assert [v.message for v in found] == [
        'gcp:iam/denyPolicy:DenyPolicy "deny": rules[0].denyRule.deniedPermissions[1] '
        '"compute.googleapis.com/instances.get" names a service (compute.googleapis.com) whose '
        "permissions deny policies do not support",
        'gcp:iam/denyPolicy:DenyPolicy "deny": rules[0].denyRule.deniedPermissions[2] '
        '"iam.serviceAccountKeys.create" is not in service.googleapis.com/resource.verb form',
    ]


def test_v1_names_drop_the_host_suffix():
    assert v1_name("iam.googleapis.com/roles.delete") == "iam.roles.delete"


def test_refresh_rebuilds_the_snapshot_from_the_sources(tmp_path):
    roles = tmp_path / "dataset" / "gcp" / "roles"
    roles.mkdir(parents=True)
    (roles / "a.json").write_text(
        json.dumps(
            {"name": "roles/storage.objectViewer", "includedPermissions": ["storage.objects.get"]}
        )
    )
    (roles / "b.json").write_text(
        json.dumps({"name": "roles/x.y", "includedPermissions": ["x.a.b"]})
    )
    page = tmp_path / "deny.html"
    page.write_text("<td>storage.googleapis.com/objects.get</td><td>x.googleapis.com/a.*</td>")
    out = tmp_path / "catalogue.json"
    args = argparse.Namespace(
        refresh=True, dataset=tmp_path / "dataset", deny_page=str(page), out=out, dataset_ref="abc"
    )
    assert refresh.run(args) == 0
    doc = json.loads(out.read_text())
    assert doc["roles"] == ["roles/storage.objectViewer", "roles/x.y"]
    assert doc["permissions"] == {"storage": ["objects.get"], "x": ["a.b"]}
    assert doc["rolePermissions"] == {"roles/storage.objectViewer": ["storage.objects.get"]}
    assert doc["denySupported"] == {
        "complete": True,
        "services": {"storage.googleapis.com": ["objects.get"], "x.googleapis.com": ["a.*"]},
    }
    assert doc["sources"]["roles"].endswith(" at abc")
