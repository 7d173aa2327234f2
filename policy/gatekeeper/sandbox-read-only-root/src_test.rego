package sandboxreadonlyroot

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

test_read_only_allowed_in_every_kind if {
	allowed := {obj.kind | some obj in fx.all_workloads(fx.harness_pod_spec); count(msgs(obj, {})) == 0}
	allowed == fx.all_kinds
}

test_writable_root_denied_in_every_kind if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "securityContext", "readOnlyRootFilesystem"], false)
	denied := {obj.kind |
		some obj in fx.all_workloads(spec)
		msgs(obj, {}) == {concat("", [obj.kind, " ns1/harness, container harness: securityContext.readOnlyRootFilesystem must be true"])}
	}
	denied == fx.all_kinds
}

test_unset_denied if {
	spec := fx.remove_path(fx.harness_pod_spec, ["containers", 0, "securityContext", "readOnlyRootFilesystem"])
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, container harness: securityContext.readOnlyRootFilesystem must be true"}
}

test_init_container_denied if {
	c := fx.remove_path(fx.renamed_harness("init"), ["securityContext", "readOnlyRootFilesystem"])
	spec := fx.with_container(fx.harness_pod_spec, "initContainers", c)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, initContainer init: securityContext.readOnlyRootFilesystem must be true"}
}

test_ephemeral_container_denied if {
	spec := fx.with_container(fx.harness_pod_spec, "ephemeralContainers", {"name": "debug", "image": fx.harness_image})
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, ephemeralContainer debug: securityContext.readOnlyRootFilesystem must be true"}
}

test_sidecar_denied if {
	c := fx.set_path(fx.renamed_harness("sidecar"), ["securityContext", "readOnlyRootFilesystem"], false)
	spec := fx.with_container(fx.helper_pod_spec, "containers", c)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, container sidecar: securityContext.readOnlyRootFilesystem must be true"}
}
