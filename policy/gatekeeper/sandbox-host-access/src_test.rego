package sandboxhostaccess

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

test_harness_allowed_in_every_kind if {
	allowed := {obj.kind | some obj in fx.all_workloads(fx.harness_pod_spec); count(msgs(obj, {})) == 0}
	allowed == fx.all_kinds
}

test_host_network_denied_in_every_kind if {
	spec := fx.set_path(fx.harness_pod_spec, ["hostNetwork"], true)
	denied := {obj.kind |
		some obj in fx.all_workloads(spec)
		msgs(obj, {}) == {concat("", [obj.kind, " ns1/harness: hostNetwork is not allowed"])}
	}
	denied == fx.all_kinds
}

test_host_pid_and_ipc_denied if {
	msgs(fx.pod(fx.set_path(fx.harness_pod_spec, ["hostPID"], true)), {}) == {"Pod ns1/harness: hostPID is not allowed"}
	msgs(fx.pod(fx.set_path(fx.harness_pod_spec, ["hostIPC"], true)), {}) == {"Pod ns1/harness: hostIPC is not allowed"}
}

test_host_namespaces_false_allowed if {
	spec := fx.set_path(fx.set_path(fx.harness_pod_spec, ["hostNetwork"], false), ["hostPID"], false)
	count(msgs(fx.pod(spec), {})) == 0
}

test_host_path_denied_for_every_pod if {
	spec := fx.set_path(fx.helper_pod_spec, ["volumes", "-"], {"name": "node", "hostPath": {"path": "/var/lib/containerd"}})
	msgs(fx.daemonset(spec), {}) == {"DaemonSet ns1/harness: hostPath volume node (/var/lib/containerd) is not allowed"}
}

test_host_port_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "ports", 0, "hostPort"], 443)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, container harness: hostPort 443 is not allowed"}
}

test_host_port_zero_allowed if {
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "ports", 0, "hostPort"], 0)
	count(msgs(fx.pod(spec), {})) == 0
}

test_host_port_in_init_container_denied if {
	c := fx.set_path(fx.renamed_harness("init"), ["ports"], [{"containerPort": 53, "hostPort": 53}])
	spec := fx.with_container(fx.harness_pod_spec, "initContainers", c)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, initContainer init: hostPort 53 is not allowed"}
}

test_host_port_in_ephemeral_container_denied if {
	c := fx.set_path(fx.renamed_harness("debug"), ["ports"], [{"containerPort": 22, "hostPort": 2222}])
	spec := fx.with_container(fx.harness_pod_spec, "ephemeralContainers", c)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, ephemeralContainer debug: hostPort 2222 is not allowed"}
}

test_host_port_in_sidecar_denied if {
	c := fx.set_path(fx.renamed_harness("sidecar"), ["ports"], [{"containerPort": 80, "hostPort": 80}])
	spec := fx.with_container(fx.harness_pod_spec, "containers", c)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, container sidecar: hostPort 80 is not allowed"}
}

test_windows_host_process_denied if {
	spec := fx.set_path(fx.harness_pod_spec, ["securityContext", "windowsOptions"], {"hostProcess": true})
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness: Windows hostProcess pods are not allowed"}
	c_spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "securityContext", "windowsOptions"], {"hostProcess": true})
	msgs(fx.pod(c_spec), {}) == {"Pod ns1/harness, container harness: Windows hostProcess containers are not allowed"}
}

test_probe_host_denied_in_every_kind if {
	probe := {"httpGet": {"path": "/", "port": 8443, "host": "169.254.169.254"}}
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "livenessProbe"], probe)
	denied := {obj.kind |
		some obj in fx.all_workloads(spec)
		msgs(obj, {}) == {concat("", [obj.kind, " ns1/harness, container harness: livenessProbe.httpGet.host 169.254.169.254 is not allowed (the kubelet would connect from the node)"])}
	}
	denied == fx.all_kinds
}

test_lifecycle_tcp_host_denied if {
	hook := {"preStop": {"tcpSocket": {"port": 80, "host": "10.0.0.1"}}}
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "lifecycle"], hook)
	msgs(fx.pod(spec), {}) == {"Pod ns1/harness, container harness: lifecycle.preStop.tcpSocket.host 10.0.0.1 is not allowed (the kubelet would connect from the node)"}
}

test_probe_without_host_allowed if {
	probe := {"httpGet": {"path": "/", "port": 8443, "host": ""}}
	spec := fx.set_path(fx.harness_pod_spec, ["containers", 0, "startupProbe"], probe)
	count(msgs(fx.pod(spec), {})) == 0
}
