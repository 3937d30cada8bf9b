"""The server's entry in the platform's backup job: its database URL as `PG_URL_<NAME>` in the
job's Secret, added by a server-side-apply patch that owns only that key (and removes it when
the server goes)."""

from __future__ import annotations

import base64

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.backup_contract import database_url_env
from mcp_deploy.k8s.platform.backups import Backups


def backup_entry(
    name: str, namespace: str, backups: Backups, url: pulumi.Output[str], parent: pulumi.Resource
) -> k8s.core.v1.SecretPatch:
    # `data`, not `stringData`: the API server folds stringData into data, so a patch of it
    # would not own the key it wrote.
    encoded = url.apply(lambda value: base64.b64encode(value.encode()).decode())
    return k8s.core.v1.SecretPatch(
        f"{name}-backup-url",
        metadata=k8s.meta.v1.ObjectMetaPatchArgs(name=backups.urls_secret, namespace=namespace),
        data={database_url_env(name): pulumi.Output.secret(encoded)},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[backups.cron_job]),
    )
