"""The nightly pg_dump as a CronJob, to the s3:// or gs:// URL from config. Credentials come from
an existing Secret or from workload identity (annotations on the job's own ServiceAccount)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.args import BackupArgs, K8sArgs
from mcp_deploy.k8s.app import Server, container_security, pod_security, scratch_tmp, secret_env
from mcp_deploy.k8s.meta import labels, metadata

BACKUP = "mcp-backup"


def backup_job(
    name: str,
    args: K8sArgs,
    backup: BackupArgs,
    database_gb: int,
    image: pulumi.Output[str],
    app: Server,
    parent: pulumi.Resource,
) -> k8s.batch.v1.CronJob | None:
    if args.backup_url is None:
        return None  # config allows this only outside production
    ns = args.namespace
    inside = pulumi.ResourceOptions(parent=parent, depends_on=[app.namespace])
    account = k8s.core.v1.ServiceAccount(
        f"{name}-backup",
        metadata=metadata(BACKUP, ns, BACKUP, annotations=args.backup_service_account_annotations or None),
        automount_service_account_token=False,
        opts=inside,
    )
    # A custom-format dump is compressed, but size the scratch space like the database itself.
    volume, mount = scratch_tmp(disk_size=f"{database_gb}Gi")
    credentials = (
        [k8s.core.v1.EnvFromSourceArgs(secret_ref=k8s.core.v1.SecretEnvSourceArgs(name=args.backup_secret))]
        if args.backup_secret
        else None
    )
    container = k8s.core.v1.ContainerArgs(
        name="backup",
        image=image,
        args=["backup"],
        env=[
            k8s.core.v1.EnvVarArgs(name="BACKUP_URL", value=args.backup_url),
            *secret_env(app.secret, ["DATABASE_URL"]),
        ],
        env_from=credentials,
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": "100m", "memory": "256Mi"}, limits={"cpu": "1", "memory": "1Gi"}
        ),
        security_context=container_security(),
        volume_mounts=[mount],
    )
    return k8s.batch.v1.CronJob(
        f"{name}-backup",
        metadata=metadata(BACKUP, ns, BACKUP),
        spec=k8s.batch.v1.CronJobSpecArgs(
            schedule=backup.schedule,
            time_zone="Etc/UTC",
            concurrency_policy="Forbid",
            starting_deadline_seconds=600,
            successful_jobs_history_limit=3,
            failed_jobs_history_limit=3,
            job_template=k8s.batch.v1.JobTemplateSpecArgs(
                spec=k8s.batch.v1.JobSpecArgs(
                    backoff_limit=2,
                    active_deadline_seconds=3600,
                    template=k8s.core.v1.PodTemplateSpecArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels(BACKUP)),
                        spec=k8s.core.v1.PodSpecArgs(
                            service_account_name=account.metadata.name,
                            automount_service_account_token=False,
                            restart_policy="OnFailure",
                            security_context=pod_security(),
                            containers=[container],
                            volumes=[volume],
                        ),
                    ),
                )
            ),
        ),
        opts=inside,
    )
