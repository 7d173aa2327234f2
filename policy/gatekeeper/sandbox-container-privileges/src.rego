# Privilege on the node is a way around every other rule (a privileged container can read the
# memory of the harness on the same node). For every pod of the tenant, every container must:
# not be privileged; set allowPrivilegeEscalation: false explicitly (the default is true);
# add no capabilities and drop ALL; keep procMount at Default.
package sandboxcontainerprivileges

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

violation contains {"msg": msg} if {
	some x in sandbox.containers
	x.container.securityContext.privileged == true
	msg := concat("", [sandbox.where(x), ": privileged containers are not allowed"])
}

violation contains {"msg": msg} if {
	some x in sandbox.containers
	object.get(x.container, ["securityContext", "allowPrivilegeEscalation"], null) != false
	msg := concat("", [sandbox.where(x), ": securityContext.allowPrivilegeEscalation must be false"])
}

violation contains {"msg": msg} if {
	some x in sandbox.containers
	added := object.get(x.container, ["securityContext", "capabilities", "add"], [])
	count(added) > 0
	msg := concat("", [sandbox.where(x), ": adding capabilities is not allowed (", concat(", ", [sandbox.text(c) | some c in added]), ")"])
}

violation contains {"msg": msg} if {
	some x in sandbox.containers
	not "ALL" in object.get(x.container, ["securityContext", "capabilities", "drop"], [])
	msg := concat("", [sandbox.where(x), ": securityContext.capabilities.drop must include ALL"])
}

violation contains {"msg": msg} if {
	some x in sandbox.containers
	mount := x.container.securityContext.procMount
	mount != null
	mount != "Default"
	msg := concat("", [sandbox.where(x), ": securityContext.procMount must be Default, not ", sandbox.text(mount)])
}
