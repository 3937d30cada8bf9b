"""The platform's nightly dump: a CronJob running the image built from `backup/` (`mcp-backup
dump`) to the s3:// or gs:// URL from config, for every server database that asked for it.

Servers are created after the platform, so the job cannot list their URLs itself: it reads
every key of one Secret (`envFrom`), and each server with `postgres.backup` adds its own
`PG_URL_<NAME>` key to it with a server-side-apply patch (server/backup.py). Secret data is a
map, so each patch owns only its key. The job reads the Secret when each run starts; nothing
needs to roll when a key changes. Cloud credentials come from an existing Secret or from
workload identity (annotations on the job's own ServiceAccount).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s.images import built_image
from mcp_deploy.k8s.meta import metadata
from mcp_deploy.k8s.platform.backup_cronjob import BackupPod, Runs, backup_cron_job
from mcp_deploy.k8s.platform.drill import restore_drill
from mcp_deploy.k8s.platform.postgres import Postgres
from mcp_deploy.k8s.pods import postgres_ca, scratch_tmp
from mcp_deploy.names import physical_name
from mcp_deploy.platform_spec import PlatformSpec

BACKUP_BUILD = "backup"  # the platform's backup image, relative to the project


@dataclass(frozen=True)
class Backups:
    cron_job: k8s.batch.v1.CronJob
    urls_secret: str  # servers add PG_URL_<NAME> here
    instance: str
    bucket: str


def backups(
    name: str,
    spec: PlatformSpec,
    namespace: str,
    platform_instance: str,
    postgres: Postgres,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> Backups | None:
    k = spec.k8s
    if k.backup_url is None or spec.postgres is None:
        return None
    if k.registry is None:
        raise ValueError("kubernetes backups: k8s.registry is required to push the backup image")
    # Also the CronJob's name (and the alerts' and dashboard's `cronjob`): 52 at most, as its
    # Jobs add 11 characters.
    instance = physical_name(name, "backup", limit=52)
    inside = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
    image = built_image(f"{name}-backup-image", BACKUP_BUILD, k.registry, parent)
    urls = k8s.core.v1.Secret(
        f"{name}-backup-urls",
        # A fixed name the servers' patches find; its own data stays empty (servers own the keys).
        metadata=metadata(physical_name(name, "backup-urls"), namespace, "backup", instance),
        type="Opaque",
        opts=inside,
    )
    account = k8s.core.v1.ServiceAccount(
        f"{name}-backup",
        metadata=metadata(
            instance, namespace, "backup", instance, annotations=k.backup_service_account_annotations or None
        ),
        automount_service_account_token=False,
        opts=inside,
    )
    # A custom-format dump is compressed, but size the scratch space like the database itself.
    volume, mount = scratch_tmp(disk_size=f"{spec.postgres.storage_gb}Gi")
    volumes, mounts = [volume], [mount]
    if postgres.cluster_name is not None:
        ca_volume, ca_mount = postgres_ca(postgres.ca_secret)
        volumes.append(ca_volume)
        mounts.append(ca_mount)
    env_from = [
        k8s.core.v1.EnvFromSourceArgs(secret_ref=k8s.core.v1.SecretEnvSourceArgs(name=urls.metadata.name))
    ]
    if k.backup_secret:
        env_from.append(
            k8s.core.v1.EnvFromSourceArgs(secret_ref=k8s.core.v1.SecretEnvSourceArgs(name=k.backup_secret))
        )
    pod = BackupPod(
        namespace=namespace,
        instance=instance,
        platform_instance=platform_instance,
        image=image,
        account=account.metadata.name,
        backup_url=k.backup_url,
        env_from=env_from,
        volumes=volumes,
        mounts=mounts,
    )
    cron_job = backup_cron_job(
        f"{name}-backup",
        pod,
        cron_name=instance,
        component="backup",
        args=["dump"],
        runs=Runs(
            schedule=spec.backup.schedule,
            deadline_seconds=3600,
            retries=2,
            restart_policy="OnFailure",
            successes_kept=3,
        ),
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=[*depends_on, urls, account, *postgres.resources],
        ),
    )
    restore_drill(name, spec, pod, postgres, [*depends_on, urls, account], parent)
    return Backups(
        cron_job=cron_job,
        urls_secret=physical_name(name, "backup-urls"),
        instance=instance,
        bucket=urlsplit(k.backup_url).netloc,
    )
