# An approved digest only means something if the image's own entrypoint runs. For pods running as
# the workload KSA this denies every field that makes the container run something else: command,
# args and workingDir, and `exec` handlers in probes and lifecycle hooks (each runs an arbitrary
# command inside the harness container, next to the decrypted model). httpGet, tcpSocket, grpc
# and sleep handlers run no code in the container and stay allowed.
package sandboxnocommandoverride

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

overriding_fields := ["command", "args", "workingDir"]

probes := ["livenessProbe", "readinessProbe", "startupProbe"]

hooks := ["postStart", "preStop"]

violation contains {"msg": msg} if {
	some x in sandbox.workload_containers
	some field in overriding_fields
	x.container[field] != null
	msg := concat("", [sandbox.where(x), ": sets ", field, " on a pod running as workload service account ", input.parameters.serviceAccountName, "; the approved image's entrypoint must run unchanged"])
}

violation contains {"msg": msg} if {
	some x in sandbox.workload_containers
	some probe in probes
	x.container[probe].exec != null
	msg := concat("", [sandbox.where(x), ": ", probe, " uses exec on a pod running as workload service account ", input.parameters.serviceAccountName, "; use httpGet, tcpSocket or grpc"])
}

violation contains {"msg": msg} if {
	some x in sandbox.workload_containers
	some hook in hooks
	x.container.lifecycle[hook].exec != null
	msg := concat("", [sandbox.where(x), ": lifecycle.", hook, " uses exec on a pod running as workload service account ", input.parameters.serviceAccountName])
}

violation contains {"msg": msg} if {
	some msg in sandbox.misconfigured_msgs
}
