# The node hosts the harness too: its PID namespace shows the harness's memory, its network
# namespace the harness's traffic and the node's metadata credentials, and a hostPath reaches the
# container runtime's files. For every pod of the tenant: no hostNetwork/hostPID/hostIPC, no
# hostPath volumes, no hostPort on any container, no Windows hostProcess.
package sandboxhostaccess

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

host_namespaces := ["hostNetwork", "hostPID", "hostIPC"]

violation contains {"msg": msg} if {
	some p in sandbox.pod_specs
	some field in host_namespaces
	p.spec[field] == true
	msg := concat("", [sandbox.object_ref, ": ", field, " is not allowed"])
}

violation contains {"msg": msg} if {
	some p in sandbox.pod_specs
	some vol in p.spec.volumes
	vol.hostPath != null
	msg := concat("", [sandbox.object_ref, ": hostPath volume ", sandbox.text(vol.name), " (", sandbox.text(object.get(vol.hostPath, "path", "")), ") is not allowed"])
}

violation contains {"msg": msg} if {
	some x in sandbox.containers
	some port in x.container.ports
	hp := object.get(port, "hostPort", 0)
	hp != 0
	hp != null
	msg := concat("", [sandbox.where(x), ": hostPort ", sandbox.text(hp), " is not allowed"])
}

violation contains {"msg": msg} if {
	some p in sandbox.pod_specs
	p.spec.securityContext.windowsOptions.hostProcess == true
	msg := concat("", [sandbox.object_ref, ": Windows hostProcess pods are not allowed"])
}

violation contains {"msg": msg} if {
	some x in sandbox.containers
	x.container.securityContext.windowsOptions.hostProcess == true
	msg := concat("", [sandbox.where(x), ": Windows hostProcess containers are not allowed"])
}
