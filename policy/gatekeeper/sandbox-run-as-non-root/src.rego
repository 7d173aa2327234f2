# Root in a container is one kernel bug away from root on the node. The effective runAsNonRoot
# (the container's value, else the pod's) must be true, and the effective runAsUser must not be 0.
# runAsNonRoot alone is checked by the kubelet against the image's user at start; an explicit
# runAsUser: 0 is refused here already at admission.
package sandboxrunasnonroot

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

violation contains {"msg": msg} if {
	some x in sandbox.containers
	sandbox.effective_security_or(x, "runAsNonRoot", false) != true
	msg := concat("", [sandbox.where(x), ": runAsNonRoot must be true (on the container or the pod)"])
}

violation contains {"msg": msg} if {
	some x in sandbox.containers
	sandbox.effective_security(x, "runAsUser") == 0
	msg := concat("", [sandbox.where(x), ": runAsUser 0 (root) is not allowed"])
}
