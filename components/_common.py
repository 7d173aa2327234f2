"""Small helpers every component shares."""

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import pulumi

# Labels on every GCP resource that takes them, so billing and audit can find the sandbox.
MANAGED_BY = {"managed-by": "pulumi", "app": "gke-sandbox"}

# The Pulumi package name the components are published under (PulumiPlugin.yaml, schema.json).
PACKAGE = "gke-sandbox"

# The module part of every type token. None: the component's own module, as the plans have
# always recorded (`gke-sandbox:model_vault:ModelVault`). When hosted as a component package
# it becomes "index": the pinned SDK's ComponentProvider only serves `<package>:index:<Type>`
# (provider/experimental/component.py, validate_resource_type) and the schema it infers names
# every component so, and the component must register under the token the engine asked for.
_token_module: str | None = None

A = TypeVar("A")
C = TypeVar("C", bound=pulumi.ComponentResource)

# Where `secret_outputs` / `secret_inputs` record a component's secret outputs and inputs
# (Python attribute and args field names).
_SECRET_OUTPUTS = "_secret_outputs"
_SECRET_INPUTS = "_secret_inputs"


def host_as_package() -> None:
    """Register components under `gke-sandbox:index:<Type>` (the component package's tokens)."""
    global _token_module  # one process-wide switch, set once by the provider host
    _token_module = "index"


def token(module: str, type_name: str) -> str:
    """The component's type token: `gke-sandbox:<module>:<Type>`, or `index` when hosted."""
    return f"{PACKAGE}:{_token_module or module}:{type_name}"


def secret_outputs(*names: str) -> Callable[[type[C]], type[C]]:
    """Declare outputs of the decorated component secret in the component package.

    The pinned SDK's analyzer has no way to say so; the package's provider
    (components/_provider.py) reads this, marks the outputs `"secret": true` in the schema it
    serves and returns them as secrets from `Construct`. A Python stack sees the component's
    own `pulumi.Output.secret`. Names are the documented `pulumi.Output` class attributes.
    """
    return _declare(_SECRET_OUTPUTS, names, _output_names, "no output annotation for")


def secret_inputs(*names: str) -> Callable[[type[C]], type[C]]:
    """Declare inputs (fields of the component's args dataclass) secret in the package schema,
    so the engine and generated SDKs treat what a caller passes there as a secret even when
    the caller forgot to (Pulumi schema: a property's `secret`)."""
    return _declare(_SECRET_INPUTS, names, _input_names, "its args have no field")


def secret_output_names(cls: type[pulumi.ComponentResource]) -> frozenset[str]:
    """The outputs `secret_outputs` declared secret on `cls` (Python attribute names)."""
    return frozenset(getattr(cls, _SECRET_OUTPUTS, frozenset()))


def secret_input_names(cls: type[pulumi.ComponentResource]) -> frozenset[str]:
    """The inputs `secret_inputs` declared secret on `cls` (args field names)."""
    return frozenset(getattr(cls, _SECRET_INPUTS, frozenset()))


def _output_names(cls: type) -> set[str]:
    return set(inspect.get_annotations(cls))


def _input_names(cls: type) -> set[str]:
    args = inspect.get_annotations(cls.__init__, eval_str=True).get("args")
    return {f.name for f in dataclasses.fields(args)} if dataclasses.is_dataclass(args) else set()


def _declare(
    attribute: str, names: tuple[str, ...], known: Callable[[type], set[str]], problem: str
) -> Callable[[type[C]], type[C]]:
    """A class decorator recording `names` on the class, refusing one the class lacks."""

    def mark(cls: type[C]) -> type[C]:
        unknown = sorted(set(names) - known(cls))
        if unknown:
            raise TypeError(f"{cls.__name__}: {problem} {', '.join(unknown)}")
        setattr(cls, attribute, frozenset(names))
        return cls

    return mark


def as_args(cls: type[A], value: A | Mapping[str, Any]) -> A:
    """The args dataclass, from a Python caller's instance or a package host's dict.

    Python stacks pass the dataclass. Hosted as a component package, `Construct` passes a dict
    of the Python field names (nested types as dicts too); an absent or null field takes the
    dataclass's default, so the defaults live in one place for every language.
    """
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(f"{cls.__name__}: expected {cls.__name__} or a mapping, got {value!r}")
    # The annotations as written (no get_type_hints: pulumi.Input holds an unresolvable ForwardRef).
    hints = inspect.get_annotations(cls)
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(value) - fields)
    if unknown:
        raise TypeError(f"{cls.__name__}: unknown field(s) {', '.join(unknown)}")
    kwargs = {key: _nested(hints[key], item) for key, item in value.items() if item is not None}
    return cls(**kwargs)


def _nested(hint: Any, value: Any) -> Any:
    """Turn dicts back into the nested args dataclass the annotation names (also in lists)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _nested(inner[0], value) if len(inner) == 1 else value
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return as_args(hint, value)  # type: ignore[arg-type]
    if origin in (list, Sequence) and isinstance(value, list | tuple):
        (item,) = typing.get_args(hint)
        return [_nested(item, v) for v in value]
    return value


def waits_for(opts: pulumi.ResourceOptions | None) -> list[pulumi.Input[pulumi.Resource]]:
    """What the component's `opts.depends_on` names, to pass on to the children that need it.

    A component's own `depends_on` does not reach its children in the pinned SDK (children
    register with their own options); the children that call an API list these explicitly,
    so each one waits for the enablement itself, as the plan's `dependencies` record. Every
    Pulumi language has `dependsOn`, and a package host receives it in `Construct`.
    """
    if opts is None or opts.depends_on is None:
        return []
    deps = opts._depends_on_list()
    if not isinstance(deps, list):
        raise TypeError("depends_on must be a list of resources here, not an Output of one")
    return deps


def child(parent: pulumi.Resource, **kwargs: object) -> pulumi.ResourceOptions:
    """Options for a component's child: parented, so the plan tree and aliases stay stable."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)  # type: ignore[arg-type]


def sa_member(email: pulumi.Input[str]) -> pulumi.Output[str]:
    """IAM member string for a service account email."""
    return pulumi.Output.from_input(email).apply(lambda e: f"serviceAccount:{e}")


def workload_pool(project_id: str) -> str:
    """The project's Workload Identity pool: `<project>.svc.id.goog` (GKE Workload Identity docs)."""
    return f"{project_id}.svc.id.goog"


def ksa_member(project_id: str, namespace: str, ksa: str) -> str:
    """The IAM member a Kubernetes service account acts as under Workload Identity."""
    return f"serviceAccount:{workload_pool(project_id)}[{namespace}/{ksa}]"


def immutable_docker_repository(
    parent: pulumi.ComponentResource,
    name: str,
    *,
    project: pulumi.Input[str],
    location: pulumi.Input[str],
    repository_id: pulumi.Input[str],
    description: str,
    depends_on: Sequence[pulumi.Input[pulumi.Resource]],
) -> Any:
    """An Artifact Registry docker repository whose tags cannot move: a digest that was signed
    or allowlisted keeps meaning the same bytes. Waits for `depends_on` (the Artifact Registry
    API's enablement): a component's depends_on does not reach its children."""
    import pulumi_gcp as gcp

    return gcp.artifactregistry.Repository(
        f"{name}-repository",
        repository_id=repository_id,
        project=project,
        location=location,
        format="DOCKER",
        description=description,
        # No reviewed tag can be moved to another image (SDK 10.2.0 RepositoryDockerConfig).
        docker_config={"immutable_tags": True},
        labels=MANAGED_BY,
        opts=child(parent, depends_on=list(depends_on)),
    )
