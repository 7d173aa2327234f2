package sandboxrunasnonroot

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

no_container_flag := fx.remove_path(fx.harness_pod_spec, ["containers", 0, "securityContext", "runAsNonRoot"])

test_non_root_allowed_in_every_kind if {
	allowed := {obj.kind | some obj in fx.all_workloads(fx.harness_pod_spec); count(msgs(obj, {})) == 0}
	allowed == fx.all_kinds
}

test_pod_level_flag_is_inherited if {
	count(msgs(fx.pod(no_container_flag), {})) == 0
}

test_container_level_flag_alone_is_enough if {
	spec := fx.remove_path(fx.harness_pod_spec, ["securityContext", "runAsNonRoot"])
	count(msgs(fx.pod(spec), {})) == 0
}

test_missing_everywhere_denied_in_every_kind if {
	spec := fx.remove_path(no_container_flag, ["securityContext", "runAsNonRoot"])
	denied := {obj.kind |
		some obj in fx.all_workloads(spec)
		msgs(obj, {}) == {concat("", [obj.kind, " ns1/harness, container harness: runAsNonRoot must be true (on the container or the pod)"])}
	}
	denied == fx.all_kinds
}

test_container_false_overrides_pod_true if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "securityContext", "runAsNonRoot"], false)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, container harness: runAsNonRoot must be true (on the container or the pod)"}
}

test_run_as_user_zero_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "securityContext", "runAsUser"], 0)
	msgs(fx.deployment(spec), {}) == {"Deployment ns1/harness, container harness: runAsUser 0 (root) is not allowed"}
}

test_pod_run_as_user_zero_denied_when_container_does_not_override if {
	spec := fx.set_path(fx.remove_path(fx.harness_pod_spec, ["containers", 0, "securityContext", "runAsUser"]), ["securityContext", "runAsUser"], 0)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, container harness: runAsUser 0 (root) is not allowed"}
}

test_container_user_overrides_pod_root if {
	spec := fx.set_path(fx.harness_pod_spec, ["securityContext", "runAsUser"], 0)
	count(msgs(fx.pod(spec), {})) == 0
}

test_init_container_as_root_denied if {
	c := fx.set_path(fx.renamed_harness("init"), ["securityContext", "runAsNonRoot"], false)
	spec := fx.with_container(fx.harness_pod_spec, "initContainers", c)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, initContainer init: runAsNonRoot must be true (on the container or the pod)"}
}

test_ephemeral_container_inherits_pod_flag if {
	spec := fx.with_container(fx.harness_pod_spec, "ephemeralContainers", {"name": "debug", "image": fx.harness_image})
	count(msgs(fx.pod(spec), {})) == 0
	bare := fx.remove_path(spec, ["securityContext", "runAsNonRoot"])
	msgs(fx.pod(bare), {}) == {"Pod ns1/harness, ephemeralContainer debug: runAsNonRoot must be true (on the container or the pod)"}
}

test_root_sidecar_denied if {
	c := fx.set_path(fx.renamed_harness("sidecar"), ["securityContext", "runAsUser"], 0)
	spec := fx.with_container(fx.helper_pod_spec, "containers", c)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, container sidecar: runAsUser 0 (root) is not allowed"}
}
