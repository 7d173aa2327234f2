package sandboxworkloadvolumes

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.fixtures as fx
import data.lib.sandbox

paths := ["/tmp", "/etc/harness/tls", "/etc/harness/token"]

params := {"serviceAccountName": fx.ksa, "allowedVolumeKinds": ["emptyDir", "secret"], "allowedMountPaths": paths}

msgs(obj, p) := out if {
	r := fx.review(obj)
	vs := violation with input.review as r with input.parameters as p
	seen := sandbox.object_ref with input.review as r
	seen != "<unknown kind> <no namespace>/<unnamed>"
	out := {m | some v in vs; m := v.msg}
}

kind_msg(kind, name, vkind) := concat("", [
	kind, " ns1/harness: volume ", name, " is of kind ", vkind,
	", not allowed for workload service account tee-sa (allowed: emptyDir, secret)",
])

mount_msg(kind, where, name, path) := concat("", [
	kind, " ns1/harness, ", where, ": mounts volume ", name, " at ", path,
	", outside the allowed paths (/tmp, /etc/harness/tls, /etc/harness/token)",
])

with_volume(vol) := fx.set_path(fx.harness_pod_spec, ["volumes", "-"], vol)

with_mount(name, path) := fx.set_path(fx.harness_pod_spec, ["containers", 0, "volumeMounts", "-"], {"name": name, "mountPath": path})

test_harness_volumes_allowed_in_every_kind if {
	allowed := {obj.kind | some obj in fx.all_workloads(fx.harness_pod_spec); count(msgs(obj, params)) == 0}
	allowed == fx.all_kinds
}

test_empty_dir_under_tmp_allowed if {
	spec := fx.set_path(with_volume({"name": "scratch", "emptyDir": {"medium": "Memory"}}), ["containers", 0, "volumeMounts", "-"], {"name": "scratch", "mountPath": "/tmp/scratch"})
	count(msgs(fx.pod(spec), params)) == 0
}

test_config_map_volume_denied_in_every_kind if {
	spec := with_volume({"name": "code", "configMap": {"name": "evil"}})
	denied := {obj.kind |
		some obj in fx.all_workloads(spec)
		msgs(obj, params) == {kind_msg(obj.kind, "code", "configMap")}
	}
	denied == fx.all_kinds
}

test_projected_token_volume_denied if {
	vol := {"name": "kube-api-access-abcde", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}
	msgs(fx.pod(with_volume(vol)), params) == {kind_msg("Pod", "kube-api-access-abcde", "projected")}
}

test_host_path_and_pvc_denied if {
	msgs(fx.pod(with_volume({"name": "h", "hostPath": {"path": "/"}})), params) == {kind_msg("Pod", "h", "hostPath")}
	msgs(fx.pod(with_volume({"name": "c", "persistentVolumeClaim": {"claimName": "x"}})), params) == {kind_msg("Pod", "c", "persistentVolumeClaim")}
}

test_mount_over_code_denied if {
	spec := with_mount("tls", "/usr/local/lib/python3.11/site-packages")
	msgs(fx.deployment(spec), params) == {mount_msg("Deployment", "container harness", "tls", "/usr/local/lib/python3.11/site-packages")}
}

test_mount_on_lookalike_path_denied if {
	msgs(fx.pod(with_mount("tls", "/tmpx")), params) == {mount_msg("Pod", "container harness", "tls", "/tmpx")}
}

test_mount_with_dotdot_denied if {
	msgs(fx.pod(with_mount("tls", "/tmp/../app")), params) == {mount_msg("Pod", "container harness", "tls", "/tmp/../app")}
}

test_mount_in_init_container_checked if {
	c := fx.set_path(fx.renamed_harness("init"), ["volumeMounts"], [{"name": "tls", "mountPath": "/app"}])
	spec := fx.with_container(fx.harness_pod_spec, "initContainers", c)
	msgs(fx.pod(spec), params) == {mount_msg("Pod", "initContainer init", "tls", "/app")}
}

test_mount_in_ephemeral_container_checked if {
	c := fx.set_path(fx.renamed_harness("debug"), ["volumeMounts"], [{"name": "tls", "mountPath": "/"}])
	spec := fx.with_container(fx.harness_pod_spec, "ephemeralContainers", c)
	msgs(fx.pod(spec), params) == {mount_msg("Pod", "ephemeralContainer debug", "tls", "/")}
}

test_mount_in_sidecar_checked if {
	c := fx.set_path(fx.renamed_harness("sidecar"), ["volumeMounts"], [{"name": "tls", "mountPath": "/etc"}])
	spec := fx.with_container(fx.harness_pod_spec, "containers", c)
	msgs(fx.pod(spec), params) == {mount_msg("Pod", "container sidecar", "tls", "/etc")}
}

test_volume_devices_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "volumeDevices"], [{"name": "d", "devicePath": "/dev/xvda"}])
	msgs(fx.pod(spec), params) == {"Pod ns1/harness, container harness: volumeDevices are not allowed for workload service account tee-sa"}
}

test_other_service_account_unrestricted if {
	count(msgs(fx.pod(fx.helper_pod_spec), params)) == 0
}

test_missing_service_account_parameter_fails_closed if {
	count(msgs(fx.pod(fx.helper_pod_spec), {"allowedVolumeKinds": [], "allowedMountPaths": []})) == 1
}
