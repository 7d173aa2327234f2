# The node hosts the harness too: its PID namespace shows the harness's memory, its network
# namespace the harness's traffic and the node's metadata credentials, and a hostPath reaches the
# container runtime's files. For every pod of the tenant: no hostNetwork/hostPID/hostIPC, no
# hostPath volumes, no hostPort on any container, no Windows hostProcess, and no probe or
# lifecycle handler that names a `host`: the kubelet makes those requests from the node, so a
# host other than the pod's own turns them into requests from the node to anywhere.
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

probe_fields := ["livenessProbe", "readinessProbe", "startupProbe"]

# [field path, handler] for every probe and lifecycle hook of a container.
handlers(c) := {[f, h] | some f in probe_fields; h := c[f]} | {[concat("", ["lifecycle.", f]), h] |
	some f in ["postStart", "preStop"]
	h := c.lifecycle[f]
}

violation contains {"msg": msg} if {
	some x in sandbox.containers
	some pair in handlers(x.container)
	some action in ["httpGet", "tcpSocket"]
	host := object.get(pair[1], [action, "host"], "")
	host != ""
	msg := concat("", [sandbox.where(x), ": ", pair[0], ".", action, ".host ", sandbox.text(host), " is not allowed (the kubelet would connect from the node)"])
}
