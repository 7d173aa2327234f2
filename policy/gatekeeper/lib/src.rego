# Shared helpers for every gke-sandbox ConstraintTemplate (shipped as a Gatekeeper `libs` entry).
#
# Why a library: every template must see the pod spec of a Pod *and* of every workload kind that
# creates pods, and must walk all three container lists. Doing that once, with its own tests,
# keeps a missed kind or list from silently opening a hole in one template.
#
# Syntax: `contains`/`if` keywords with their future.keywords imports, which OPA v0 (Gatekeeper's
# default) and OPA v1 both accept. Messages are built with concat().
package lib.sandbox

import future.keywords.contains
import future.keywords.if
import future.keywords.in

# Workload kinds whose pod template lives at spec.template.spec.
template_kinds := {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"}

# The kind under review: Gatekeeper fills input.review.kind from the admission request; fall back
# to the object's own kind for audit-style inputs that only carry the object.
review_kind := k if {
	k := input.review.kind.kind
} else := k if {
	k := input.review.object.kind
} else := "<unknown kind>"

review_namespace := ns if {
	ns := input.review.object.metadata.namespace
	ns != ""
} else := ns if {
	ns := input.review.namespace
	ns != ""
} else := "<no namespace>"

review_name := n if {
	n := input.review.object.metadata.name
	n != ""
} else := n if {
	n := input.review.name
	n != ""
} else := n if {
	n := concat("", [input.review.object.metadata.generateName, "*"])
} else := "<unnamed>"

# "Deployment ns1/harness": how every message names the object.
object_ref := concat("", [review_kind, " ", review_namespace, "/", review_name])

# Every pod spec the reviewed object would run, with the path it sits at and the pod's metadata
# (annotations carry settings such as the AppArmor beta annotation).
pod_specs contains {"spec": spec, "path": "spec", "metadata": meta} if {
	review_kind == "Pod"
	spec := input.review.object.spec
	meta := object.get(input.review.object, "metadata", {})
}

pod_specs contains {"spec": spec, "path": "spec.template.spec", "metadata": meta} if {
	review_kind in template_kinds
	spec := input.review.object.spec.template.spec
	meta := object.get(input.review.object.spec.template, "metadata", {})
}

pod_specs contains {"spec": spec, "path": "spec.jobTemplate.spec.template.spec", "metadata": meta} if {
	review_kind == "CronJob"
	spec := input.review.object.spec.jobTemplate.spec.template.spec
	meta := object.get(input.review.object.spec.jobTemplate.spec.template, "metadata", {})
}

# Every container of every pod spec, one rule per container list.
containers contains {"list": "containers", "role": "container", "container": c, "spec": p.spec} if {
	some p in pod_specs
	some c in p.spec.containers
}

containers contains {"list": "initContainers", "role": "initContainer", "container": c, "spec": p.spec} if {
	some p in pod_specs
	some c in p.spec.initContainers
}

containers contains {"list": "ephemeralContainers", "role": "ephemeralContainer", "container": c, "spec": p.spec} if {
	some p in pod_specs
	some c in p.spec.ephemeralContainers
}

container_name(c) := n if {
	n := c.name
} else := "<unnamed>"

# "Deployment ns1/harness, initContainer setup": how every message names a container.
where(x) := concat("", [object_ref, ", ", x.role, " ", container_name(x.container)])

image(c) := img if {
	img := c.image
	is_string(img)
} else := ""

# Image references: repository = everything before "@digest" with any ":tag" on the last path
# segment removed (a registry host may carry ":port", so only the last segment is inspected).
image_repository(img) := repo if {
	name := split(img, "@")[0]
	parts := split(name, "/")
	last := count(parts) - 1
	repo := concat("/", array.concat(array.slice(parts, 0, last), [split(parts[last], ":")[0]]))
}

# A reference is pinned when it ends in @sha256:<64 lowercase hex>; a tag may precede the digest
# (the runtime ignores it once a digest is present).
pinned_by_digest(img) if {
	regex.match(`^[^@\s]+@sha256:[a-f0-9]{64}$`, img)
}

image_digest(img) := d if {
	pinned_by_digest(img)
	d := split(img, "@")[1]
}

# True when `repo` is one of the allowed repository prefixes, on a path-segment boundary so that
# "registry/project/repo1" never admits "registry/project/repo1-evil".
repo_allowed(repo, allowed) if {
	some prefix in allowed
	trim_suffix(prefix, "/") == repo
}

repo_allowed(repo, allowed) if {
	some prefix in allowed
	p := trim_suffix(prefix, "/")
	p != ""
	startswith(repo, concat("", [p, "/"]))
}

# The service account a pod runs as. `serviceAccount` is the deprecated alias the API server
# copies into `serviceAccountName` when that is empty; an empty pair means "default".
service_account_names(spec) := {n |
	some field in ["serviceAccountName", "serviceAccount"]
	n := spec[field]
	is_string(n)
	n != ""
}

runs_as(spec, sa) if {
	sa in service_account_names(spec)
}

runs_as(spec, sa) if {
	sa == "default"
	count(service_account_names(spec)) == 0
}

# Workload-identity templates take the KSA from parameters; without it they fail closed.
workload_sa_configured if {
	sa := input.parameters.serviceAccountName
	is_string(sa)
	sa != ""
}

# Pod specs of the reviewed object that run as the workload KSA.
workload_pod_specs contains p if {
	workload_sa_configured
	some p in pod_specs
	runs_as(p.spec, input.parameters.serviceAccountName)
}

workload_containers contains x if {
	workload_sa_configured
	some x in containers
	runs_as(x.spec, input.parameters.serviceAccountName)
}

# One violation per pod spec when a workload-identity constraint lacks its KSA parameter.
misconfigured_msgs contains msg if {
	not workload_sa_configured
	some p in pod_specs
	msg := concat("", [object_ref, ": constraint has no parameters.serviceAccountName; refusing every pod until it is configured"])
}

# The effective value of a securityContext field: the container's own, else the pod's.
effective_security(x, field) := v if {
	v := x.container.securityContext[field]
	v != null
} else := v if {
	v := x.spec.securityContext[field]
	v != null
}

# The effective value, or `fallback` when neither level sets it. Use this (never
# `not effective_security(...) == v`) in a negation: OPA evaluates a function call nested in a `not`
# before the negation, so an undefined value makes the whole rule fail instead of fire (OPA
# issues #1877, #4743). Binding the value with an `else` default keeps "missing" a violation.
effective_security_or(x, field, fallback) := v if {
	v := effective_security(x, field)
} else := fallback

# Any JSON value as message text (strings unquoted).
text(v) := v if {
	is_string(v)
} else := sprintf("%v", [v])

# The kind of a volume is its single source key besides "name" (secret, emptyDir, hostPath...).
volume_kinds(vol) := {k |
	vol[k]
	k != "name"
}
