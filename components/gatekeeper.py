"""Gatekeeper, pinned by digest, and the sandbox's own ConstraintTemplates + Constraints (seed 003 steps 10, 15).

The templates are passed in (built from `policy/gatekeeper/` by the stack), so the Rego the
cluster runs is byte for byte the Rego the offline tests run. They are explicit resources,
not chart output, so every rule shows up in the plan for review.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components._common import child
from policy import facts

NAMESPACE = "gatekeeper-system"


@dataclass
class GatekeeperArgs:
    version: str
    # <region>-docker.pkg.dev/<project>/<mirror>/gatekeeper@sha256:... (issue 10: private nodes
    # cannot reach docker.io). helm.v4.Chart installs the chart's crds/ itself and never runs
    # hooks (SDK helm/v4/Chart.py `include_hooks`, `skip_crds`), so the gatekeeper-crds image
    # of the CRD upgrade hook is never pulled and is not configured.
    image: str
    templates: Sequence[Mapping[str, Any]]
    constraints: Sequence[Mapping[str, Any]]
    chart_repository: str = "https://open-policy-agent.github.io/gatekeeper/charts"
    exempt_namespaces: Sequence[str] = field(
        default_factory=lambda: sorted(facts.SYSTEM_NAMESPACES)
    )


class Gatekeeper(pulumi.ComponentResource):
    """The Gatekeeper chart (images by digest, hooks off), then templates, then constraints."""

    namespace: k8s.core.v1.Namespace
    system_namespaces: list[k8s.core.v1.NamespacePatch]
    chart: k8s.helm.v4.Chart
    templates: list[k8s.apiextensions.CustomResource]
    constraints: list[k8s.apiextensions.CustomResource]

    def __init__(
        self, name: str, args: GatekeeperArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if not facts.IMAGE_BY_DIGEST.match(args.image):
            # Binary Authorization admits Gatekeeper by digest; a tag would be refused or drift.
            raise ValueError(f"Gatekeeper image {args.image!r} must be pinned by digest")
        missing = sorted(facts.SYSTEM_NAMESPACES - set(args.exempt_namespaces))
        if missing:
            # A fail-closed webhook must never gate the platform's own pods.
            raise ValueError(f"exempt_namespaces must include the system namespaces {missing}")
        template_kinds = {t["spec"]["crd"]["spec"]["names"]["kind"] for t in args.templates}
        for constraint in args.constraints:
            if constraint["kind"] not in template_kinds:
                raise ValueError(
                    f"constraint {constraint['metadata']['name']!r} has no template of kind {constraint['kind']!r}"
                )
        super().__init__("gke-sandbox:gatekeeper:Gatekeeper", name, None, opts)

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": NAMESPACE,
                "labels": {
                    facts.GATEKEEPER_IGNORE_LABEL: "no-self-managing",
                    "pod-security.kubernetes.io/enforce": "restricted",
                },
            },
            opts=child(self),
        )
        # `exemptNamespaces` only *allows* the ignore label; without it on kube-system a
        # Gatekeeper outage with fail-closed webhooks blocks system pods (issue 10). A
        # server-side-apply patch labels the namespaces the cluster already has, before the
        # webhooks exist.
        self.system_namespaces = [
            k8s.core.v1.NamespacePatch(
                f"{name}-ignore-{ns}",
                metadata={"name": ns, "labels": {facts.GATEKEEPER_IGNORE_LABEL: "system"}},
                opts=child(self),
            )
            for ns in sorted(facts.BUILTIN_NAMESPACES)
        ]
        self.chart = k8s.helm.v4.Chart(
            f"{name}-chart",
            chart="gatekeeper",
            version=args.version.removeprefix("v"),
            namespace=NAMESPACE,
            repository_opts={"repo": args.chart_repository},
            # Hook jobs pull further images Binary Authorization has not been told about.
            include_hooks=False,
            values={
                # An empty release makes the chart use the repository string as is: image@digest.
                "image": {"repository": args.image, "release": ""},
                "postInstall": {
                    "labelNamespace": {"enabled": False},
                    "probeWebhook": {"enabled": False},
                },
                "postUpgrade": {"labelNamespace": {"enabled": False}},
                "preUninstall": {"deleteWebhookConfigurations": {"enabled": False}},
                "enableRuntimeDefaultSeccompProfile": True,
                "controllerManager": {"exemptNamespaces": list(args.exempt_namespaces)},
                # Fail closed: if Gatekeeper is down, pods in tenant namespaces are not admitted.
                "validatingWebhookFailurePolicy": "Fail",
                # Ephemeral containers arrive through a subresource the default rules do not cover.
                "validatingWebhookCustomRules": [
                    {
                        "apiGroups": ["*"],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["*", "pods/ephemeralcontainers"],
                    }
                ],
                "auditInterval": 60,
            },
            opts=child(self, depends_on=[self.namespace, *self.system_namespaces]),
        )
        self.templates = [
            k8s.apiextensions.CustomResource(
                f"{name}-template-{t['metadata']['name']}",
                api_version=t["apiVersion"],
                kind=t["kind"],
                metadata=t["metadata"],
                spec=t["spec"],
                opts=child(self, depends_on=[self.chart]),
            )
            for t in args.templates
        ]
        self.constraints = [
            k8s.apiextensions.CustomResource(
                f"{name}-constraint-{c['metadata']['name']}",
                api_version=c["apiVersion"],
                kind=c["kind"],
                metadata=c["metadata"],
                spec=c["spec"],
                opts=child(self, depends_on=[self.chart, *self.templates]),
            )
            for c in args.constraints
        ]
        self.register_outputs(
            {
                "ignoredNamespaces": [NAMESPACE, *sorted(facts.BUILTIN_NAMESPACES)],
                "templates": [t["metadata"]["name"] for t in args.templates],
                "constraints": [c["metadata"]["name"] for c in args.constraints],
            }
        )
