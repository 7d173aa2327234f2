"""The SSL policy of the sandbox's load balancers: TLS 1.2 or newer, MODERN ciphers (issue 10).

GCLB's default policy is COMPATIBLE with TLS 1.0 (pulumi-gcp 10.2.0 `compute/ssl_policy.py`:
profile default COMPATIBLE, min_tls_version default TLS_1_0); seed 003 set a MODERN TLS 1.2
policy. It lives in the cluster project (load balancers of GKE Ingress are created there);
Bob's FrontendConfig names it (`spec.sslPolicy`, "Ingress configuration on Google Cloud",
https://cloud.google.com/kubernetes-engine/docs/how-to/ingress-configuration).
"""

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components._common import as_args, child, token, waits_for
from policy.facts import TLS_MIN_VERSIONS as MIN_TLS_VERSIONS
from policy.facts import TLS_POLICY_PROFILES as PROFILES


@dataclass
class TlsPolicyArgs:
    """The SSL policy the sandbox's load balancers use."""

    project: pulumi.Input[str]
    """The cluster project, where the load balancers live."""
    policy_name: str | None = "sandbox-tls"
    """The policy's name: what Bob's FrontendConfig names (`spec.sslPolicy`)."""
    profile: str | None = "MODERN"
    """MODERN or RESTRICTED; never COMPATIBLE (GCLB's default, which allows TLS 1.0)."""
    min_tls_version: str | None = "TLS_1_2"
    """TLS_1_2 or TLS_1_3 (the latter only with RESTRICTED)."""


def check_args(args: TlsPolicyArgs) -> None:
    """Refuse a policy weaker than TLS 1.2 / MODERN, or TLS 1.3 without RESTRICTED."""
    if args.profile not in PROFILES:
        raise ValueError(f"SSL policy profile {args.profile!r} must be one of {PROFILES}")
    if args.min_tls_version not in MIN_TLS_VERSIONS:
        raise ValueError(
            f"SSL policy min_tls_version {args.min_tls_version!r} must be one of {MIN_TLS_VERSIONS}"
        )
    if args.min_tls_version == "TLS_1_3" and args.profile != "RESTRICTED":
        raise ValueError("min_tls_version TLS_1_3 requires profile RESTRICTED")


class TlsPolicy(pulumi.ComponentResource):
    """One `gcp.compute.SSLPolicy`; its name is what crosses to Bob's workload stack."""

    policy_name: pulumi.Output[str]
    """The SSL policy's name (cluster output `sslPolicy`, Bob's `workload.sslPolicy`)."""

    def __init__(
        self, name: str, args: TlsPolicyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(TlsPolicyArgs, args)
        check_args(args)
        super().__init__(token("tls_policy", "TlsPolicy"), name, None, opts)
        self.ssl_policy = gcp.compute.SSLPolicy(
            f"{name}-ssl-policy",
            name=args.policy_name,
            project=args.project,
            profile=args.profile,
            min_tls_version=args.min_tls_version,
            description="Sandbox load balancers: TLS 1.2+ only (seed 003's MODERN policy).",
            opts=child(self, depends_on=waits_for(opts)),
        )
        self.policy_name = self.ssl_policy.name
        self.register_outputs({"policyName": self.policy_name})
