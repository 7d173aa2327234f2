package sandboxservicetypes

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.fixtures as fx
import data.lib.sandbox

params := {"allowedTypes": ["ClusterIP"]}

msgs(obj, p) := out if {
	r := fx.review(obj)
	vs := violation with input.review as r with input.parameters as p
	seen := sandbox.object_ref with input.review as r
	seen != "<unknown kind> <no namespace>/<unnamed>"
	out := {m | some v in vs; m := v.msg}
}

test_cluster_ip_allowed if {
	count(msgs(fx.service("ClusterIP"), params)) == 0
}

test_missing_type_is_cluster_ip if {
	svc := fx.remove_path(fx.service("ClusterIP"), ["spec", "type"])
	count(msgs(svc, params)) == 0
}

test_node_port_denied if {
	msgs(fx.service("NodePort"), params) == {"Service ns1/harness: Service type NodePort is not allowed (allowed: ClusterIP)"}
}

test_load_balancer_denied if {
	msgs(fx.service("LoadBalancer"), params) == {"Service ns1/harness: Service type LoadBalancer is not allowed (allowed: ClusterIP)"}
}

test_external_name_denied if {
	svc := fx.set_path(fx.service("ExternalName"), ["spec", "externalName"], "metadata.google.internal")
	msgs(svc, params) == {"Service ns1/harness: Service type ExternalName is not allowed (allowed: ClusterIP)"}
}

test_load_balancer_allowed_when_configured if {
	count(msgs(fx.service("LoadBalancer"), {"allowedTypes": ["ClusterIP", "LoadBalancer"]})) == 0
	count(msgs(fx.service("NodePort"), {"allowedTypes": ["ClusterIP", "LoadBalancer"]})) == 1
}

test_external_ips_denied if {
	svc := fx.set_path(fx.service("ClusterIP"), ["spec", "externalIPs"], ["8.8.8.8"])
	msgs(svc, params) == {"Service ns1/harness: Service externalIPs are not allowed"}
}

test_pods_are_ignored if {
	count(msgs(fx.pod(fx.harness_pod_spec), params)) == 0
}
