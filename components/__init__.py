"""Reusable Pulumi components of the confidential ML sandbox, one concept of seed 003 each.

Every component takes a typed args dataclass, parents all children to itself, names them
`<name>-<role>`, fixes what must never be off (with the reason next to it) and exposes
its real outputs through `register_outputs`. None reads `pulumi.Config`.

What a component's objects look like is decided by plain functions next to it
(`harness_pod_spec`, `network_policies`, `node_config`...), which return dicts and are
tested without mocks; the component body validates its args and registers resources.
Platform facts come from `policy.facts`, the image's interface from `harness.contract`.
"""
