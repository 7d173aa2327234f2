# Volumes other than these reach node storage or network file systems (nfs, iscsi, rbd, gitRepo
# running git on the node...). For every pod of the tenant, only the kinds Pod Security
# "restricted" allows are admitted, so the rule holds even where the namespace's Pod Security
# label is changed or a future version relaxes it. hostPath is refused (with its path in the
# message) by sandbox-host-access, so it is not reported twice. Pods running as the workload
# KSA are held to a shorter list by sandbox-workload-volumes.
package sandboxvolumekinds

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

# kubernetes.io/docs/concepts/security/pod-security-standards ("Volume Types", restricted).
allowed_kinds := {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}

violation contains {"msg": msg} if {
	some p in sandbox.pod_specs
	some vol in object.get(p.spec, "volumes", [])
	some kind in sandbox.volume_kinds(vol)
	kind != "hostPath"
	not kind in allowed_kinds
	msg := concat("", [sandbox.object_ref, ": volume ", sandbox.text(object.get(vol, "name", "<unnamed>")), " is of kind ", kind, ", not allowed in a tenant pod (allowed: ", concat(", ", sort(allowed_kinds)), ")"])
}
