package sandboxworkloadpodshape

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

test_single_container_allowed_in_every_kind if {
	allowed := {obj.kind | some obj in fx.all_workloads(fx.harness_pod_spec); count(msgs(obj, params)) == 0}
	allowed == fx.all_kinds
}

test_sidecar_denied_in_every_kind if {
	spec := fx.with_container(fx.harness_pod_spec, "containers", fx.renamed_harness("sidecar"))
	denied := {obj.kind |
		some obj in fx.all_workloads(spec)
		msgs(obj, params) == {concat("", [obj.kind, " ns1/harness: a pod running as workload service account tee-sa must have exactly one container, found 2 (no sidecars)"])}
	}
	denied == fx.all_kinds
}

test_init_container_denied if {
	spec := fx.with_container(fx.harness_pod_spec, "initContainers", fx.renamed_harness("init"))
	msgs(fx.deployment(spec), params) == {"Deployment ns1/harness: initContainers (init) are not allowed in a pod running as workload service account tee-sa"}
}

test_native_sidecar_denied if {
	c := fx.set_path(fx.renamed_harness("proxy"), ["restartPolicy"], "Always")
	spec := fx.with_container(fx.harness_pod_spec, "initContainers", c)
	msgs(fx.pod(spec), params) == {"Pod ns1/harness: initContainers (proxy) are not allowed in a pod running as workload service account tee-sa"}
}

test_ephemeral_container_denied if {
	spec := fx.with_container(fx.harness_pod_spec, "ephemeralContainers", fx.renamed_harness("debug"))
	msgs(fx.pod(spec), params) == {"Pod ns1/harness: ephemeralContainers (debug) are not allowed in a pod running as workload service account tee-sa"}
}

test_empty_init_list_allowed if {
	spec := fx.set_path(fx.harness_pod_spec, ["initContainers"], [])
	count(msgs(fx.pod(spec), params)) == 0
}

test_share_process_namespace_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["shareProcessNamespace"], true)
	msgs(fx.statefulset(spec), params) == {"StatefulSet ns1/harness: shareProcessNamespace is not allowed for workload service account tee-sa"}
}

test_share_process_namespace_false_allowed if {
	spec := fx.set_path(fx.harness_pod_spec, ["shareProcessNamespace"], false)
	count(msgs(fx.pod(spec), params)) == 0
}

test_token_automount_required_off if {
	expected := {"Pod ns1/harness: pods running as workload service account tee-sa must set automountServiceAccountToken: false (Workload Identity needs no Kubernetes token)"}
	msgs(fx.pod(fx.remove_path(fx.harness_pod_spec, ["automountServiceAccountToken"])), params) == expected
	msgs(fx.pod(fx.set_path(fx.harness_pod_spec, ["automountServiceAccountToken"], true)), params) == expected
}

test_host_aliases_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["hostAliases"], [{"ip": "10.0.0.9", "hostnames": ["cloudkms.googleapis.com"]}])
	msgs(fx.pod(spec), params) == {"Pod ns1/harness: hostAliases are not allowed for workload service account tee-sa"}
}

test_no_containers_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers"], [])
	msgs(fx.pod(spec), params) == {"Pod ns1/harness: a pod running as workload service account tee-sa must have exactly one container, found 0 (no sidecars)"}
}

test_other_service_account_may_have_sidecars if {
	spec := fx.with_container(fx.helper_pod_spec, "containers", fx.renamed_harness("sidecar"))
	count(msgs(fx.pod(spec), params)) == 0
}

test_missing_service_account_parameter_fails_closed if {
	count(msgs(fx.pod(fx.helper_pod_spec), {})) == 1
}
