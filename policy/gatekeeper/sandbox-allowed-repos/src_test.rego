package sandboxallowedrepos

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.fixtures as fx
import data.lib.sandbox

params := {"repos": [fx.repo]}

msgs(obj, p) := out if {
	r := fx.review(obj)
	vs := violation with input.review as r with input.parameters as p
	seen := sandbox.object_ref with input.review as r
	seen != "<unknown kind> <no namespace>/<unnamed>"
	out := {m | some v in vs; m := v.msg}
}

foreign := "docker.io/library/python@sha256:79bd5f912186c23fbd086440a18b4ea73aab1a52f0dc873dd2c22aab92b9e315"

test_harness_allowed_in_every_kind if {
	every_kind := {obj.kind | some obj in fx.all_workloads(fx.harness_pod_spec); count(msgs(obj, params)) == 0}
	every_kind == fx.all_kinds
}

test_helper_from_same_repo_allowed if {
	count(msgs(fx.pod(fx.helper_pod_spec), params)) == 0
}

test_trailing_slash_prefix_allowed if {
	count(msgs(fx.pod(fx.harness_pod_spec), {"repos": [concat("", [fx.repo, "/"])]})) == 0
}

test_foreign_container_denied_in_every_kind if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "image"], foreign)
	denied := {obj.kind |
		some obj in fx.all_workloads(spec)
		msgs(obj, params) == {concat("", [obj.kind, " ns1/harness, container harness: image ", foreign, " is not from an allowed repository (", fx.repo, ")"])}
	}
	denied == fx.all_kinds
}

test_foreign_init_container_denied if {
	c := fx.set_path(fx.renamed_harness("init"), ["image"], foreign)
	spec := fx.with_container(fx.harness_pod_spec, "initContainers", c)
	msgs(fx.deployment(spec), params) == {concat("", ["Deployment ns1/harness, initContainer init: image ", foreign, " is not from an allowed repository (", fx.repo, ")"])}
}

test_foreign_ephemeral_container_denied if {
	c := fx.set_path(fx.renamed_harness("debug"), ["image"], foreign)
	spec := fx.with_container(fx.harness_pod_spec, "ephemeralContainers", c)
	msgs(fx.pod(spec), params) == {concat("", ["Pod ns1/harness, ephemeralContainer debug: image ", foreign, " is not from an allowed repository (", fx.repo, ")"])}
}

test_foreign_sidecar_denied_but_harness_not if {
	c := fx.set_path(fx.renamed_harness("sidecar"), ["image"], foreign)
	spec := fx.with_container(fx.harness_pod_spec, "containers", c)
	msgs(fx.pod(spec), params) == {concat("", ["Pod ns1/harness, container sidecar: image ", foreign, " is not from an allowed repository (", fx.repo, ")"])}
}

test_lookalike_repository_denied if {
	img := concat("", [fx.repo, "-evil/harness@", fx.digest])
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "image"], img)
	count(msgs(fx.pod(spec), params)) == 1
}

test_tag_on_allowed_repo_is_not_this_templates_concern if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "image"], concat("", [fx.repo, "/harness:latest"]))
	count(msgs(fx.pod(spec), params)) == 0
}

test_missing_image_denied if {
	spec := fx.remove_path(fx.harness_pod_spec, ["containers", 0, "image"])
	msgs(fx.pod(spec), params) == {concat("", ["Pod ns1/harness, container harness: image <none> is not from an allowed repository (", fx.repo, ")"])}
}

test_no_repos_parameter_denies_everything if {
	count(msgs(fx.pod(fx.harness_pod_spec), {})) == 1
}

test_service_is_ignored if {
	count(msgs(fx.service("ClusterIP"), params)) == 0
}
