"""A database and a role of the server's own on the platform's shared RDS instance.

No Pulumi resource can reach a private RDS instance, so the role and database are made by the
backup image (it has the PostgreSQL client) as an init container of the server's own task:
`mcp-backup provision` reads the admin URL and the server's URL, creates the role (LOGIN, that
password) and the database it owns when missing, and sets the password when it differs; the
server container starts only after it exits 0 (`dependsOn: SUCCESS`). It runs at every task
start, so a changed password reaches the database in the same rollout that hands it over.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.container import BACKUP_USER, container
from mcp_deploy.aws.platform import AwsPlatform
from mcp_deploy.aws.platform.data import SSL_MODE
from mcp_deploy.aws.secret import StoredSecret, generated
from mcp_deploy.server_spec import ServerSpec

PROVISION_CONTAINER = "provision-db"
PASSWORD_LENGTH = 32


def role_name(server: str) -> str:
    """PostgreSQL identifiers: the server name with '_' for '-', also the database's name."""
    return server.replace("-", "_")


def database_url(spec: ServerSpec, platform: AwsPlatform, parent: pulumi.Resource) -> pulumi.Output[str]:
    assert platform.postgres is not None
    instance = platform.postgres.instance
    password = generated(f"{spec.name}-postgres-password", PASSWORD_LENGTH, parent)
    role = role_name(spec.name)
    return pulumi.Output.all(password, instance.address, instance.port).apply(
        lambda parts: (
            f"postgresql://{role}:{quote(str(parts[0]), safe='')}@{parts[1]}:{parts[2]}/{role}"
            f"?sslmode={SSL_MODE}"
        )
    )


def provision_container(
    platform: AwsPlatform, url: StoredSecret, log_group: aws.cloudwatch.LogGroup
) -> dict[str, Any]:
    assert platform.postgres is not None
    assert platform.backups is not None
    return container(
        PROVISION_CONTAINER,
        platform.backups.image,
        {"TMPDIR": "/tmp"},
        {"PG_ADMIN_URL": platform.postgres.admin_url.arn, "PG_URL": url.arn},
        log_group,
        platform.region,
        entry_point=["mcp-backup"],
        command=["provision"],
        user=BACKUP_USER,
        essential=False,
    )
