# Test-only fixtures shared by every template's src_test.rego (never shipped to a cluster: files
# ending in _test.rego are not part of any ConstraintTemplate).
#
# Tests pass objects as *function arguments* and bind them to locals before
# `with input.review as <local>`, which keeps Gatekeeper's input.review / input.parameters shape.
package lib.fixtures

import future.keywords.contains
import future.keywords.if
import future.keywords.in

ksa := "tee-sa"

namespace := "ns1"

repo := "us-central1-docker.pkg.dev/b-demo-harness/repo1"

digest := "sha256:79bd5f912186c23fbd086440a18b4ea73aab1a52f0dc873dd2c22aab92b9e315"

other_digest := "sha256:0000000000000000000000000000000000000000000000000000000000000001"

harness_image := concat("", [repo, "/harness@", digest])

helper_image := concat("", [repo, "/helper@", other_digest])

hardened_security_context := {
	"allowPrivilegeEscalation": false,
	"readOnlyRootFilesystem": true,
	"runAsNonRoot": true,
	"runAsUser": 10001,
	"capabilities": {"drop": ["ALL"]},
}

harness_container := {
	"name": "harness",
	"image": harness_image,
	"ports": [{"name": "https", "containerPort": 8443}],
	"env": [
		{"name": "MODEL_URI", "value": "gs://a-demo-model-bucket/my_model.tar.gz.enc"},
		{"name": "HARNESS_TLS_DIR", "value": "/etc/harness/tls"},
	],
	"volumeMounts": [
		{"name": "tls", "mountPath": "/etc/harness/tls", "readOnly": true},
		{"name": "token", "mountPath": "/etc/harness/token", "readOnly": true},
	],
	"readinessProbe": {"httpGet": {"path": "/check", "port": 8443, "scheme": "HTTPS"}},
	"securityContext": hardened_security_context,
}

# The approved harness pod: runs as the workload KSA, fully hardened.
harness_pod_spec := {
	"serviceAccountName": ksa,
	"automountServiceAccountToken": false,
	"enableServiceLinks": false,
	"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
	"containers": [harness_container],
	"volumes": [
		{"name": "tls", "secret": {"secretName": "harness-tls"}},
		{"name": "token", "secret": {"secretName": "harness-token"}},
	],
}

# A hardened pod of the same tenant that does not run as the workload KSA.
helper_pod_spec := {
	"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
	"containers": [{
		"name": "helper",
		"image": helper_image,
		"command": ["/helper", "--serve"],
		"env": [{"name": "ANYTHING", "value": "x"}],
		"securityContext": hardened_security_context,
	}],
	"volumes": [{"name": "cfg", "configMap": {"name": "helper"}}],
}

meta := {"name": "harness", "namespace": namespace, "labels": {"app": "harness"}}

selector := {"matchLabels": {"app": "harness"}}

pod_template(spec) := {"metadata": {"labels": {"app": "harness"}}, "spec": spec}

pod(spec) := {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}

deployment(spec) := {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {"selector": selector, "template": pod_template(spec)}}

replicaset(spec) := {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta, "spec": {"selector": selector, "template": pod_template(spec)}}

statefulset(spec) := {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta, "spec": {"selector": selector, "serviceName": "harness", "template": pod_template(spec)}}

daemonset(spec) := {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta, "spec": {"selector": selector, "template": pod_template(spec)}}

job(spec) := {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": {"template": pod_template(spec)}}

cronjob(spec) := {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta, "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": pod_template(spec)}}}}

replicationcontroller(spec) := {"apiVersion": "v1", "kind": "ReplicationController", "metadata": meta, "spec": {"selector": {"app": "harness"}, "template": pod_template(spec)}}

# Every kind the templates must check, each carrying `spec` as its pod (template) spec.
all_workloads(spec) := [
	pod(spec), deployment(spec), replicaset(spec), statefulset(spec),
	daemonset(spec), job(spec), cronjob(spec), replicationcontroller(spec),
]

all_kinds := {"Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicationController"}

api_group(api_version) := g if {
	contains(api_version, "/")
	g := split(api_version, "/")[0]
} else := ""

api_version_only(api_version) := v if {
	contains(api_version, "/")
	v := split(api_version, "/")[1]
} else := api_version

# Gatekeeper's input.review for a CREATE of `obj` by a tenant user.
review(obj) := {
	"kind": {"group": api_group(obj.apiVersion), "version": api_version_only(obj.apiVersion), "kind": obj.kind},
	"object": obj,
	"name": obj.metadata.name,
	"namespace": obj.metadata.namespace,
	"operation": "CREATE",
	"userInfo": {"username": "bob@example.com", "groups": ["system:authenticated"]},
}

# JSON-patch helpers: one change per test case. Paths are arrays of segments (["containers", 0,
# "image"]).
set_path(doc, path, value) := json.patch(doc, [{"op": "add", "path": path, "value": value}])

remove_path(doc, path) := json.patch(doc, [{"op": "remove", "path": path}])

# The harness pod spec with `c` added to container list `list` ("containers" appends a sidecar).
with_container(spec, list, c) := json.patch(spec, [{"op": "add", "path": [list, "-"], "value": c}]) if {
	list == "containers"
}

with_container(spec, list, c) := json.patch(spec, [{"op": "add", "path": [list], "value": [c]}]) if {
	list != "containers"
}

# A copy of the harness container under another name, for the list tests.
renamed_harness(name) := set_path(harness_container, ["name"], name)

service(type) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "harness", "namespace": namespace},
	"spec": {"type": type, "selector": {"app": "harness"}, "ports": [{"port": 443, "targetPort": 8443}]},
}
