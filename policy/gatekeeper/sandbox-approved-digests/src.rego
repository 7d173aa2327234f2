# Pods running as the workload KSA (which Workload Identity maps to the Google service account
# that may decrypt the model) may only run images whose digest the model owner approved. Every
# container list is checked, so an init or ephemeral container cannot smuggle other code in even
# if the pod-shape constraint were missing.
package sandboxapproveddigests

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

violation contains {"msg": msg} if {
	some x in sandbox.workload_containers
	img := sandbox.image(x.container)
	not approved(img)
	msg := concat("", [
		sandbox.where(x), ": runs as workload service account ", input.parameters.serviceAccountName,
		" but image ", shown(img), " is not an approved digest",
	])
}

violation contains {"msg": msg} if {
	some msg in sandbox.misconfigured_msgs
}

approved(img) if {
	sandbox.image_digest(img) in object.get(input.parameters, "digests", [])
}

shown(img) := img if {
	img != ""
} else := "<none>"
