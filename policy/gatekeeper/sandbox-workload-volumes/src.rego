# Volumes are the other way to put code into the approved image: a Secret, ConfigMap or any
# writable volume mounted over the harness's package or Python's site-packages replaces what the
# signed entrypoint imports. For pods running as the workload KSA:
#   - every volume must be of an allowed kind (default: secret, emptyDir). `projected` is not in
#     the default list: with Workload Identity the harness needs no Kubernetes token, so pods set
#     automountServiceAccountToken: false (the pod-shape template requires it) and the API
#     server's ServiceAccount admission injects no kube-api-access-* volume;
#   - every volumeMount must sit at or under an allowed directory, compared on path segments;
#   - no volumeDevices (raw block devices).
package sandboxworkloadvolumes

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

violation contains {"msg": msg} if {
	some p in sandbox.workload_pod_specs
	some vol in p.spec.volumes
	some kind in sandbox.volume_kinds(vol)
	not kind in object.get(input.parameters, "allowedVolumeKinds", [])
	msg := concat("", [
		sandbox.object_ref, ": volume ", volume_name(vol), " is of kind ", kind,
		", not allowed for workload service account ", input.parameters.serviceAccountName,
		" (allowed: ", concat(", ", object.get(input.parameters, "allowedVolumeKinds", [])), ")",
	])
}

violation contains {"msg": msg} if {
	some x in sandbox.workload_containers
	some m in x.container.volumeMounts
	path := object.get(m, "mountPath", "")
	not mount_allowed(path)
	msg := concat("", [
		sandbox.where(x), ": mounts volume ", sandbox.text(object.get(m, "name", "<unnamed>")), " at ", sandbox.text(path),
		", outside the allowed paths (", concat(", ", object.get(input.parameters, "allowedMountPaths", [])), ")",
	])
}

violation contains {"msg": msg} if {
	some x in sandbox.workload_containers
	count(object.get(x.container, "volumeDevices", [])) > 0
	msg := concat("", [sandbox.where(x), ": volumeDevices are not allowed for workload service account ", input.parameters.serviceAccountName])
}

violation contains {"msg": msg} if {
	some msg in sandbox.misconfigured_msgs
}

volume_name(vol) := n if {
	n := vol.name
	is_string(n)
} else := "<unnamed>"

# Exactly an allowed directory or beneath it; ".." segments never pass.
mount_allowed(path) if {
	is_string(path)
	not ".." in split(path, "/")
	some allowed in object.get(input.parameters, "allowedMountPaths", [])
	under(trim_suffix(path, "/"), trim_suffix(allowed, "/"))
}

under(path, dir) if {
	dir != ""
	path == dir
}

under(path, dir) if {
	dir != ""
	startswith(path, concat("", [dir, "/"]))
}
