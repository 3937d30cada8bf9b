"""The data the server uses on the platform's shared tier: a database and a role of its own on
the Cloud SQL instance, and the URL it connects with (private IPs, TLS required)."""

from __future__ import annotations

from urllib.parse import quote

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from mcp_deploy.platform_spec import GcpSpec

PASSWORD_LENGTH = 32
# Encrypted, but the server's certificate is not verified: Cloud SQL's default per-instance CA
# issues a certificate for `<project>:<instance>`, not for the private IP the URL names, so
# verify-full would fail; verify-ca would need the CA as a file in every image.
SSLMODE = "require"


def database(
    name: str, server: str, google: GcpSpec, instance: gcp.sql.DatabaseInstance, parent: pulumi.Resource
) -> tuple[list[pulumi.Resource], pulumi.Output[str]]:
    """(the resources the server needs before it starts, the database URL as a secret)."""
    identifier = server.replace("-", "_")  # no quoting needed in SQL
    db = gcp.sql.Database(
        f"{name}-database",
        project=google.project,
        instance=instance.name,
        name=identifier,
        # Postgres refuses to drop a database others hold objects in; the instance takes it along.
        deletion_policy="ABANDON",
        opts=pulumi.ResourceOptions(parent=parent),
    )
    password = random.RandomPassword(
        f"{name}-database-password",
        length=PASSWORD_LENGTH,
        special=False,
        min_lower=1,
        min_upper=1,
        min_numeric=1,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    user = gcp.sql.User(
        f"{name}-database-user",
        project=google.project,
        instance=instance.name,
        name=identifier,
        password=pulumi.Output.secret(password.result),
        # Postgres refuses to drop a role that owns objects; the instance takes it along.
        deletion_policy="ABANDON",
        opts=pulumi.ResourceOptions(parent=parent),
    )
    url = pulumi.Output.all(password.result, instance.private_ip_address).apply(
        lambda parts: (
            f"postgresql://{identifier}:{quote(str(parts[0]), safe='')}@{parts[1]}:5432"
            f"/{identifier}?sslmode={SSLMODE}"
        )
    )
    return [db, user], pulumi.Output.secret(url)
