# NodePort and LoadBalancer Services open the tenant's pods to the network outside the Ingress
# and its TLS policy; ExternalName turns a cluster DNS name into an alias for any host; externalIPs
# lets a Service capture traffic for arbitrary addresses (CVE-2020-8554). A missing spec.type is
# ClusterIP, as in the API server's defaulting.
package sandboxservicetypes

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

service_type := t if {
	t := input.review.object.spec.type
	is_string(t)
	t != ""
} else := "ClusterIP"

violation contains {"msg": msg} if {
	sandbox.review_kind == "Service"
	not service_type in object.get(input.parameters, "allowedTypes", [])
	msg := concat("", [sandbox.object_ref, ": Service type ", service_type, " is not allowed (allowed: ", concat(", ", object.get(input.parameters, "allowedTypes", [])), ")"])
}

violation contains {"msg": msg} if {
	sandbox.review_kind == "Service"
	count(object.get(input.review.object, ["spec", "externalIPs"], [])) > 0
	msg := concat("", [sandbox.object_ref, ": Service externalIPs are not allowed"])
}
