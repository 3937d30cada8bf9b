"""A CronJob of the platform's backup image (`mcp-backup`, built from `backup/`): the nightly dump
and the restore drill are both one. Their pods are the same pod with another command: the backup's
ServiceAccount (its cloud identity), its instance label (which the backup NetworkPolicy selects,
for Postgres and the object store), its database URLs and its scratch space. What differs is the
command, the schedule, and what becomes of a run that fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s.meta import POSTGRES_CLIENT, labels, metadata
from mcp_deploy.k8s.pods import container_security, pod_security

BACKUP_USER = 10001  # the image's non-root user


@dataclass(frozen=True)
class BackupPod:
    """What every run of the backup image shares (the drill adds only its own role's URL)."""

    namespace: str
    instance: str  # the backup's, on every run's pods: the backup NetworkPolicy selects by it
    platform_instance: str  # in-cluster Postgres admits pods labelled as its clients
    image: pulumi.Input[str]
    account: pulumi.Input[str]  # the backup's ServiceAccount
    backup_url: str
    env_from: list[k8s.core.v1.EnvFromSourceArgs]
    volumes: list[k8s.core.v1.VolumeArgs]
    mounts: list[k8s.core.v1.VolumeMountArgs]


@dataclass(frozen=True)
class Runs:
    """When a job runs, how long a run may take, and what becomes of one that fails."""

    schedule: str  # cron, in UTC
    deadline_seconds: int  # a run still going then is killed and counts as failed
    retries: int
    restart_policy: str
    successes_kept: int


def backup_cron_job(
    resource_name: str,
    pod: BackupPod,
    *,
    cron_name: str,
    component: str,
    args: list[str],
    runs: Runs,
    opts: pulumi.ResourceOptions,
) -> k8s.batch.v1.CronJob:
    """`args` to the image's entrypoint (`mcp-backup`), as `component` (its container and label)."""
    container = k8s.core.v1.ContainerArgs(
        name=component,
        image=pod.image,
        args=args,
        env=[k8s.core.v1.EnvVarArgs(name="BACKUP_URL", value=pod.backup_url)],
        env_from=pod.env_from,
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": "100m", "memory": "256Mi"}, limits={"cpu": "1", "memory": "1Gi"}
        ),
        security_context=container_security(),
        volume_mounts=pod.mounts,
    )
    return k8s.batch.v1.CronJob(
        resource_name,
        metadata=metadata(cron_name, pod.namespace, component, pod.instance),
        spec=k8s.batch.v1.CronJobSpecArgs(
            schedule=runs.schedule,
            time_zone="Etc/UTC",
            concurrency_policy="Forbid",
            starting_deadline_seconds=600,
            successful_jobs_history_limit=runs.successes_kept,
            failed_jobs_history_limit=3,
            job_template=k8s.batch.v1.JobTemplateSpecArgs(
                spec=k8s.batch.v1.JobSpecArgs(
                    backoff_limit=runs.retries,
                    active_deadline_seconds=runs.deadline_seconds,
                    template=k8s.core.v1.PodTemplateSpecArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(
                            labels={**labels(component, pod.instance), POSTGRES_CLIENT: pod.platform_instance}
                        ),
                        spec=k8s.core.v1.PodSpecArgs(
                            service_account_name=pod.account,
                            automount_service_account_token=False,
                            restart_policy=runs.restart_policy,
                            security_context=pod_security(BACKUP_USER),
                            containers=[container],
                            volumes=pod.volumes,
                        ),
                    ),
                )
            ),
        ),
        opts=opts,
    )
