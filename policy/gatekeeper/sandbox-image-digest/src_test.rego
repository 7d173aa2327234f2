package sandboximagedigest

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

tagged := concat("", [fx.repo, "/harness:v1"])

test_digest_allowed_in_every_kind if {
	allowed := {obj.kind | some obj in fx.all_workloads(fx.harness_pod_spec); count(msgs(obj, {})) == 0}
	allowed == fx.all_kinds
}

test_tag_and_digest_allowed if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "image"], concat("", [fx.repo, "/harness:v1@", fx.digest]))
	count(msgs(fx.pod(spec), {})) == 0
}

test_tag_denied_in_every_kind if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "image"], tagged)
	denied := {obj.kind |
		some obj in fx.all_workloads(spec)
		msgs(obj, {}) == {concat("", [obj.kind, " ns1/harness, container harness: image ", tagged, " must be pinned by digest (name@sha256:<64 hex>), not by tag"])}
	}
	denied == fx.all_kinds
}

test_untagged_denied if {
	img := concat("", [fx.repo, "/harness"])
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "image"], img)
	count(msgs(fx.pod(spec), {})) == 1
}

test_short_or_uppercase_digest_denied if {
	short := concat("", [fx.repo, "/harness@sha256:abc"])
	upper_hex := concat("", [fx.repo, "/harness@sha256:", upper(trim_prefix(fx.digest, "sha256:"))])
	count(msgs(fx.pod(fx.set_path(fx.harness_pod_spec, ["containers", 0, "image"], short)), {})) == 1
	count(msgs(fx.pod(fx.set_path(fx.harness_pod_spec, ["containers", 0, "image"], upper_hex)), {})) == 1
}

test_tagged_init_container_denied if {
	spec := fx.with_container(fx.harness_pod_spec, "initContainers", fx.set_path(fx.renamed_harness("init"), ["image"], tagged))
	msgs(fx.job(spec), {}) == {concat("", ["Job ns1/harness, initContainer init: image ", tagged, " must be pinned by digest (name@sha256:<64 hex>), not by tag"])}
}

test_tagged_ephemeral_container_denied if {
	spec := fx.with_container(fx.harness_pod_spec, "ephemeralContainers", fx.set_path(fx.renamed_harness("debug"), ["image"], tagged))
	msgs(fx.pod(spec), {}) == {concat("", ["Pod ns1/harness, ephemeralContainer debug: image ", tagged, " must be pinned by digest (name@sha256:<64 hex>), not by tag"])}
}

test_tagged_sidecar_denied if {
	spec := fx.with_container(fx.harness_pod_spec, "containers", fx.set_path(fx.renamed_harness("sidecar"), ["image"], tagged))
	msgs(fx.statefulset(spec), {}) == {concat("", ["StatefulSet ns1/harness, container sidecar: image ", tagged, " must be pinned by digest (name@sha256:<64 hex>), not by tag"])}
}

test_missing_image_denied if {
	spec := fx.remove_path(fx.harness_pod_spec, ["containers", 0, "image"])
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, container harness: image <none> must be pinned by digest (name@sha256:<64 hex>), not by tag"}
}
