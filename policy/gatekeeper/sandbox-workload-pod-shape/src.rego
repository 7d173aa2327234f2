# Any second container in a pod running as the workload KSA gets the same Google identity and
# can decrypt the model (the GKE metadata server identifies the pod, not the container), and a
# shared process namespace lets one container read another's memory through /proc. So such pods
# hold exactly one container and nothing else:
#   - exactly one entry in containers (no sidecars), no initContainers (which includes native
#     sidecars, restartPolicy: Always), no ephemeralContainers;
#   - shareProcessNamespace must not be true;
#   - automountServiceAccountToken must be false: with Workload Identity the harness needs no
#     Kubernetes token, and without the token nothing in the pod can call the API server as the KSA;
#   - no hostAliases, which would redirect the Google API or metadata hostnames.
package sandboxworkloadpodshape

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

sa := input.parameters.serviceAccountName

violation contains {"msg": msg} if {
	some p in sandbox.workload_pod_specs
	n := count(object.get(p.spec, "containers", []))
	n != 1
	msg := concat("", [sandbox.object_ref, ": a pod running as workload service account ", sa, " must have exactly one container, found ", sandbox.text(n), " (no sidecars)"])
}

violation contains {"msg": msg} if {
	some p in sandbox.workload_pod_specs
	some list in ["initContainers", "ephemeralContainers"]
	names := [sandbox.container_name(c) | some c in object.get(p.spec, list, [])]
	count(names) > 0
	msg := concat("", [sandbox.object_ref, ": ", list, " (", concat(", ", names), ") are not allowed in a pod running as workload service account ", sa])
}

violation contains {"msg": msg} if {
	some p in sandbox.workload_pod_specs
	p.spec.shareProcessNamespace == true
	msg := concat("", [sandbox.object_ref, ": shareProcessNamespace is not allowed for workload service account ", sa])
}

violation contains {"msg": msg} if {
	some p in sandbox.workload_pod_specs
	object.get(p.spec, "automountServiceAccountToken", null) != false
	msg := concat("", [sandbox.object_ref, ": pods running as workload service account ", sa, " must set automountServiceAccountToken: false (Workload Identity needs no Kubernetes token)"])
}

violation contains {"msg": msg} if {
	some p in sandbox.workload_pod_specs
	count(object.get(p.spec, "hostAliases", [])) > 0
	msg := concat("", [sandbox.object_ref, ": hostAliases are not allowed for workload service account ", sa])
}

violation contains {"msg": msg} if {
	some msg in sandbox.misconfigured_msgs
}
