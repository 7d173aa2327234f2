package sandboxcontainerprivileges

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

with_sc(field, value) := fx.set_path(fx.harness_pod_spec, ["containers", 0, "securityContext", field], value)

test_hardened_allowed_in_every_kind if {
	allowed := {obj.kind | some obj in fx.all_workloads(fx.harness_pod_spec); count(msgs(obj, {})) == 0}
	allowed == fx.all_kinds
}

test_hardened_helper_allowed if {
	count(msgs(fx.pod(fx.helper_pod_spec), {})) == 0
}

test_privileged_denied_in_every_kind if {
	spec := with_sc("privileged", true)
	denied := {obj.kind |
		some obj in fx.all_workloads(spec)
		msgs(obj, {}) == {concat("", [obj.kind, " ns1/harness, container harness: privileged containers are not allowed"])}
	}
	denied == fx.all_kinds
}

test_escalation_true_denied if {
	msgs(fx.pod(with_sc("allowPrivilegeEscalation", true)), {}) == {"Pod ns1/harness, container harness: securityContext.allowPrivilegeEscalation must be false"}
}

test_escalation_unset_denied if {
	spec := fx.remove_path(fx.harness_pod_spec, ["containers", 0, "securityContext", "allowPrivilegeEscalation"])
	msgs(fx.deployment(spec), {}) == {"Deployment ns1/harness, container harness: securityContext.allowPrivilegeEscalation must be false"}
}

test_added_capability_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "securityContext", "capabilities", "add"], ["SYS_PTRACE", "NET_ADMIN"])
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, container harness: adding capabilities is not allowed (SYS_PTRACE, NET_ADMIN)"}
}

test_drop_all_required if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "securityContext", "capabilities", "drop"], ["NET_RAW"])
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, container harness: securityContext.capabilities.drop must include ALL"}
}

test_no_security_context_denied_for_each_reason if {
	spec := fx.remove_path(fx.harness_pod_spec, ["containers", 0, "securityContext"])
	msgs(fx.pod(spec), {}) == {
		"Pod ns1/harness, container harness: securityContext.allowPrivilegeEscalation must be false",
		"Pod ns1/harness, container harness: securityContext.capabilities.drop must include ALL",
	}
}

test_unmasked_proc_denied if {
	msgs(fx.pod(with_sc("procMount", "Unmasked")), {}) == {"Pod ns1/harness, container harness: securityContext.procMount must be Default, not Unmasked"}
}

test_default_proc_allowed if {
	count(msgs(fx.pod(with_sc("procMount", "Default")), {})) == 0
}

test_privileged_init_container_denied if {
	c := fx.set_path(fx.renamed_harness("init"), ["securityContext", "privileged"], true)
	spec := fx.with_container(fx.harness_pod_spec, "initContainers", c)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, initContainer init: privileged containers are not allowed"}
}

test_ephemeral_container_without_hardening_denied if {
	c := {"name": "debug", "image": fx.harness_image}
	spec := fx.with_container(fx.harness_pod_spec, "ephemeralContainers", c)
	msgs(fx.pod(spec), {}) == {
		"Pod ns1/harness, ephemeralContainer debug: securityContext.allowPrivilegeEscalation must be false",
		"Pod ns1/harness, ephemeralContainer debug: securityContext.capabilities.drop must include ALL",
	}
}

test_privileged_sidecar_in_helper_pod_denied if {
	c := fx.set_path(fx.renamed_harness("sidecar"), ["securityContext", "capabilities", "add"], ["SYS_ADMIN"])
	spec := fx.with_container(fx.helper_pod_spec, "containers", c)
	msgs(fx.cronjob(spec), {}) == {"CronJob ns1/harness, container sidecar: adding capabilities is not allowed (SYS_ADMIN)"}
}
