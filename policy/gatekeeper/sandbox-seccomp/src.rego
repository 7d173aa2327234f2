# Seccomp RuntimeDefault removes the syscalls most container escapes start with. The effective
# profile (the container's seccompProfile, else the pod's) must be RuntimeDefault; Unconfined,
# Localhost profiles (which this project does not ship) and a missing profile are denied.
package sandboxseccomp

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

violation contains {"msg": msg} if {
	some x in sandbox.containers
	t := profile_type(x)
	t != "RuntimeDefault"
	msg := concat("", [sandbox.where(x), ": seccompProfile.type must be RuntimeDefault (on the container or the pod), got ", shown(t)])
}

# Bound with an `else` default, never negated: a missing profile must fire, not make the rule fail.
profile_type(x) := t if {
	t := sandbox.effective_security(x, "seccompProfile").type
} else := null

shown(t) := "none" if {
	t == null
} else := sandbox.text(t)
