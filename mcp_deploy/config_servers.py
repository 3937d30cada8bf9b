"""`mcp-deploy:servers`: the server contract as stack config (a map of name -> entry).

A structured key: the stack file holds it as an object, which the CLI hands the program as JSON
text. Validation errors carry their path (`servers.tools.port`), so the one config error names
the exact key. Secrets are never values here: `secrets` maps an env name to the name of another
stack key that holds the secret (`pulumi config set --secret toolsApiKey ...`).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from mcp_deploy.fargate import fargate_cpu_problem, fargate_memory_problem
from mcp_deploy.server_spec import DEFAULT_CPU, PLACEHOLDER, PLACEHOLDERS, RESERVED_NAMES, SERVER_NAME
from mcp_deploy.slo import (
    DEFAULT_AVAILABILITY,
    DEFAULT_LATENCY_P99_MS,
    LATENCY_OBJECTIVES_MS,
    LATENCY_OBJECTIVES_TEXT,
)
from mcp_deploy.stdio_package import package_problem

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
_STACK_KEY = r"^[A-Za-z][A-Za-z0-9]{0,63}$"
_PATH = r"^/[A-Za-z0-9._~/-]{0,200}$"
_IMAGE_REF = re.compile(
    r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)+"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
)
CLOUD_RUN_MAX_CPU = 8192
CLOUD_RUN_MAX_MEMORY = 32768
# Registries Cloud Run pulls from without credentials of its own (its documented sources).
CLOUD_RUN_REGISTRIES = re.compile(r"^([a-z0-9-]+-docker\.pkg\.dev|(\w+\.)?gcr\.io|docker\.io)/")

EnvName = Annotated[str, Field(pattern=_ENV_NAME)]


def _json_object(value: Any) -> Any:
    """The CLI hands object keys to the program as JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value  # pydantic then says it is not an object
    return value


def rule(allowed: str) -> PydanticCustomError:
    """A validator's refusal; its text is what is allowed (the formatter adds key and value)."""
    return PydanticCustomError("config_rule", "{allowed}", {"allowed": allowed})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class HealthConfig(_Model):
    liveness: Annotated[str, Field(pattern=_PATH)] | None = None
    readiness: Annotated[str, Field(pattern=_PATH)] | None = None


class MetricsConfig(_Model):
    enabled: bool | None = None
    path: Annotated[str, Field(pattern=_PATH)] | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None


class SloConfig(_Model):
    availability: Annotated[float, Field(gt=90, lt=100)] = DEFAULT_AVAILABILITY
    latency_p99_ms: int = DEFAULT_LATENCY_P99_MS

    @field_validator("latency_p99_ms")
    @classmethod
    def _a_bucket(cls, value: int) -> int:
        if value not in LATENCY_OBJECTIVES_MS:
            raise rule(f"one of {LATENCY_OBJECTIVES_TEXT} (the gateway's latency buckets, in ms)")
        return value


class PostgresUseConfig(_Model):
    url_env: EnvName = "DATABASE_URL"
    backup: bool = True


class RedisUseConfig(_Model):
    url_env: EnvName = "REDIS_URL"
    prefix_env: EnvName = "REDIS_KEY_PREFIX"


class ReplicasConfig(_Model):
    min: Annotated[int, Field(ge=0, le=100)] = 1
    max: Annotated[int, Field(ge=1, le=100)] = 3
    target_cpu_percent: Annotated[int, Field(ge=10, le=90)] = 60

    @field_validator("max")
    @classmethod
    def _max_at_least_min(cls, maximum: int, info: ValidationInfo) -> int:
        minimum = info.data.get("min")
        if minimum is not None and maximum < minimum:
            raise rule(f"at least replicas.min ({minimum})")
        return maximum


class StdioConfig(_Model):
    pool: Annotated[int, Field(ge=0, le=64)] | None = None
    max_processes: Annotated[int, Field(ge=1, le=256)] | None = None
    idle_seconds: Annotated[int, Field(ge=10, le=86400)] | None = None
    request_seconds: Annotated[int, Field(ge=1, le=3600)] | None = None

    @field_validator("max_processes")
    @classmethod
    def _at_least_pool(cls, maximum: int | None, info: ValidationInfo) -> int | None:
        pool = info.data.get("pool")
        if maximum is not None and pool is not None and maximum < pool:
            raise rule(f"at least stdio.pool ({pool})")
        return maximum


class ServerConfig(_Model):
    """One entry of `servers:`; see server_args.ServerArgs for what each key means."""

    transport: Literal["streamable-http", "stdio"] | None = None
    package: str | None = None
    image: str | None = None
    build: Literal["server"] | None = Field(None, validate_default=True)
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    path: Annotated[str, Field(pattern=_PATH)] | None = None
    command: list[Annotated[str, Field(min_length=1)]] | None = Field(None, validate_default=True)
    stdio: StdioConfig | None = None
    args: list[str] | None = None
    health: HealthConfig | None = None
    metrics: MetricsConfig | None = None
    env: dict[EnvName, str] | None = None
    secrets: dict[EnvName, Annotated[str, Field(pattern=_STACK_KEY)]] | None = None
    generated_secrets: list[EnvName] | None = None
    postgres: PostgresUseConfig | None = None
    redis: RedisUseConfig | None = None
    scopes: list[Annotated[str, Field(pattern=r"^[\x21\x23-\x5b\x5d-\x7e]{1,64}$")]] | None = None
    slo: SloConfig | None = None
    sessions: Literal["stateless", "sticky"] | None = None
    replicas: ReplicasConfig | None = None
    concurrency: Annotated[int, Field(ge=1, le=1000)] | None = None
    cpu: Annotated[int, Field(ge=256, le=16384)] | None = None
    memory: Annotated[int, Field(ge=512, le=122880)] | None = None
    user: Annotated[int, Field(ge=1, le=2147483647)] | None = None
    read_only_root_filesystem: bool | None = None
    image_pull_secret: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")] | None = None
    repository_credentials: Annotated[str, Field(pattern=_STACK_KEY)] | None = None

    @field_validator("image")
    @classmethod
    def _image(cls, image: str | None, info: ValidationInfo) -> str | None:
        if image is None:
            return None
        if not _IMAGE_REF.match(image):
            raise rule("an image reference like ghcr.io/acme/tools:1.4.2 or ...@sha256:<64 hex>")
        target = (info.context or {}).get("target")
        if target == "gcp-cloudrun" and not CLOUD_RUN_REGISTRIES.match(image):
            raise rule(
                "on gcp-cloudrun, an image in Artifact Registry (REGION-docker.pkg.dev/...), gcr.io or "
                "docker.io: Cloud Run cannot pull from other registries; copy it to Artifact Registry"
            )
        return image

    @field_validator("package")
    @classmethod
    def _pinned(cls, package: str | None, info: ValidationInfo) -> str | None:
        if package is None:
            return None
        if info.data.get("transport") != "stdio":
            raise rule("only with transport: stdio")
        problem = package_problem(package)
        if problem is not None:
            raise rule(problem)
        return package

    @field_validator("build")
    @classmethod
    def _one_source(cls, build: str | None, info: ValidationInfo) -> str | None:
        if "image" not in info.data or "package" not in info.data:
            return build  # the image or package was given and refused: that is the problem to report
        if info.data.get("transport") == "stdio":
            if build is not None:
                raise rule("nothing with transport: stdio (give package, or image and command)")
            if (info.data["package"] is None) == (info.data["image"] is None):
                raise rule("with transport: stdio, exactly one of package or image (with command)")
            return build
        if (build is None) == (info.data["image"] is None):
            raise rule("exactly one of image (a prebuilt reference) or build: server")
        return build

    @field_validator("command")
    @classmethod
    def _stdio_command(cls, command: list[str] | None, info: ValidationInfo) -> list[str] | None:
        stdio_image = (
            info.data.get("transport") == "stdio"
            and info.data.get("image") is not None
            and info.data.get("package") is None
        )
        if stdio_image and not command:
            raise rule("the stdio server's command inside the image (an image built FROM our bridge image)")
        return command

    @field_validator("stdio")
    @classmethod
    def _stdio_only(cls, stdio: StdioConfig | None, info: ValidationInfo) -> StdioConfig | None:
        if stdio is not None and info.data.get("transport") != "stdio":
            raise rule("only with transport: stdio")
        return stdio

    @field_validator("env")
    @classmethod
    def _placeholders(cls, env: dict[str, str] | None) -> dict[str, str] | None:
        for value in (env or {}).values():
            unknown = [name for name in PLACEHOLDER.findall(value) if name not in PLACEHOLDERS]
            if unknown:
                raise rule("plain values; placeholders only " + ", ".join(f"${{{p}}}" for p in PLACEHOLDERS))
        return env

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, cpu: int | None, info: ValidationInfo) -> int | None:
        target = (info.context or {}).get("target")
        problem = fargate_cpu_problem(cpu) if cpu is not None and target == "aws-ecs" else None
        if problem is not None:
            raise rule(problem)
        if cpu is not None and target == "gcp-cloudrun" and cpu > CLOUD_RUN_MAX_CPU:
            raise rule(f"at most {CLOUD_RUN_MAX_CPU} (8 vCPUs, Cloud Run's largest)")
        return cpu

    @field_validator("memory")
    @classmethod
    def _memory(cls, memory: int | None, info: ValidationInfo) -> int | None:
        target = (info.context or {}).get("target")
        if memory is None:
            return None  # on aws-ecs, from_config gives it a size Fargate takes with the cpu
        if target == "gcp-cloudrun" and memory > CLOUD_RUN_MAX_MEMORY:
            raise rule(f"at most {CLOUD_RUN_MAX_MEMORY} MiB (32 GiB, Cloud Run's largest)")
        if target != "aws-ecs" or "cpu" not in info.data:
            return memory  # a cpu Fargate does not take is the one problem to report
        problem = fargate_memory_problem(info.data["cpu"] or DEFAULT_CPU, memory)
        if problem is not None:
            raise rule(problem)
        return memory

    @field_validator("image_pull_secret")
    @classmethod
    def _k8s_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        target = (info.context or {}).get("target")
        if value is not None and target not in (None, "kubernetes"):
            raise rule("only with target kubernetes (aws-ecs uses repositoryCredentials)")
        return value

    @field_validator("repository_credentials")
    @classmethod
    def _ecs_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        target = (info.context or {}).get("target")
        if value is not None and target not in (None, "aws-ecs"):
            raise rule("only with target aws-ecs (kubernetes uses imagePullSecret)")
        return value

    def secret_keys(self) -> list[str]:
        """The stack keys this entry reads secrets from."""
        keys = list((self.secrets or {}).values())
        if self.repository_credentials:
            keys.append(self.repository_credentials)
        return keys


def _not_empty(servers: Any) -> Any:
    if servers == {}:
        raise rule("at least one server")
    taken = sorted(RESERVED_NAMES & set(servers)) if isinstance(servers, dict) else []
    if taken:
        raise rule(f"server names other than {', '.join(taken)}: the platform names its own resources so")
    return servers


ServerName = Annotated[str, Field(pattern=SERVER_NAME.pattern)]
Servers = Annotated[
    dict[ServerName, ServerConfig], BeforeValidator(_not_empty), BeforeValidator(_json_object)
]

# What a stack without `servers:` deploys: our reference server, with its own defaults.
DEFAULT_SERVERS: dict[str, Any] = {"notes": {"build": "server"}}
