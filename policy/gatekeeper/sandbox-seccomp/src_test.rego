package sandboxseccomp

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

test_pod_level_runtime_default_allowed_in_every_kind if {
	allowed := {obj.kind | some obj in fx.all_workloads(fx.harness_pod_spec); count(msgs(obj, {})) == 0}
	allowed == fx.all_kinds
}

test_container_level_runtime_default_allowed if {
	spec := fx.set_path(fx.remove_path(fx.harness_pod_spec, ["securityContext", "seccompProfile"]), ["containers", 0, "securityContext", "seccompProfile"], {"type": "RuntimeDefault"})
	count(msgs(fx.pod(spec), {})) == 0
}

test_missing_profile_denied_in_every_kind if {
	spec := fx.remove_path(fx.harness_pod_spec, ["securityContext", "seccompProfile"])
	denied := {obj.kind |
		some obj in fx.all_workloads(spec)
		msgs(obj, {}) == {concat("", [obj.kind, " ns1/harness, container harness: seccompProfile.type must be RuntimeDefault (on the container or the pod), got none"])}
	}
	denied == fx.all_kinds
}

test_container_unconfined_overrides_pod if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "securityContext", "seccompProfile"], {"type": "Unconfined"})
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, container harness: seccompProfile.type must be RuntimeDefault (on the container or the pod), got Unconfined"}
}

test_pod_localhost_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["securityContext", "seccompProfile"], {"type": "Localhost", "localhostProfile": "x.json"})
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, container harness: seccompProfile.type must be RuntimeDefault (on the container or the pod), got Localhost"}
}

test_init_container_unconfined_denied if {
	c := fx.set_path(fx.renamed_harness("init"), ["securityContext", "seccompProfile"], {"type": "Unconfined"})
	spec := fx.with_container(fx.harness_pod_spec, "initContainers", c)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, initContainer init: seccompProfile.type must be RuntimeDefault (on the container or the pod), got Unconfined"}
}

test_ephemeral_container_unconfined_denied if {
	c := fx.set_path(fx.renamed_harness("debug"), ["securityContext", "seccompProfile"], {"type": "Unconfined"})
	spec := fx.with_container(fx.harness_pod_spec, "ephemeralContainers", c)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, ephemeralContainer debug: seccompProfile.type must be RuntimeDefault (on the container or the pod), got Unconfined"}
}

test_sidecar_unconfined_denied if {
	c := fx.set_path(fx.renamed_harness("sidecar"), ["securityContext", "seccompProfile"], {"type": "Unconfined"})
	spec := fx.with_container(fx.helper_pod_spec, "containers", c)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, container sidecar: seccompProfile.type must be RuntimeDefault (on the container or the pod), got Unconfined"}
}
