"""Run the Pulumi program under mocks and capture the would-be resource graph.

No CLI, no engine, no cloud: `pulumi.runtime.set_mocks` stands in for the engine, a
capturing monitor records every registration (URN, type, name, parent, inputs as the
engine receives them, the URNs it waits for, protect), and `infra.plan.mocks.CloudMocks` answers with realistic camelCase
state so outputs (emails, endpoints, key ids) look like the real ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.plan.mocks import CloudMocks

PROJECT = "gke-sandbox"
SECRET = "[secret]"
UNKNOWN = "[unknown]"
# Pulumi's wire signatures for special values (sdk/python/lib/pulumi/runtime/rpc.py).
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@dataclass
class CapturedResource:
    """One registration, as the engine would have received it."""

    urn: str
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    custom: bool
    # URNs the engine waits for before creating this one (explicit depends_on and every
    # resource whose outputs the inputs use), sorted; and the `protect` option.
    dependencies: tuple[str, ...] = ()
    protect: bool = False
    # What else the engine would know about the registration (not part of the plan schema).
    provider: str = ""

    def as_plan(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "inputs": self.inputs,
            "dependencies": list(self.dependencies),
            "protect": self.protect,
        }


@dataclass
class CapturedStack:
    """Everything one program run registered, plus its resolved stack outputs."""

    stack: str
    resources: list[CapturedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    # Outputs each component registered (register_outputs), by URN.
    component_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def by_type(self, type_token: str) -> list[CapturedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> CapturedResource:
        """The single resource of a type (and name); a clear failure names what exists."""
        found = [r for r in self.by_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            have = sorted(r.name for r in self.by_type(type_token))
            raise LookupError(f"expected one {type_token} named {name!r}, found {have}")
        return found[0]

    def masked_outputs(self) -> dict[str, Any]:
        return {
            k: SECRET if k in self.secret_outputs else sanitize(v) for k, v in self.outputs.items()
        }


def sanitize(value: Any) -> Any:
    """Make a deserialized property JSON-safe: secrets masked, assets by path, unknowns marked."""
    if isinstance(value, Mapping):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return _mask(value.get("value"))
        return {str(k): sanitize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [sanitize(v) for v in value]
    if isinstance(value, pulumi.FileAsset | pulumi.FileArchive):
        kind = "asset" if isinstance(value, pulumi.FileAsset) else "archive"
        return {kind: value.path}
    if isinstance(value, pulumi.StringAsset):
        return {"asset": "<inline text>"}
    if isinstance(value, pulumi.Resource):
        return "[resource]"
    if value == _UNKNOWN_VALUE:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        # The wire carries every number as a double; providers coerce by schema, so do we.
        return int(value)
    return value


def _mask(secret: Any) -> Any:
    """Keep a secret's shape (map keys, list length) so manifests stay valid; mask every leaf."""
    if isinstance(secret, Mapping) and secret.get(_SIG_KEY) != _SECRET_SIG:
        return {str(k): _mask(v) for k, v in secret.items()}
    if isinstance(secret, list | tuple):
        return [_mask(v) for v in secret]
    return SECRET


def request_dependencies(request: Any) -> tuple[str, ...]:
    """Every URN the request says this resource waits for, sorted so plans diff cleanly.

    The SDK has already applied the engine's rules: a dependency on a component stands for the
    component's custom-resource children, and `dependencies` is the union of `depends_on` and
    each input's `propertyDependencies`; the union is taken again here so neither can be missed.
    """
    urns = set(request.dependencies)
    property_dependencies = getattr(request, "propertyDependencies", None) or {}
    for deps in property_dependencies.values():
        urns.update(deps.urns)
    return tuple(sorted(urns))


class CapturingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also remembers parent URNs, which `Mocks.new_resource` never sees."""

    def __init__(self, mocks: CloudMocks, stack: CapturedStack) -> None:
        super().__init__(mocks)
        self._captured = stack

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            parent = None
            inputs: dict[str, Any] = {}
        else:
            parent = request.parent or None
            # Registrations run concurrently: read this request's own inputs, never shared state.
            inputs = sanitize(rpc.deserialize_properties(request.object))
        self._captured.resources.append(
            CapturedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=parent,
                inputs=inputs,
                custom=bool(request.custom),
                dependencies=request_dependencies(request),
                protect=bool(request.protect),
                provider=request.provider,
            )
        )
        return response

    def RegisterResourceOutputs(self, request):
        self._captured.component_outputs[request.urn] = sanitize(
            rpc.deserialize_properties(request.outputs)
        )
        return super().RegisterResourceOutputs(request)

    def ReadResource(self, request):
        """Reads (StackReference, `.get()` lookups) appear in the plan too, as `pulumi preview` shows them."""
        response = super().ReadResource(request)
        self._captured.resources.append(
            CapturedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                inputs=sanitize(rpc.deserialize_properties(request.properties)),
                custom=False,
                dependencies=request_dependencies(request),
            )
        )
        return response


def run_program(
    program: Callable[[], None],
    *,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: set[str] | None = None,
    mocks: CloudMocks | None = None,
) -> CapturedStack:
    """Run `program` as stack `stack` under mocks; return the captured graph and outputs.

    `config` is the flat engine-form config ("gke-sandbox:part" -> JSON-or-string value),
    exactly what `pulumi.Config` reads inside the program.
    """
    captured = CapturedStack(stack=stack)
    cloud = mocks or CloudMocks()
    pulumi.runtime.set_all_config(dict(config or {}), sorted(secret_keys or set()))
    # A fresh root resource per run: the previous run's Stack must not leak into this one.
    pulumi.runtime.settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi_mocks.set_mocks(
        cloud,
        project=PROJECT,
        stack=stack,
        preview=False,
        monitor=CapturingMonitor(cloud, captured),
    )
    # The mock stack registers before the program; forget it so the run registers its own.
    captured.resources.clear()
    root: dict[str, Any] = {}

    def main() -> None:
        program()
        root["stack"] = pulumi.runtime.settings.get_root_resource()

    _sync_await(run_pulumi_func(main))
    stack_resource = root.get("stack")
    if stack_resource is not None:
        for key, output in stack_resource.outputs.items():
            value, is_secret = _resolve(output)
            captured.outputs[key] = value
            if is_secret:
                captured.secret_outputs.add(key)
    return captured


def _resolve(value: Any) -> tuple[Any, bool]:
    """Resolve an exported value (Output or plain) to (value, is_secret)."""
    if isinstance(value, pulumi.Output):

        async def both() -> tuple[Any, bool]:
            return await value.future(with_unknowns=True), await value.is_secret()

        resolved, secret = _sync_await(both())
        inner, inner_secret = _resolve(resolved)
        return inner, secret or inner_secret
    if isinstance(value, dict):
        items = {k: _resolve(v) for k, v in value.items()}
        return {k: v for k, (v, _) in items.items()}, any(s for _, s in items.values())
    if isinstance(value, list | tuple):
        items_list = [_resolve(v) for v in value]
        return [v for v, _ in items_list], any(s for _, s in items_list)
    return value, False
