"""A mock resource monitor that records every registration as the engine would receive it.

Pulumi's own `MockMonitor` hands mocks only type, name and (unwrapped) inputs. Tests here must
also see the parent, the dependencies, the resource options and which inputs are secret, so this
subclass reads them off the raw `RegisterResourceRequest` before delegating to the mock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import get_project, get_stack

# Signatures the SDK uses inside serialized property values (see pulumi/runtime/rpc.py).
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
UNKNOWN_TEXT = "[unknown]"


@dataclass(frozen=True)
class Registration:
    """One `RegisterResource` call: what `pulumi up` would ask the engine to create."""

    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    secret_inputs: frozenset[str]  # paths like "environment[2].value"; "" means the whole object
    dependencies: tuple[str, ...]
    property_dependencies: dict[str, tuple[str, ...]]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    ignore_changes: tuple[str, ...]
    replace_on_changes: tuple[str, ...]
    additional_secret_outputs: tuple[str, ...]
    aliases: tuple[str, ...]
    provider: str
    id: str = ""
    state: dict[str, Any] = field(default_factory=lambda: {})


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks: Any) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.outputs: dict[str, dict[str, Any]] = {}  # urn -> registered outputs

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # As the engine does: a child's type is qualified by its parent's whole type chain,
        # which leaves out the root stack.
        if parent and "::pulumi:pulumi:Stack::" not in parent:
            type_ = parent.split("::")[2] + "$" + type_
        return f"urn:pulumi:{get_stack()}::{get_project()}::{type_}::{name}"

    def RegisterResource(self, request: Any) -> Any:
        response = _mark_secret_outputs(super().RegisterResource(request), request)
        secret: set[str] = set()
        inputs = plain(json_format.MessageToDict(request.object), "", secret)
        self.registrations.append(
            Registration(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent or None,
                custom=bool(request.custom),
                inputs=inputs,
                secret_inputs=frozenset(secret),
                dependencies=tuple(request.dependencies),
                property_dependencies={
                    key: tuple(deps.urns) for key, deps in request.propertyDependencies.items()
                },
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=tuple(request.ignoreChanges),
                replace_on_changes=tuple(request.replaceOnChanges),
                additional_secret_outputs=tuple(request.additionalSecretOutputs),
                aliases=tuple([*request.aliasURNs, *(_alias(alias) for alias in request.aliases)]),
                provider=request.provider,
                id=response.id,
                state=plain(json_format.MessageToDict(response.object), "", set()),
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.outputs[request.urn] = plain(json_format.MessageToDict(request.outputs), "", set())
        return empty_pb2.Empty()

    def SignalAndWaitForShutdown(self, request: Any) -> Any:
        # The real engine answers this once the program is done; MockMonitor lacks it.
        return empty_pb2.Empty()


def _alias(alias: Any) -> str:
    """An alias by URN, or by spec: the parts it overrides (name, type, ...)."""
    if alias.urn:
        return alias.urn
    spec = alias.spec
    parts = [
        f"{field}={getattr(spec, field)}"
        for field in ("name", "type", "stack", "project")
        if getattr(spec, field)
    ]
    return "spec(" + " ".join(parts) + ")"


def _mark_secret_outputs(response: Any, request: Any) -> Any:
    """The engine returns outputs named in `additionalSecretOutputs` as secrets; so must we."""
    if not request.additionalSecretOutputs:
        return response
    state = json_format.MessageToDict(response.object)
    for key in request.additionalSecretOutputs:
        if key in state:
            state[key] = {SIG_KEY: SECRET_SIG, "value": state[key]}
    return resource_pb2.RegisterResourceResponse(
        urn=response.urn, id=response.id, object=json_format.ParseDict(state, struct_pb2.Struct())
    )


def plain(value: Any, path: str, secret: set[str]) -> Any:
    """Unwrap serialized property values, noting the path of every secret."""
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            secret.add(path)
            return plain(value.get("value"), path, secret)
        if sig == RESOURCE_SIG:
            return value.get("urn")
        if sig == OUTPUT_SIG:
            if value.get("secret"):
                secret.add(path)
            return plain(value["value"], path, secret) if "value" in value else UNKNOWN_TEXT
        return {k: plain(v, f"{path}.{k}" if path else k, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v, f"{path}[{i}]", secret) for i, v in enumerate(value)]
    if value == UNKNOWN:
        return UNKNOWN_TEXT
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Structs carry every number as a double
    return value
