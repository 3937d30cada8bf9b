"""Scheduled pg_dump of every server database that asked for it, to Cloud Storage.

The bucket and the jobs' service accounts come with the platform (servers grant those accounts
their database-URL secrets); the jobs themselves are made in `backup_jobs`, once every server has
registered its database. `mcp-backup dump` (the image built from backup/) reads BACKUP_URL and one
PG_URL_<NAME> per database; the restore job runs `mcp-backup restore <name> latest|<object>` with
an account that may only read the bucket."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.gcp.image import built
from mcp_deploy.gcp.names import account_id, compute_name, run_name
from mcp_deploy.gcp.platform.job_schedule import run_on_schedule
from mcp_deploy.gcp.platform.network import Network
from mcp_deploy.gcp.platform.registry import Registry
from mcp_deploy.platform_spec import BackupSpec, GcpSpec

BACKUP_CONTEXT = "backup"
PREFIX = "postgres"
JobEnv = gcp.cloudrunv2.JobTemplateTemplateContainerEnvArgs
JobSecretRef = gcp.cloudrunv2.JobTemplateTemplateContainerEnvValueSourceSecretKeyRefArgs


@dataclass(frozen=True)
class BackupSource:
    """One server database the dump includes: its URL secret, pinned version and the grants that
    let both job accounts read it."""

    env: str  # PG_URL_<NAME>
    secret: gcp.secretmanager.Secret
    version: gcp.secretmanager.SecretVersion
    grants: tuple[gcp.secretmanager.SecretIamMember, ...]
    database: tuple[pulumi.Resource, ...]  # the server's database and user: the URL names them


@dataclass(frozen=True)
class BackupStore:
    bucket: gcp.storage.Bucket
    url: pulumi.Output[str]  # gs://<bucket>/postgres
    writer: gcp.serviceaccount.Account  # runs dumps: may create objects only
    reader: gcp.serviceaccount.Account  # runs restores: may read objects only
    grants: tuple[gcp.storage.BucketIAMMember, ...]


@dataclass(frozen=True)
class BackupJobs:
    backup: gcp.cloudrunv2.Job
    restore: gcp.cloudrunv2.Job
    restore_command: pulumi.Output[str]
    drill: gcp.cloudrunv2.Job  # restore drills: the restore job's account and secrets (platform/drill.py)


def backup_store(
    name: str,
    spec: BackupSpec,
    google: GcpSpec,
    production: bool,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> BackupStore:
    child = pulumi.ResourceOptions(parent=parent, depends_on=apis)
    bucket = gcp.storage.Bucket(
        f"{name}-backups",
        project=google.project,
        # Bucket names are global across all of GCP: the project id makes ours unlikely to be taken.
        name=compute_name(google.project, name, "backups"),
        location=google.region,
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        versioning=gcp.storage.BucketVersioningArgs(enabled=True),
        force_destroy=not production,
        lifecycle_rules=[
            gcp.storage.BucketLifecycleRuleArgs(
                action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                condition=gcp.storage.BucketLifecycleRuleConditionArgs(age=spec.retention_days),
            ),
            gcp.storage.BucketLifecycleRuleArgs(
                action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                    days_since_noncurrent_time=spec.retention_days, with_state="ARCHIVED"
                ),
            ),
        ],
        opts=child,
    )
    accounts: list[gcp.serviceaccount.Account] = []
    grants: list[gcp.storage.BucketIAMMember] = []
    for label, role in (("backup", "roles/storage.objectCreator"), ("restore", "roles/storage.objectViewer")):
        account = gcp.serviceaccount.Account(
            f"{name}-{label}",
            project=google.project,
            account_id=account_id(name, label),
            display_name=f"mcp-deploy {label} job",
            opts=child,
        )
        grants.append(
            gcp.storage.BucketIAMMember(
                f"{name}-{label}-bucket",
                bucket=bucket.name,
                role=role,
                member=pulumi.Output.concat("serviceAccount:", account.email),
                opts=pulumi.ResourceOptions(parent=parent),
            )
        )
        accounts.append(account)
    return BackupStore(
        bucket=bucket,
        url=pulumi.Output.concat("gs://", bucket.name, f"/{PREFIX}"),
        writer=accounts[0],
        reader=accounts[1],
        grants=tuple(grants),
    )


def backup_jobs(
    name: str,
    spec: BackupSpec,
    google: GcpSpec,
    store: BackupStore,
    sources: list[BackupSource],
    database_gb: int,
    net: Network,
    registry: Registry,
    production: bool,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> BackupJobs:
    image = built(f"{name}-backup-image", BACKUP_CONTEXT, "backup", registry, parent)
    limits = job_limits(database_gb)

    def job(label: str, args: list[str], account: gcp.serviceaccount.Account) -> gcp.cloudrunv2.Job:
        return _job(
            name, label, args, account, limits, image, google, store, sources, net, production, apis, parent
        )

    backup = job("backup", ["dump"], store.writer)
    restore = job("restore", ["restore"], store.reader)
    drill = job("drill", ["drill", "--all"], store.reader)
    run_on_schedule(
        name,
        "backup",
        backup,
        google,
        apis,
        parent,
        cron=spec.schedule,
        title="backup",
        description="pg_dump of every server database that asked for backups, to Cloud Storage",
    )
    # `--args` overrides the job's arguments for one execution: that takes run.jobs.runWithOverrides
    # (roles/run.developer on the job, or Admin), not only run.jobs.run (roles/run.invoker), which
    # is all the schedulers' callers have. README's "Restore a backup" says so.
    restore_command = pulumi.Output.concat(
        "gcloud run jobs execute ",
        restore.name,
        " --project ",
        google.project,
        " --region ",
        google.region,
        " --args=restore,<server>,latest --wait",
    )
    return BackupJobs(backup=backup, restore=restore, restore_command=restore_command, drill=drill)


def job_limits(database_gb: int) -> dict[str, str]:
    """A Cloud Run job's disk is its memory: a dump staged in /tmp before upload needs memory that
    grows with the databases (a compressed dump is rarely over a quarter of them). Cloud Run ties
    memory to CPU: up to 8 GiB with 2 CPUs, 16 GiB with 4, 32 GiB (the most) with 8."""
    for cpu, memory_gb in ((2, 8), (4, 16), (8, 32)):
        if database_gb <= memory_gb * 4:
            return {"cpu": str(cpu), "memory": f"{memory_gb}Gi"}
    return {"cpu": "8", "memory": "32Gi"}


def _job(
    name: str,
    label: str,
    args: list[str],
    account: gcp.serviceaccount.Account,
    limits: dict[str, str],
    image: pulumi.Output[str],
    google: GcpSpec,
    store: BackupStore,
    sources: list[BackupSource],
    net: Network,
    production: bool,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> gcp.cloudrunv2.Job:
    envs = [JobEnv(name="BACKUP_URL", value=store.url)]
    for source in sorted(sources, key=lambda s: s.env):
        envs.append(
            JobEnv(
                name=source.env,
                value_source=gcp.cloudrunv2.JobTemplateTemplateContainerEnvValueSourceArgs(
                    # The version, not `latest`: a new URL is a new job generation.
                    secret_key_ref=JobSecretRef(
                        secret=source.secret.secret_id, version=source.version.version
                    )
                ),
            )
        )
    # A job's first execution fails on a secret it may not read yet: wait for every version and grant.
    needs: list[pulumi.Resource] = [*apis, *store.grants]
    for source in sources:
        needs.extend([source.version, *source.grants, *source.database])
    return gcp.cloudrunv2.Job(
        f"{name}-{label}",
        project=google.project,
        location=google.region,
        name=run_name(name, label),
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
                        commands=["mcp-backup"],
                        args=args,
                        resources=gcp.cloudrunv2.JobTemplateTemplateContainerResourcesArgs(limits=limits),
                        envs=envs,
                    )
                ],
            ),
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=needs),
    )
