"""The bridge's settings, from the environment only. A bad environment stops the process at start
with one message naming every bad variable (exit status 2), as the gateway's and server's do.

The child's command comes from BRIDGE_COMMAND, else from <BRIDGE_PREFIX>/command.json (written
at image build by `mcp-bridge install`), with BRIDGE_ARGS appended."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from mcp_notes.settings import ServingSettings, SettingsError, invalid_variables

Argv = Annotated[list[str] | None, NoDecode]


class BridgeSettings(ServingSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=False)

    host: str = Field(default="127.0.0.1", validation_alias="BRIDGE_HOST")
    port: int = Field(default=8080, ge=1, le=65535, validation_alias="BRIDGE_PORT")
    name: str = Field(default="stdio", pattern=r"^[A-Za-z0-9._-]{1,64}$", validation_alias="BRIDGE_NAME")
    sessions: Literal["stateless", "sticky"] = Field(default="stateless", validation_alias="BRIDGE_SESSIONS")
    pool_size: int = Field(default=2, ge=1, le=256, validation_alias="BRIDGE_POOL_SIZE")
    max_processes: int = Field(default=16, ge=1, le=1024, validation_alias="BRIDGE_MAX_PROCESSES")
    idle_seconds: float = Field(default=300, gt=0, le=86_400, validation_alias="BRIDGE_IDLE_SECONDS")
    request_seconds: float = Field(default=60, gt=0, le=3600, validation_alias="BRIDGE_REQUEST_SECONDS")
    start_seconds: float = Field(default=30, gt=0, le=600, validation_alias="BRIDGE_START_SECONDS")
    command: Argv = Field(default=None, validation_alias="BRIDGE_COMMAND")
    args: Argv = Field(default=None, validation_alias="BRIDGE_ARGS")
    prefix: Path = Field(default=Path("/opt/server"), validation_alias="BRIDGE_PREFIX")
    # The SDK's DNS-rebinding check (Host and Origin allow-lists). Off by default: the bridge is
    # reachable only by the gateway on a private network, and the gateway forwards with the
    # upstream's own Host, which is whatever name that network gives us. A comma-separated list
    # turns the check on for those Host values.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="BRIDGE_ALLOWED_HOSTS"
    )
    max_request_bytes: int = Field(
        default=1_048_576, ge=4096, le=67_108_864, validation_alias="BRIDGE_MAX_REQUEST_BYTES"
    )

    @field_validator("command", "args", mode="before")
    @classmethod
    def _json_argv(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError('must be a JSON array of strings, e.g. ["npx", "server"]') from None
        if value is not None and not (isinstance(value, list) and all(isinstance(a, str) for a in value)):
            raise ValueError('must be a JSON array of strings, e.g. ["npx", "server"]')
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("command")
    @classmethod
    def _not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or not value[0]):
            raise ValueError("must name a program: a non-empty JSON array")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> BridgeSettings:
        if self.pool_size > self.max_processes:
            raise ValueError("BRIDGE_POOL_SIZE: must not exceed BRIDGE_MAX_PROCESSES")
        if self.command is None:
            _command_file(self.prefix)  # raises ValueError naming the file's problem
        return self

    @property
    def argv(self) -> list[str]:
        base = self.command if self.command is not None else _command_file(self.prefix)
        return [*base, *(self.args or [])]


def _command_file(prefix: Path) -> list[str]:
    path = prefix / "command.json"
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise ValueError(
            f"BRIDGE_COMMAND: unset, and {path} cannot be read ({error.strerror}); set BRIDGE_COMMAND "
            "or BRIDGE_PREFIX to a directory `mcp-bridge install` wrote"
        ) from None
    except ValueError:
        raise ValueError(f"BRIDGE_PREFIX: {path} is not JSON") from None
    command = data.get("command") if isinstance(data, dict) else None
    if not (isinstance(command, list) and command and all(isinstance(a, str) and a for a in command)):
        raise ValueError(f'BRIDGE_PREFIX: {path} has no "command" (a non-empty JSON array of strings)')
    return command


def load_settings(env: dict[str, str] | None = None) -> BridgeSettings:
    try:
        return BridgeSettings() if env is None else BridgeSettings.model_validate(env)
    except ValidationError as error:
        raise SettingsError("invalid environment:\n" + "\n".join(invalid_variables(error))) from None


def child_environment(env: dict[str, str]) -> dict[str, str]:
    """The platform injects the server's env and secrets into the container for the child; our
    own settings are not the child's business, nor is our Sentry DSN (third-party code). OTEL_* stay:
    a child that exports traces itself joins the bridge's (its requests carry it in `_meta`)."""
    return {key: value for key, value in env.items() if not key.startswith(("BRIDGE_", "SENTRY_"))}
