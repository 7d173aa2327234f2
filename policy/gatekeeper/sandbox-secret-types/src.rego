# RBAC lets a tenant write Secrets (TLS pairs, tokens for its own services), but it cannot say
# which kinds. A `kubernetes.io/service-account-token` Secret naming a service account in the
# `kubernetes.io/service-account.name` annotation is filled by the token controller with a
# non-expiring token for that account: a side door to minting tokens for the workload KSA, which
# RBAC closes for `serviceaccounts/token`. A missing type is Opaque, as the API server defaults it.
package sandboxsecrettypes

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

secret_type := t if {
	t := input.review.object.type
	is_string(t)
	t != ""
} else := "Opaque"

violation contains {"msg": msg} if {
	sandbox.review_kind == "Secret"
	not secret_type in object.get(input.parameters, "allowedTypes", [])
	msg := concat("", [sandbox.object_ref, ": Secret type ", secret_type, " is not allowed (allowed: ", concat(", ", object.get(input.parameters, "allowedTypes", [])), ")"])
}

violation contains {"msg": msg} if {
	sandbox.review_kind == "Secret"
	annotations := object.get(input.review.object, ["metadata", "annotations"], {})
	account := annotations["kubernetes.io/service-account.name"]
	msg := concat("", [sandbox.object_ref, ": Secret may not name service account ", account, " (token minting)"])
}
