package sandboxsecurityprofiles

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.fixtures as fx
import data.lib.sandbox

msgs(obj, p) := out if {
	r := fx.review(obj)
	vs := violation with input.review as r with input.parameters as p
	seen := sandbox.object_ref with input.review as r
	seen != "<unknown kind> <no namespace>/<unnamed>"
	out := {m | some v in vs; m := v.msg}
}

test_harness_allowed_in_every_kind if {
	allowed := {obj.kind | some obj in fx.all_workloads(fx.harness_pod_spec); count(msgs(obj, {})) == 0}
	allowed == fx.all_kinds
}

test_runtime_default_apparmor_allowed if {
	c := fx.set_path(fx.harness_container, ["securityContext", "appArmorProfile"], {"type": "RuntimeDefault"})
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0], c)
	count(msgs(fx.pod(spec), {})) == 0
}

test_unconfined_apparmor_field_denied_in_every_kind if {
	spec := fx.set_path(fx.harness_pod_spec, ["securityContext", "appArmorProfile"], {"type": "Unconfined"})
	denied := {obj.kind |
		some obj in fx.all_workloads(spec)
		msgs(obj, {}) == {concat("", [obj.kind, " ns1/harness: appArmorProfile.type must be RuntimeDefault, got Unconfined"])}
	}
	denied == fx.all_kinds
}

test_apparmor_annotation_unconfined_denied if {
	obj := fx.set_path(fx.deployment(fx.harness_pod_spec), ["spec", "template", "metadata", "annotations"], {"container.apparmor.security.beta.kubernetes.io/harness": "unconfined"})
	msgs(obj, {}) == {"Deployment ns1/harness: AppArmor annotation container.apparmor.security.beta.kubernetes.io/harness must be runtime/default, got unconfined"}
}

test_apparmor_annotation_on_pod_denied if {
	obj := fx.set_path(fx.pod(fx.harness_pod_spec), ["metadata", "annotations"], {"container.apparmor.security.beta.kubernetes.io/harness": "localhost/custom"})
	msgs(obj, {}) == {"Pod ns1/harness: AppArmor annotation container.apparmor.security.beta.kubernetes.io/harness must be runtime/default, got localhost/custom"}
}

test_selinux_user_denied_on_container if {
	c := fx.set_path(fx.harness_container, ["securityContext", "seLinuxOptions"], {"user": "system_u"})
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0], c)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, container harness: seLinuxOptions.user may not be set (got system_u)"}
}

test_selinux_type_outside_container_types_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["securityContext", "seLinuxOptions"], {"type": "spc_t"})
	msgs(fx.cronjob(spec), {}) == {"CronJob ns1/harness: seLinuxOptions.type spc_t is not one of container_engine_t, container_init_t, container_kvm_t, container_t"}
}

test_selinux_container_type_and_level_allowed if {
	spec := fx.set_path(fx.harness_pod_spec, ["securityContext", "seLinuxOptions"], {"type": "container_t", "level": "s0:c123,c456"})
	count(msgs(fx.pod(spec), {})) == 0
}

test_sysctls_denied_in_every_kind if {
	spec := fx.set_path(fx.harness_pod_spec, ["securityContext", "sysctls"], [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}])
	denied := {obj.kind |
		some obj in fx.all_workloads(spec)
		msgs(obj, {}) == {concat("", [obj.kind, " ns1/harness: sysctls are not allowed (net.ipv4.ip_unprivileged_port_start)"])}
	}
	denied == fx.all_kinds
}

test_init_container_apparmor_unconfined_denied if {
	c := fx.set_path(fx.renamed_harness("init"), ["securityContext", "appArmorProfile"], {"type": "Unconfined"})
	spec := fx.with_container(fx.harness_pod_spec, "initContainers", c)
	msgs(fx.job(spec), {}) == {"Job ns1/harness, initContainer init: appArmorProfile.type must be RuntimeDefault, got Unconfined"}
}

test_ephemeral_container_selinux_role_denied if {
	c := fx.set_path(fx.renamed_harness("debug"), ["securityContext", "seLinuxOptions"], {"role": "system_r"})
	spec := fx.with_container(fx.harness_pod_spec, "ephemeralContainers", c)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, ephemeralContainer debug: seLinuxOptions.role may not be set (got system_r)"}
}
