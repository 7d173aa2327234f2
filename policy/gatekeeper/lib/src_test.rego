package lib.sandbox_test

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.fixtures as fx
import data.lib.sandbox

specs_of(obj) := s if {
	r := fx.review(obj)
	s := sandbox.pod_specs with input.review as r
}

containers_of(obj) := s if {
	r := fx.review(obj)
	s := {[x.list, x.role, x.container.name] | some x in sandbox.containers with input.review as r}
}

expected_path := {
	"Pod": "spec",
	"Deployment": "spec.template.spec",
	"ReplicaSet": "spec.template.spec",
	"StatefulSet": "spec.template.spec",
	"DaemonSet": "spec.template.spec",
	"Job": "spec.template.spec",
	"ReplicationController": "spec.template.spec",
	"CronJob": "spec.jobTemplate.spec.template.spec",
}

test_every_workload_kind_yields_its_pod_spec if {
	found := {[obj.kind, p.path] |
		some obj in fx.all_workloads(fx.harness_pod_spec)
		some p in specs_of(obj)
		p.spec == fx.harness_pod_spec
	}
	found == {[k, path] | path := expected_path[k]}
}

test_every_workload_kind_yields_its_pod_metadata if {
	found := {obj.kind |
		some obj in fx.all_workloads(fx.harness_pod_spec)
		some p in specs_of(obj)
		p.metadata.labels == {"app": "harness"}
	}
	found == fx.all_kinds
}

test_unrelated_kind_has_no_pod_spec if {
	count(specs_of(fx.service("ClusterIP"))) == 0
}

test_pod_template_kind_from_object_when_review_kind_missing if {
	r := {"object": fx.pod(fx.harness_pod_spec)}
	s := sandbox.pod_specs with input.review as r
	count(s) == 1
}

test_all_three_container_lists_are_walked if {
	spec := fx.with_container(
		fx.with_container(fx.harness_pod_spec, "initContainers", fx.renamed_harness("init")),
		"ephemeralContainers", fx.renamed_harness("debug"),
	)
	containers_of(fx.cronjob(spec)) == {
		["containers", "container", "harness"],
		["initContainers", "initContainer", "init"],
		["ephemeralContainers", "ephemeralContainer", "debug"],
	}
}

test_sidecar_appends_to_containers if {
	spec := fx.with_container(fx.harness_pod_spec, "containers", fx.renamed_harness("sidecar"))
	containers_of(fx.pod(spec)) == {["containers", "container", "harness"], ["containers", "container", "sidecar"]}
}

test_object_ref_names_kind_namespace_and_name if {
	r := fx.review(fx.deployment(fx.harness_pod_spec))
	ref := sandbox.object_ref with input.review as r
	ref == "Deployment ns1/harness"
}

test_object_ref_uses_generate_name if {
	obj := fx.remove_path(fx.set_path(fx.pod(fx.harness_pod_spec), ["metadata", "generateName"], "harness-"), ["metadata", "name"])
	r := {"kind": {"kind": "Pod"}, "object": obj}
	ref := sandbox.object_ref with input.review as r
	ref == "Pod ns1/harness-*"
}

test_image_repository_strips_tag_and_digest if {
	sandbox.image_repository("reg.example:5000/p/app:1.2@sha256:abc") == "reg.example:5000/p/app"
	sandbox.image_repository("reg.example:5000/p/app") == "reg.example:5000/p/app"
	sandbox.image_repository("nginx:latest") == "nginx"
}

test_pinned_by_digest if {
	sandbox.pinned_by_digest(fx.harness_image)
	sandbox.pinned_by_digest(concat("", [fx.repo, "/harness:v1@", fx.digest]))
	not sandbox.pinned_by_digest(concat("", [fx.repo, "/harness:v1"]))
	not sandbox.pinned_by_digest(concat("", [fx.repo, "/harness@sha256:ABC"]))
	not sandbox.pinned_by_digest(concat("", [fx.repo, "/harness@sha512:", fx.digest]))
	not sandbox.pinned_by_digest("")
}

test_image_digest if {
	sandbox.image_digest(fx.harness_image) == fx.digest
}

test_repo_allowed_is_segment_bounded if {
	sandbox.repo_allowed("r.io/p/repo1/harness", ["r.io/p/repo1"])
	sandbox.repo_allowed("r.io/p/repo1/harness", ["r.io/p/repo1/"])
	sandbox.repo_allowed("r.io/p/repo1", ["r.io/p/repo1"])
	not sandbox.repo_allowed("r.io/p/repo1-evil/harness", ["r.io/p/repo1"])
	not sandbox.repo_allowed("r.io/p/other/harness", ["r.io/p/repo1"])
	not sandbox.repo_allowed("r.io/p/repo1/harness", [])
	not sandbox.repo_allowed("r.io/p/repo1/harness", ["/"])
}

test_runs_as_service_account_name if {
	sandbox.runs_as({"serviceAccountName": "tee-sa"}, "tee-sa")
	not sandbox.runs_as({"serviceAccountName": "other"}, "tee-sa")
}

test_runs_as_deprecated_alias if {
	sandbox.runs_as({"serviceAccount": "tee-sa"}, "tee-sa")
	sandbox.runs_as({"serviceAccountName": "other", "serviceAccount": "tee-sa"}, "tee-sa")
}

test_empty_service_account_means_default if {
	sandbox.runs_as({}, "default")
	sandbox.runs_as({"serviceAccountName": ""}, "default")
	not sandbox.runs_as({}, "tee-sa")
	not sandbox.runs_as({"serviceAccountName": "tee-sa"}, "default")
}

test_effective_security_prefers_container if {
	x := {"container": {"securityContext": {"runAsUser": 5}}, "spec": {"securityContext": {"runAsUser": 0}}}
	sandbox.effective_security(x, "runAsUser") == 5
	y := {"container": {}, "spec": {"securityContext": {"runAsUser": 0}}}
	sandbox.effective_security(y, "runAsUser") == 0
	z := {"container": {"securityContext": {"runAsUser": null}}, "spec": {}}
	not sandbox.effective_security(z, "runAsUser")
}

test_volume_kinds if {
	sandbox.volume_kinds({"name": "v", "hostPath": {"path": "/"}}) == {"hostPath"}
}

test_workload_containers_need_the_ksa_parameter if {
	r := fx.review(fx.pod(fx.harness_pod_spec))
	p := {"serviceAccountName": fx.ksa}
	with_param := sandbox.workload_containers with input.review as r with input.parameters as p
	count(with_param) == 1
	q := {}
	without := sandbox.workload_containers with input.review as r with input.parameters as q
	count(without) == 0
	msgs := sandbox.misconfigured_msgs with input.review as r with input.parameters as q
	msgs == {"Pod ns1/harness: constraint has no parameters.serviceAccountName; refusing every pod until it is configured"}
}
