package sandboxvolumekinds

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.fixtures as fx
import data.lib.sandbox

msgs(obj, p) := out if {
	r := fx.review(obj)
	vs := violation with input.review as r with input.parameters as p
	seen := sandbox.object_ref with input.review as r
	seen != "<unknown kind> <no namespace>/<unnamed>"
	out := {m | some v in vs; m := v.msg}
}

test_harness_allowed_in_every_kind if {
	allowed := {obj.kind | some obj in fx.all_workloads(fx.harness_pod_spec); count(msgs(obj, {})) == 0}
	allowed == fx.all_kinds
}

test_restricted_kinds_allowed if {
	vols := [
		{"name": "a", "configMap": {"name": "c"}},
		{"name": "b", "persistentVolumeClaim": {"claimName": "d"}},
		{"name": "c", "downwardAPI": {"items": []}},
		{"name": "d", "projected": {"sources": []}},
	]
	spec := fx.set_path(fx.helper_pod_spec, ["volumes"], vols)
	count(msgs(fx.pod(spec), {})) == 0
}

test_nfs_denied_in_every_kind if {
	spec := fx.set_path(fx.helper_pod_spec, ["volumes"], [{"name": "share", "nfs": {"server": "10.0.0.2", "path": "/"}}])
	denied := {obj.kind |
		some obj in fx.all_workloads(spec)
		msgs(obj, {}) == {concat("", [obj.kind, " ns1/harness: volume share is of kind nfs, not allowed in a tenant pod (allowed: configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret)"])}
	}
	denied == fx.all_kinds
}

test_git_repo_denied if {
	spec := fx.set_path(fx.helper_pod_spec, ["volumes"], [{"name": "src", "gitRepo": {"repository": "https://example.com/x.git"}}])
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness: volume src is of kind gitRepo, not allowed in a tenant pod (allowed: configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret)"}
}

test_host_path_left_to_host_access if {
	spec := fx.set_path(fx.helper_pod_spec, ["volumes"], [{"name": "node", "hostPath": {"path": "/"}}])
	count(msgs(fx.pod(spec), {})) == 0
}
