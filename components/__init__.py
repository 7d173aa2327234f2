"""Reusable Pulumi components of the confidential ML sandbox, one concept of seed 003 each.

Every component takes a typed args dataclass, parents all children to itself, names them
`<name>-<role>`, fixes what must never be off (with the reason next to it) and exposes
its real outputs through `register_outputs`. None reads `pulumi.Config`.
"""
