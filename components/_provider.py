"""The package's provider: the SDK's ComponentProvider, plus secret outputs and inputs.

The pinned SDK (3.272.0) infers the schema from annotations but cannot mark an output secret,
and its `Construct` returns each output as the component set it. A component declares its
secret outputs beside its class (`components._common.secret_outputs`); this provider marks
them `"secret": true` in the schema it serves (the one place the inferred schema is changed)
and wraps them in `pulumi.Output.secret` in `Construct`'s answer, so they stay secret in the
consumer's state whatever the component did with them. Inputs declared with
`components._common.secret_inputs` are marked `"secret": true` among the input properties.

Imported only by `components.package.provider()`, never at the top of a module the stacks or
tests load: `pulumi.provider` clashes with googleapis-common-protos in one process.
"""

import json
from typing import Any

import pulumi
from pulumi.provider.experimental.analyzer import ComponentDefinition
from pulumi.provider.experimental.component import ComponentProvider

from components._common import secret_input_names, secret_output_names


class SecretOutputsProvider(ComponentProvider):
    """ComponentProvider whose schema and Construct honour `secret_outputs`."""

    def __init__(
        self, components: list[type[pulumi.ComponentResource]], name: str, version: str
    ) -> None:
        super().__init__(components, name, version=version)
        # Component name -> schema names of its secret outputs, and of its secret inputs.
        self._secret: dict[str, frozenset[str]] = {}
        self._secret_inputs: dict[str, frozenset[str]] = {}
        for component in components:
            definition = self._component_defs[component.__name__]
            self._secret[component.__name__] = _schema_names(
                definition.outputs_mapping, secret_output_names(component)
            )
            self._secret_inputs[component.__name__] = _schema_names(
                definition.inputs_mapping, secret_input_names(component)
            )
        self.schema = json.dumps(self._mark_secret(json.loads(self.schema or "{}"), name))

    def _mark_secret(self, schema: dict[str, Any], name: str) -> dict[str, Any]:
        for section, marked in (
            ("properties", self._secret),
            ("inputProperties", self._secret_inputs),
        ):
            for component, names in marked.items():
                properties = schema["resources"][f"{name}:index:{component}"][section]
                for prop in names:
                    properties[prop]["secret"] = True
        return schema

    def get_state(
        self, instance: pulumi.ComponentResource, component_def: ComponentDefinition
    ) -> dict[str, Any]:
        """The component's outputs as the SDK maps them, the secret ones wrapped as secrets."""
        state = super().get_state(instance, component_def)
        for output in self._secret.get(component_def.name, frozenset()):
            if output in state:
                state[output] = pulumi.Output.secret(state[output])
        return state


def _schema_names(mapping: dict[str, str], python_names: frozenset[str]) -> frozenset[str]:
    """Schema names (camelCase) of the given Python names, from the analyzer's mapping."""
    return frozenset(schema for schema, python in mapping.items() if python in python_names)
