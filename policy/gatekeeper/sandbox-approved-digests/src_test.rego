package sandboxapproveddigests

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.fixtures as fx
import data.lib.sandbox

params := {"serviceAccountName": fx.ksa, "digests": [fx.digest]}

msgs(obj, p) := out if {
	r := fx.review(obj)
	vs := violation with input.review as r with input.parameters as p
	seen := sandbox.object_ref with input.review as r
	seen != "<unknown kind> <no namespace>/<unnamed>"
	out := {m | some v in vs; m := v.msg}
}

unapproved := concat("", [fx.repo, "/harness@", fx.other_digest])

expected(kind, role, name, img) := concat("", [
	kind, " ns1/harness, ", role, " ", name, ": runs as workload service account tee-sa but image ",
	img, " is not an approved digest",
])

test_approved_harness_allowed_in_every_kind if {
	allowed := {obj.kind | some obj in fx.all_workloads(fx.harness_pod_spec); count(msgs(obj, params)) == 0}
	allowed == fx.all_kinds
}

test_unapproved_digest_denied_in_every_kind if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "image"], unapproved)
	denied := {obj.kind |
		some obj in fx.all_workloads(spec)
		msgs(obj, params) == {expected(obj.kind, "container", "harness", unapproved)}
	}
	denied == fx.all_kinds
}

test_same_digest_from_other_repo_is_approved_here if {
	# the repository is the allowed-repos template's concern; the digest names the content
	img := concat("", ["example.com/other/harness@", fx.digest])
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "image"], img)
	count(msgs(fx.pod(spec), params)) == 0
}

test_tag_is_not_approved if {
	img := concat("", [fx.repo, "/harness:v1"])
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "image"], img)
	msgs(fx.pod(spec), params) == {expected("Pod", "container", "harness", img)}
}

test_unapproved_init_container_denied if {
	spec := fx.with_container(fx.harness_pod_spec, "initContainers", fx.set_path(fx.renamed_harness("init"), ["image"], unapproved))
	msgs(fx.deployment(spec), params) == {expected("Deployment", "initContainer", "init", unapproved)}
}

test_unapproved_ephemeral_container_denied if {
	spec := fx.with_container(fx.harness_pod_spec, "ephemeralContainers", fx.set_path(fx.renamed_harness("debug"), ["image"], unapproved))
	msgs(fx.pod(spec), params) == {expected("Pod", "ephemeralContainer", "debug", unapproved)}
}

test_unapproved_sidecar_denied if {
	spec := fx.with_container(fx.harness_pod_spec, "containers", fx.set_path(fx.renamed_harness("sidecar"), ["image"], unapproved))
	msgs(fx.daemonset(spec), params) == {expected("DaemonSet", "container", "sidecar", unapproved)}
}

test_deprecated_service_account_field_still_checked if {
	spec := fx.set_path(fx.remove_path(fx.harness_pod_spec, ["serviceAccountName"]), ["serviceAccount"], fx.ksa)
	bad := fx.set_path(spec, ["containers", 0, "image"], unapproved)
	msgs(fx.pod(bad), params) == {expected("Pod", "container", "harness", unapproved)}
}

test_default_service_account_when_ksa_is_default if {
	spec := fx.set_path(fx.remove_path(fx.harness_pod_spec, ["serviceAccountName"]), ["containers", 0, "image"], unapproved)
	p := {"serviceAccountName": "default", "digests": [fx.digest]}
	count(msgs(fx.pod(spec), p)) == 1
	count(msgs(fx.pod(spec), params)) == 0
}

test_other_service_account_not_restricted if {
	count(msgs(fx.pod(fx.helper_pod_spec), params)) == 0
}

test_missing_service_account_parameter_fails_closed if {
	msgs(fx.pod(fx.helper_pod_spec), {"digests": [fx.digest]}) == {"Pod ns1/harness: constraint has no parameters.serviceAccountName; refusing every pod until it is configured"}
}

test_empty_digest_list_denies_workload_pods if {
	count(msgs(fx.pod(fx.harness_pod_spec), {"serviceAccountName": fx.ksa, "digests": []})) == 1
}
