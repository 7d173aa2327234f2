"""TlsPolicy: the sandbox load balancers' SSL policy is TLS 1.2+ and MODERN or RESTRICTED (issue 10)."""

from __future__ import annotations

from typing import Any

import pytest

from components.tls_policy import TlsPolicy, TlsPolicyArgs

SSL_POLICY = "gcp:compute/sSLPolicy:SSLPolicy"


def tls_args(**overrides: Any) -> TlsPolicyArgs:
    return TlsPolicyArgs(**{"project": "ab-demo-cluster", **overrides})


def test_default_policy_is_modern_tls12(run):
    plan = run(lambda: TlsPolicy("tls", tls_args(policy_name="edge-tls")))
    policy = plan.one(SSL_POLICY)
    assert policy.inputs["profile"] == "MODERN", policy.urn
    assert policy.inputs["minTlsVersion"] == "TLS_1_2", policy.urn
    assert policy.inputs["name"] == "edge-tls", policy.urn
    assert policy.inputs["project"] == "ab-demo-cluster", policy.urn


def test_tls13_with_restricted_is_accepted(run):
    plan = run(lambda: TlsPolicy("tls", tls_args(profile="RESTRICTED", min_tls_version="TLS_1_3")))
    assert plan.one(SSL_POLICY).inputs["minTlsVersion"] == "TLS_1_3"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"profile": "COMPATIBLE"}, "SSL policy profile 'COMPATIBLE' must be one of"),
        ({"min_tls_version": "TLS_1_0"}, "SSL policy min_tls_version 'TLS_1_0' must be one of"),
        ({"min_tls_version": "TLS_1_3"}, "min_tls_version TLS_1_3 requires profile RESTRICTED"),
    ],
)
def test_weaker_policies_are_refused(overrides: dict[str, Any], message: str):
    with pytest.raises(ValueError, match=message):
        TlsPolicy("tls", tls_args(**overrides))
