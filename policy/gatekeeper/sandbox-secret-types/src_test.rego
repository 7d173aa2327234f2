package sandboxsecrettypes

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.fixtures as fx
import data.lib.sandbox

params := {"allowedTypes": ["Opaque", "kubernetes.io/tls"]}

secret(type) := {
	"apiVersion": "v1",
	"kind": "Secret",
	"metadata": {"name": "harness-token", "namespace": "ns1"},
	"type": type,
	"stringData": {"token": "x"},
}

msgs(obj, p) := out if {
	r := fx.review(obj)
	vs := violation with input.review as r with input.parameters as p
	out := {m | some v in vs; m := v.msg}
}

test_opaque_allowed if {
	count(msgs(secret("Opaque"), params)) == 0
}

test_tls_allowed if {
	count(msgs(secret("kubernetes.io/tls"), params)) == 0
}

test_missing_type_is_opaque if {
	s := fx.remove_path(secret("Opaque"), ["type"])
	count(msgs(s, params)) == 0
}

test_service_account_token_denied if {
	s := fx.set_path(secret("kubernetes.io/service-account-token"), ["metadata", "annotations"], {"kubernetes.io/service-account.name": "tee-sa"})
	msgs(s, params) == {
		"Secret ns1/harness-token: Secret type kubernetes.io/service-account-token is not allowed (allowed: Opaque, kubernetes.io/tls)",
		"Secret ns1/harness-token: Secret may not name service account tee-sa (token minting)",
	}
}

test_dockerconfig_denied if {
	msgs(secret("kubernetes.io/dockerconfigjson"), params) == {"Secret ns1/harness-token: Secret type kubernetes.io/dockerconfigjson is not allowed (allowed: Opaque, kubernetes.io/tls)"}
}

test_annotation_on_opaque_denied if {
	s := fx.set_path(secret("Opaque"), ["metadata", "annotations"], {"kubernetes.io/service-account.name": "tee-sa"})
	msgs(s, params) == {"Secret ns1/harness-token: Secret may not name service account tee-sa (token minting)"}
}

test_other_kinds_ignored if {
	count(msgs(fx.service("ClusterIP"), params)) == 0
}
