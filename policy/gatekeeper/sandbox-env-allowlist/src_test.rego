package sandboxenvallowlist

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.fixtures as fx
import data.lib.sandbox

allow := ["HARNESS_PORT", "HARNESS_TLS_DIR", "MODEL_URI"]

params := {"serviceAccountName": fx.ksa, "allowedEnv": allow}

msgs(obj, p) := out if {
	r := fx.review(obj)
	vs := violation with input.review as r with input.parameters as p
	seen := sandbox.object_ref with input.review as r
	seen != "<unknown kind> <no namespace>/<unnamed>"
	out := {m | some v in vs; m := v.msg}
}

not_listed(kind, where, name) := concat("", [kind, " ns1/harness, ", where, ": env ", name, " is not in the allowlist for workload service account tee-sa"])

never(kind, where, name) := concat("", [
	kind, " ns1/harness, ", where, ": env ", name,
	" can change the code the harness runs or whom it trusts and is never allowed for workload service account tee-sa",
])

with_env(name) := fx.set_path(fx.harness_pod_spec, ["containers", 0, "env", "-"], {"name": name, "value": "x"})

test_allowlisted_env_allowed_in_every_kind if {
	allowed := {obj.kind | some obj in fx.all_workloads(fx.harness_pod_spec); count(msgs(obj, params)) == 0}
	allowed == fx.all_kinds
}

test_value_from_allowed_for_listed_name if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "env", "-"], {"name": "HARNESS_PORT", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "port"}}})
	count(msgs(fx.pod(spec), params)) == 0
}

test_unlisted_env_denied_in_every_kind if {
	denied := {obj.kind |
		some obj in fx.all_workloads(with_env("DEBUG"))
		msgs(obj, params) == {not_listed(obj.kind, "container harness", "DEBUG")}
	}
	denied == fx.all_kinds
}

test_pythonpath_denied if {
	msgs(fx.pod(with_env("PYTHONPATH")), params) == {never("Pod", "container harness", "PYTHONPATH")}
}

test_python_prefix_denied_even_if_allowlisted if {
	p := {"serviceAccountName": fx.ksa, "allowedEnv": array.concat(allow, ["PYTHONSTARTUP", "LD_PRELOAD", "PATH"])}
	msgs(fx.pod(with_env("PYTHONSTARTUP")), p) == {never("Pod", "container harness", "PYTHONSTARTUP")}
	msgs(fx.pod(with_env("LD_PRELOAD")), p) == {never("Pod", "container harness", "LD_PRELOAD")}
	msgs(fx.pod(with_env("PATH")), p) == {never("Pod", "container harness", "PATH")}
}

test_denied_prefix_is_case_insensitive if {
	msgs(fx.pod(with_env("ld_library_path")), params) == {never("Pod", "container harness", "ld_library_path")}
	msgs(fx.pod(with_env("https_proxy")), params) == {never("Pod", "container harness", "https_proxy")}
}

test_ca_bundle_denied if {
	msgs(fx.pod(with_env("REQUESTS_CA_BUNDLE")), params) == {never("Pod", "container harness", "REQUESTS_CA_BUNDLE")}
	msgs(fx.pod(with_env("SSL_CERT_FILE")), params) == {never("Pod", "container harness", "SSL_CERT_FILE")}
}

test_env_from_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "envFrom"], [{"configMapRef": {"name": "all"}}])
	msgs(fx.replicaset(spec), params) == {"ReplicaSet ns1/harness, container harness: envFrom is not allowed for workload service account tee-sa; list each variable under env"}
}

test_empty_env_from_allowed if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "envFrom"], [])
	count(msgs(fx.pod(spec), params)) == 0
}

test_init_container_env_denied if {
	c := fx.set_path(fx.renamed_harness("init"), ["env"], [{"name": "PYTHONINSPECT", "value": "1"}])
	spec := fx.with_container(fx.harness_pod_spec, "initContainers", c)
	msgs(fx.pod(spec), params) == {never("Pod", "initContainer init", "PYTHONINSPECT")}
}

test_ephemeral_container_env_denied if {
	c := fx.set_path(fx.renamed_harness("debug"), ["env"], [{"name": "SHELL", "value": "/bin/sh"}])
	spec := fx.with_container(fx.harness_pod_spec, "ephemeralContainers", c)
	msgs(fx.pod(spec), params) == {not_listed("Pod", "ephemeralContainer debug", "SHELL")}
}

test_sidecar_env_denied if {
	c := fx.set_path(fx.renamed_harness("sidecar"), ["env"], [{"name": "X", "value": "1"}])
	spec := fx.with_container(fx.harness_pod_spec, "containers", c)
	msgs(fx.pod(spec), params) == {not_listed("Pod", "container sidecar", "X")}
}

test_service_links_must_be_off if {
	expected := {"Pod ns1/harness: pods running as workload service account tee-sa must set enableServiceLinks: false (the kubelet would inject variables named after the namespace's Services)"}
	msgs(fx.pod(fx.remove_path(fx.harness_pod_spec, ["enableServiceLinks"])), params) == expected
	msgs(fx.pod(fx.set_path(fx.harness_pod_spec, ["enableServiceLinks"], true)), params) == expected
}

test_other_service_account_unrestricted if {
	count(msgs(fx.pod(fx.helper_pod_spec), params)) == 0
}

test_missing_service_account_parameter_fails_closed if {
	count(msgs(fx.pod(fx.helper_pod_spec), {"allowedEnv": allow})) == 1
}
