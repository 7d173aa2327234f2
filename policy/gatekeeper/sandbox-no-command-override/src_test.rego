package sandboxnocommandoverride

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.fixtures as fx
import data.lib.sandbox

params := {"serviceAccountName": fx.ksa}

msgs(obj, p) := out if {
	r := fx.review(obj)
	vs := violation with input.review as r with input.parameters as p
	seen := sandbox.object_ref with input.review as r
	seen != "<unknown kind> <no namespace>/<unnamed>"
	out := {m | some v in vs; m := v.msg}
}

sets(kind, where, field) := concat("", [
	kind, " ns1/harness, ", where, ": sets ", field,
	" on a pod running as workload service account tee-sa; the approved image's entrypoint must run unchanged",
])

test_harness_allowed_in_every_kind if {
	allowed := {obj.kind | some obj in fx.all_workloads(fx.harness_pod_spec); count(msgs(obj, params)) == 0}
	allowed == fx.all_kinds
}

test_command_denied_in_every_kind if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "command"], ["python", "-c", "print(1)"])
	denied := {obj.kind |
		some obj in fx.all_workloads(spec)
		msgs(obj, params) == {sets(obj.kind, "container harness", "command")}
	}
	denied == fx.all_kinds
}

test_args_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "args"], ["--debug"])
	msgs(fx.deployment(spec), params) == {sets("Deployment", "container harness", "args")}
}

test_empty_command_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "command"], [])
	msgs(fx.pod(spec), params) == {sets("Pod", "container harness", "command")}
}

test_null_command_allowed if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "command"], null)
	count(msgs(fx.pod(spec), params)) == 0
}

test_working_dir_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "workingDir"], "/tmp")
	msgs(fx.pod(spec), params) == {sets("Pod", "container harness", "workingDir")}
}

test_init_container_command_denied if {
	c := fx.set_path(fx.renamed_harness("init"), ["command"], ["sh"])
	spec := fx.with_container(fx.harness_pod_spec, "initContainers", c)
	msgs(fx.pod(spec), params) == {sets("Pod", "initContainer init", "command")}
}

test_ephemeral_container_args_denied if {
	c := fx.set_path(fx.renamed_harness("debug"), ["args"], ["-c", "x"])
	spec := fx.with_container(fx.harness_pod_spec, "ephemeralContainers", c)
	msgs(fx.pod(spec), params) == {sets("Pod", "ephemeralContainer debug", "args")}
}

test_sidecar_command_denied if {
	c := fx.set_path(fx.renamed_harness("sidecar"), ["command"], ["/bin/sleep"])
	spec := fx.with_container(fx.harness_pod_spec, "containers", c)
	msgs(fx.cronjob(spec), params) == {sets("CronJob", "container sidecar", "command")}
}

test_exec_probe_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "livenessProbe"], {"exec": {"command": ["python", "-c", "1"]}})
	msgs(fx.pod(spec), params) == {"Pod ns1/harness, container harness: livenessProbe uses exec on a pod running as workload service account tee-sa; use httpGet, tcpSocket or grpc"}
}

test_exec_startup_probe_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "startupProbe"], {"exec": {"command": ["true"]}})
	count(msgs(fx.pod(spec), params)) == 1
}

test_http_probe_allowed if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "livenessProbe"], {"httpGet": {"path": "/check", "port": 8443}})
	count(msgs(fx.pod(spec), params)) == 0
}

test_exec_lifecycle_hook_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "lifecycle"], {"postStart": {"exec": {"command": ["cat", "/proc/1/environ"]}}})
	msgs(fx.pod(spec), params) == {"Pod ns1/harness, container harness: lifecycle.postStart uses exec on a pod running as workload service account tee-sa"}
}

test_sleep_pre_stop_allowed if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "lifecycle"], {"preStop": {"sleep": {"seconds": 5}}})
	count(msgs(fx.pod(spec), params)) == 0
}

test_other_service_account_may_override if {
	count(msgs(fx.pod(fx.helper_pod_spec), params)) == 0
}

test_missing_service_account_parameter_fails_closed if {
	count(msgs(fx.pod(fx.helper_pod_spec), {})) == 1
}
