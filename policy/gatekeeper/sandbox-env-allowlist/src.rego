# Environment variables can make the approved image run other code: PYTHONPATH/PYTHONSTARTUP and
# friends, LD_PRELOAD, GCONV_PATH, a PATH pointing at a mounted file, or CA-bundle and proxy
# variables that redirect whom the harness trusts. Pods running as the workload KSA may only set
# exact names from the allowlist, may not use envFrom (it imports names unknown at admission), and
# the names below are refused even when an allowlist lists them (components.gatekeeper_policy mirrors them in
# ALWAYS_DENIED_ENV_PREFIXES / ALWAYS_DENIED_ENV_NAMES). Prefixes compare case-insensitively.
# Such pods must also turn off service links, the kubelet's own environment injection.
package sandboxenvallowlist

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

always_denied_prefixes := ["GCONV_", "GLIBC_", "LD_", "PYTHON", "SSL_CERT_"]

always_denied_names := [
	"ALL_PROXY", "CURL_CA_BUNDLE", "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", "GRPC_PROXY",
	"HTTPS_PROXY", "HTTP_PROXY", "PATH", "REQUESTS_CA_BUNDLE",
]

always_denied(name) if {
	upper(name) in always_denied_names
}

always_denied(name) if {
	some prefix in always_denied_prefixes
	startswith(upper(name), prefix)
}

allowed(name) if {
	name in object.get(input.parameters, "allowedEnv", [])
	not always_denied(name)
}

env_name(e) := n if {
	n := e.name
	is_string(n)
} else := "<unnamed>"

violation contains {"msg": msg} if {
	some x in sandbox.workload_containers
	some e in x.container.env
	name := env_name(e)
	always_denied(name)
	msg := concat("", [sandbox.where(x), ": env ", name, " can change the code the harness runs or whom it trusts and is never allowed for workload service account ", input.parameters.serviceAccountName])
}

violation contains {"msg": msg} if {
	some x in sandbox.workload_containers
	some e in x.container.env
	name := env_name(e)
	not always_denied(name)
	not allowed(name)
	msg := concat("", [sandbox.where(x), ": env ", name, " is not in the allowlist for workload service account ", input.parameters.serviceAccountName])
}

violation contains {"msg": msg} if {
	some x in sandbox.workload_containers
	count(object.get(x.container, "envFrom", [])) > 0
	msg := concat("", [sandbox.where(x), ": envFrom is not allowed for workload service account ", input.parameters.serviceAccountName, "; list each variable under env"])
}

# With service links on (the default) the kubelet injects <SERVICE>_SERVICE_HOST/_PORT... for every
# Service of the namespace: names the tenant chooses, invisible at admission, outside the allowlist.
violation contains {"msg": msg} if {
	some p in sandbox.workload_pod_specs
	object.get(p.spec, "enableServiceLinks", null) != false
	msg := concat("", [sandbox.object_ref, ": pods running as workload service account ", input.parameters.serviceAccountName, " must set enableServiceLinks: false (the kubelet would inject variables named after the namespace's Services)"])
}

violation contains {"msg": msg} if {
	some msg in sandbox.misconfigured_msgs
}
