"""Nightly pg_dump to Cloud Storage: a locked-down bucket, a Cloud Run job running the image's
`backup` command with an account that may only create objects in that bucket, and a Cloud
Scheduler trigger. A second job restores, with an account that may only read."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.args import BackupArgs, GcpArgs
from mcp_deploy.gcp.network import Network
from mcp_deploy.gcp.secrets import ServerSecrets, grant_access

PREFIX = "postgres"


@dataclass(frozen=True)
class Backups:
    bucket: gcp.storage.Bucket
    restore_command: pulumi.Output[str]


def backups(
    name: str,
    args: BackupArgs,
    gcp_args: GcpArgs,
    image: pulumi.Output[str],
    net: Network,
    secrets: ServerSecrets,
    database_gb: int,
    production: bool,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> Backups:
    child = pulumi.ResourceOptions(parent=parent, depends_on=apis)
    limits = job_limits(database_gb)
    bucket = gcp.storage.Bucket(
        f"{name}-backups",
        project=gcp_args.project,
        location=gcp_args.region,
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        versioning=gcp.storage.BucketVersioningArgs(enabled=True),
        force_destroy=not production,
        lifecycle_rules=[
            gcp.storage.BucketLifecycleRuleArgs(
                action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                condition=gcp.storage.BucketLifecycleRuleConditionArgs(age=args.retention_days),
            ),
            gcp.storage.BucketLifecycleRuleArgs(
                action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                    days_since_noncurrent_time=args.retention_days, with_state="ARCHIVED"
                ),
            ),
        ],
        opts=child,
    )
    backup_url = pulumi.Output.concat("gs://", bucket.name, f"/{PREFIX}")
    writer = _job(
        name,
        "backup",
        ["backup"],
        limits,
        "roles/storage.objectCreator",
        gcp_args,
        image,
        net,
        secrets,
        bucket,
        backup_url,
        production,
        apis,
        parent,
    )
    reader = _job(
        name,
        "restore",
        ["restore", "latest"],
        limits,
        "roles/storage.objectViewer",
        gcp_args,
        image,
        net,
        secrets,
        bucket,
        backup_url,
        production,
        apis,
        parent,
    )
    trigger = gcp.serviceaccount.Account(
        f"{name}-backup-trigger",
        project=gcp_args.project,
        account_id=f"{name}-backup-trigger",
        display_name="mcp-deploy: starts the backup job",
        opts=child,
    )
    gcp.cloudrunv2.JobIamMember(
        f"{name}-backup-trigger-runs-job",
        project=gcp_args.project,
        location=gcp_args.region,
        name=writer.name,
        role="roles/run.invoker",
        member=pulumi.Output.concat("serviceAccount:", trigger.email),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    gcp.cloudscheduler.Job(
        f"{name}-backup",
        project=gcp_args.project,
        region=gcp_args.region,
        description="pg_dump of the MCP database to Cloud Storage",
        schedule=args.schedule,
        time_zone="Etc/UTC",
        attempt_deadline="1800s",
        retry_config=gcp.cloudscheduler.JobRetryConfigArgs(retry_count=3),
        http_target=gcp.cloudscheduler.JobHttpTargetArgs(
            http_method="POST",
            uri=pulumi.Output.concat(
                "https://run.googleapis.com/v2/projects/",
                gcp_args.project,
                "/locations/",
                gcp_args.region,
                "/jobs/",
                writer.name,
                ":run",
            ),
            oauth_token=gcp.cloudscheduler.JobHttpTargetOauthTokenArgs(
                service_account_email=trigger.email, scope="https://www.googleapis.com/auth/cloud-platform"
            ),
        ),
        opts=child,
    )
    restore_command = pulumi.Output.concat(
        "gcloud run jobs execute ",
        reader.name,
        " --project ",
        gcp_args.project,
        " --region ",
        gcp_args.region,
        " --wait",
    )
    return Backups(bucket=bucket, restore_command=restore_command)


def job_limits(database_gb: int) -> dict[str, str]:
    """A Cloud Run job's disk is its memory: the dump is staged in /tmp before upload, so memory
    grows with the database (a compressed dump is rarely over a quarter of it). Streaming the
    dump to the bucket would drop this need; it is not built, so past 128 GB of database the
    ceiling may not hold a dump. Cloud Run ties memory to CPU: up to 8 GiB with 2 CPUs, 16 GiB
    with 4, 32 GiB (the most) with 8."""
    for cpu, memory_gb in ((2, 8), (4, 16), (8, 32)):
        if database_gb <= memory_gb * 4:
            return {"cpu": str(cpu), "memory": f"{memory_gb}Gi"}
    return {"cpu": "8", "memory": "32Gi"}


def _job(
    name: str,
    label: str,
    command: list[str],
    limits: dict[str, str],
    bucket_role: str,
    gcp_args: GcpArgs,
    image: pulumi.Output[str],
    net: Network,
    secrets: ServerSecrets,
    bucket: gcp.storage.Bucket,
    backup_url: pulumi.Output[str],
    production: bool,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> gcp.cloudrunv2.Job:
    account = gcp.serviceaccount.Account(
        f"{name}-{label}",
        project=gcp_args.project,
        account_id=f"{name}-{label}",
        display_name=f"mcp-deploy {label} job",
        opts=pulumi.ResourceOptions(parent=parent, depends_on=apis),
    )
    member = pulumi.Output.concat("serviceAccount:", account.email)
    gcp.storage.BucketIAMMember(
        f"{name}-{label}-bucket",
        bucket=bucket.name,
        role=bucket_role,
        member=member,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    grant_access(f"{name}-{label}-reads-database-url", secrets.database_url, member, parent)
    return gcp.cloudrunv2.Job(
        f"{name}-{label}",
        project=gcp_args.project,
        location=gcp_args.region,
        name=f"{name}-{label}",
        deletion_protection=production,
        template=gcp.cloudrunv2.JobTemplateArgs(
            task_count=1,
            template=gcp.cloudrunv2.JobTemplateTemplateArgs(
                service_account=account.email,
                max_retries=1,
                timeout="3600s",
                vpc_access=gcp.cloudrunv2.JobTemplateTemplateVpcAccessArgs(
                    egress="PRIVATE_RANGES_ONLY",
                    network_interfaces=[
                        gcp.cloudrunv2.JobTemplateTemplateVpcAccessNetworkInterfaceArgs(
                            network=net.vpc.id, subnetwork=net.subnet.id
                        )
                    ],
                ),
                containers=[
                    gcp.cloudrunv2.JobTemplateTemplateContainerArgs(
                        image=image,
                        args=command,
                        resources=gcp.cloudrunv2.JobTemplateTemplateContainerResourcesArgs(limits=limits),
                        envs=[
                            gcp.cloudrunv2.JobTemplateTemplateContainerEnvArgs(
                                name="BACKUP_URL", value=backup_url
                            ),
                            gcp.cloudrunv2.JobTemplateTemplateContainerEnvArgs(
                                name="DATABASE_URL",
                                value_source=gcp.cloudrunv2.JobTemplateTemplateContainerEnvValueSourceArgs(
                                    secret_key_ref=gcp.cloudrunv2.JobTemplateTemplateContainerEnvValueSourceSecretKeyRefArgs(
                                        secret=secrets.database_url.secret_id, version="latest"
                                    )
                                ),
                            ),
                        ],
                    )
                ],
            ),
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=apis),
    )
