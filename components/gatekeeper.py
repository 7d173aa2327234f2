"""Gatekeeper, pinned by digest, and the sandbox's own ConstraintTemplates + Constraints (seed 003 steps 10, 15).

The templates are passed in (built from `policy/gatekeeper/` by the stack), so the Rego the
cluster runs is byte for byte the Rego the offline tests run. They are explicit resources,
not chart output, so every rule shows up in the plan for review.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components._common import as_args, child, token
from policy import facts

NAMESPACE = "gatekeeper-system"


@dataclass
class GatekeeperArgs:
    """The Gatekeeper release and image, and the rules it enforces, as Kubernetes documents."""

    version: str
    """The Gatekeeper release, such as v3.20.1 (its Helm chart's version)."""
    # helm.v4.Chart installs the chart's crds/ itself and never runs hooks (SDK
    # helm/v4/Chart.py `include_hooks`, `skip_crds`), so the gatekeeper-crds image of the CRD
    # upgrade hook is never pulled and is not configured.
    image: str
    """The Gatekeeper image by digest, from the cluster project's mirror:
    `<region>-docker.pkg.dev/<project>/<mirror>/gatekeeper@sha256:...` (private nodes cannot
    reach docker.io, and Binary Authorization admits it by digest)."""
    # Raw documents: a ConstraintTemplate's schema and a Constraint's parameters are open
    # (each template defines its own), so no fixed type fits. The analyzer types
    # Mapping[str, Any] as an object of `pulumi.json#/Any` values: any JSON document.
    templates: Sequence[Mapping[str, Any]]
    """ConstraintTemplates (templates.gatekeeper.sh/v1) as Kubernetes documents, applied as given."""
    constraints: Sequence[Mapping[str, Any]]
    """Constraints as Kubernetes documents; each one's kind must be a template's."""
    chart_repository: str | None = "https://open-policy-agent.github.io/gatekeeper/charts"
    """The Helm repository of the Gatekeeper chart."""
    exempt_namespaces: Sequence[str] | None = field(
        default_factory=lambda: sorted(facts.SYSTEM_NAMESPACES)
    )
    """Namespaces Gatekeeper's webhook never gates; must include the system namespaces."""


def _names_once_applied(
    resources: Sequence[pulumi.Resource], documents: Sequence[Mapping[str, Any]]
) -> pulumi.Output[list[str]]:
    """The documents' names, carrying the resources as dependencies: whatever reads them waits
    for the rules to exist (the names are known at preview, as the URNs are)."""
    names = [d["metadata"]["name"] for d in documents]
    return pulumi.Output.all(*(r.urn for r in resources)).apply(lambda _: names)


def check_args(args: GatekeeperArgs) -> None:
    """Refuse an image by tag, a system namespace left gated, a constraint without template."""
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


def chart_values(args: GatekeeperArgs) -> dict[str, Any]:
    """The chart's values: our image by digest, no hooks' labelling jobs, fail closed."""
    return {
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
        # Each webhook's namespaceSelector skips these by name (chart 3.23.0 values.yaml
        # `validatingWebhookExemptNamespacesLabels`, rendered as NotIn), so namespaces an add-on
        # creates later (gmp-system) are never gated, labelled or not.
        "validatingWebhookExemptNamespacesLabels": {
            facts.NAMESPACE_NAME_LABEL: list(args.exempt_namespaces)
        },
        "mutatingWebhookExemptNamespacesLabels": {
            facts.NAMESPACE_NAME_LABEL: list(args.exempt_namespaces)
        },
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
    }


class Gatekeeper(pulumi.ComponentResource):
    """The Gatekeeper chart (images by digest, hooks off), then templates, then constraints."""

    namespace_name: pulumi.Output[str]
    """The namespace Gatekeeper runs in."""
    ignored_namespaces: pulumi.Output[list[str]]
    """The namespaces labelled for Gatekeeper to ignore: its own and the cluster's built-in ones."""
    template_names: pulumi.Output[list[str]]
    """The ConstraintTemplates applied, in order."""
    constraint_names: pulumi.Output[list[str]]
    """The Constraints applied, in order."""

    def __init__(
        self, name: str, args: GatekeeperArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(GatekeeperArgs, args)
        check_args(args)
        super().__init__(token("gatekeeper", "Gatekeeper"), name, None, opts)

        self.namespace: k8s.core.v1.Namespace = k8s.core.v1.Namespace(
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
        self.system_namespaces: list[k8s.core.v1.NamespacePatch] = [
            k8s.core.v1.NamespacePatch(
                f"{name}-ignore-{ns}",
                metadata={"name": ns, "labels": {facts.GATEKEEPER_IGNORE_LABEL: "system"}},
                opts=child(self),
            )
            for ns in sorted(facts.BUILTIN_NAMESPACES)
        ]
        self.chart: k8s.helm.v4.Chart = k8s.helm.v4.Chart(
            f"{name}-chart",
            chart="gatekeeper",
            version=args.version.removeprefix("v"),
            namespace=NAMESPACE,
            repository_opts={"repo": args.chart_repository},
            # Hook jobs pull further images Binary Authorization has not been told about.
            include_hooks=False,
            values=chart_values(args),
            opts=child(self, depends_on=[self.namespace, *self.system_namespaces]),
        )
        self.templates: list[k8s.apiextensions.CustomResource] = self._apply(
            name, "template", args.templates, [self.chart]
        )
        self.constraints: list[k8s.apiextensions.CustomResource] = self._apply(
            name, "constraint", args.constraints, [self.chart, *self.templates]
        )
        self.namespace_name = self.namespace.metadata.name
        self.ignored_namespaces = pulumi.Output.all(
            self.namespace.metadata.name, *(ns.metadata.name for ns in self.system_namespaces)
        )
        self.template_names = _names_once_applied(self.templates, args.templates)
        self.constraint_names = _names_once_applied(self.constraints, args.constraints)
        self.register_outputs(
            {
                "namespaceName": self.namespace_name,
                "ignoredNamespaces": self.ignored_namespaces,
                "templateNames": self.template_names,
                "constraintNames": self.constraint_names,
            }
        )

    def _apply(
        self,
        name: str,
        role: str,
        documents: Sequence[Mapping[str, Any]],
        after: list[pulumi.Resource],
    ) -> list[k8s.apiextensions.CustomResource]:
        """One explicit resource per rule document (so the plan shows it), after `after`."""
        return [
            k8s.apiextensions.CustomResource(
                f"{name}-{role}-{doc['metadata']['name']}",
                api_version=doc["apiVersion"],
                kind=doc["kind"],
                metadata=doc["metadata"],
                spec=doc["spec"],
                opts=child(self, depends_on=after),
            )
            for doc in documents
        ]
