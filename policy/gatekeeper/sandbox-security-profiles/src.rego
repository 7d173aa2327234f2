# The kernel's confinement (AppArmor, SELinux) and the pod's kernel parameters (sysctls) are
# what stand between a compromised container and the harness on the same node. For every pod of
# the tenant: AppArmor may only be the runtime's default (the beta annotation
# `runtime/default`, or appArmorProfile.type RuntimeDefault; unset means the runtime default);
# SELinux options may not name a user or role, and a type only among the container types Pod
# Security "baseline" allows; no sysctls at all (the harness needs none, and "safe" sysctls
# still change how the pod's network stack behaves).
package sandboxsecurityprofiles

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

apparmor_prefix := "container.apparmor.security.beta.kubernetes.io/"

# Pod Security "baseline" (kubernetes.io/docs/concepts/security/pod-security-standards, SELinux).
selinux_types := {"container_t", "container_init_t", "container_kvm_t", "container_engine_t"}

violation contains {"msg": msg} if {
	some p in sandbox.pod_specs
	some key, value in object.get(p.metadata, "annotations", {})
	startswith(key, apparmor_prefix)
	value != "runtime/default"
	msg := concat("", [sandbox.object_ref, ": AppArmor annotation ", key, " must be runtime/default, got ", sandbox.text(value)])
}

# appArmorProfile / seLinuxOptions at the pod level and on every container.
contexts contains {"where": sandbox.object_ref, "sc": sc} if {
	some p in sandbox.pod_specs
	sc := object.get(p.spec, "securityContext", {})
}

contexts contains {"where": sandbox.where(x), "sc": sc} if {
	some x in sandbox.containers
	sc := object.get(x.container, "securityContext", {})
}

violation contains {"msg": msg} if {
	some c in contexts
	profile := object.get(c.sc, "appArmorProfile", null)
	profile != null
	t := object.get(profile, "type", null)
	t != "RuntimeDefault"
	msg := concat("", [c.where, ": appArmorProfile.type must be RuntimeDefault, got ", sandbox.text(t)])
}

violation contains {"msg": msg} if {
	some c in contexts
	some field in ["user", "role"]
	value := object.get(c.sc, ["seLinuxOptions", field], "")
	value != ""
	msg := concat("", [c.where, ": seLinuxOptions.", field, " may not be set (got ", sandbox.text(value), ")"])
}

violation contains {"msg": msg} if {
	some c in contexts
	t := object.get(c.sc, ["seLinuxOptions", "type"], "")
	t != ""
	not t in selinux_types
	msg := concat("", [c.where, ": seLinuxOptions.type ", sandbox.text(t), " is not one of ", concat(", ", sort(selinux_types))])
}

violation contains {"msg": msg} if {
	some p in sandbox.pod_specs
	sysctls := object.get(p.spec, ["securityContext", "sysctls"], [])
	count(sysctls) > 0
	names := [sandbox.text(object.get(s, "name", "<unnamed>")) | some s in sysctls]
	msg := concat("", [sandbox.object_ref, ": sysctls are not allowed (", concat(", ", names), ")"])
}
