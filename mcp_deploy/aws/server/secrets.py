"""A server's secrets in Secrets Manager: its own (`secrets`), the generated ones, and its
database and Redis URLs. The container gets each by ARN; the service waits for every version."""

from __future__ import annotations

import pulumi

from mcp_deploy.aws.platform import AwsPlatform
from mcp_deploy.aws.secret import StoredSecret, generated, stored_secret
from mcp_deploy.server_spec import ServerSpec

GENERATED_LENGTH = 48


def server_secrets(
    spec: ServerSpec,
    platform: AwsPlatform,
    database_url: pulumi.Output[str] | None,
    parent: pulumi.Resource,
) -> dict[str, StoredSecret]:
    """Env name -> stored secret, for every name in `spec.secret_env_names`."""
    values: dict[str, pulumi.Input[str]] = dict(spec.secrets)
    for env in spec.generated_secrets:
        values[env] = generated(f"{spec.name}-{_label(env)}", GENERATED_LENGTH, parent)
    if spec.postgres is not None and database_url is not None:
        values[spec.postgres.url_env] = database_url
    if spec.redis is not None and platform.redis is not None:
        values[spec.redis.url_env] = platform.redis.url()
    return {
        env: stored_secret(
            f"{spec.name}-{_label(env)}",
            (platform.prefix, spec.name, _label(env)),
            f"{env} of MCP server {spec.name}",
            value,
            platform.spec.production,
            parent,
        )
        for env, value in sorted(values.items())
    }


def _label(env: str) -> str:
    return env.lower().replace("_", "-")
