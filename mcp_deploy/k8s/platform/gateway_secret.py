"""The gateway's secret env: GATEWAY_SIGNING_KEY, the EC P-256 key every replica signs upstream
tokens with (generated here, so it lives only in Pulumi state, encrypted, and this Secret), and
REDIS_URL when the platform has Redis, SENTRY_DSN when it reports errors to Sentry. Handed to
the pods by secretKeyRef; the Secret is provider-named, like the servers' (server/secrets.py), so
a new key or URL rolls the pods."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from mcp_deploy.k8s.meta import metadata
from mcp_deploy.k8s.platform.redis import Redis

SIGNING_KEY_ENV = "GATEWAY_SIGNING_KEY"
REDIS_URL_ENV = "REDIS_URL"
SENTRY_DSN_ENV = "SENTRY_DSN"


def gateway_secret(
    name: str,
    namespace: str,
    instance: str,
    redis: Redis | None,
    sentry_dsn: pulumi.Input[str] | None,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> k8s.core.v1.Secret:
    # Replacing the key (taint it) rolls the gateway; servers refetch the JWKS on an unknown key id.
    key = tls.PrivateKey(
        f"{name}-gateway-signing-key",
        algorithm="ECDSA",
        ecdsa_curve="P256",
        opts=pulumi.ResourceOptions(parent=parent),
    )
    values: dict[str, pulumi.Input[str]] = {SIGNING_KEY_ENV: key.private_key_pem}
    if redis is not None:
        values[REDIS_URL_ENV] = redis.url
    if sentry_dsn is not None:
        values[SENTRY_DSN_ENV] = sentry_dsn
    return k8s.core.v1.Secret(
        f"{name}-gateway-env",
        metadata=metadata(None, namespace, "gateway", instance),  # auto-named: replaced on change
        type="Opaque",
        string_data={env: pulumi.Output.secret(value) for env, value in sorted(values.items())},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )


def secret_env_names(redis: Redis | None, sentry_dsn: pulumi.Input[str] | None) -> list[str]:
    # In this order so that a platform without Sentry keeps its pods' env as it was (no rollout).
    names = [REDIS_URL_ENV] if redis is not None else []
    names.append(SIGNING_KEY_ENV)
    if sentry_dsn is not None:
        names.append(SENTRY_DSN_ENV)
    return names
