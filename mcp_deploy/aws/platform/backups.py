"""What every server's scheduled pg_dump shares: a locked-down bucket, the backup image (built
from backup/, entry `mcp-backup`), a write-only task role, a read-only restore role, a security
group that reaches Postgres, the logs, and an alarm on any failed run.

Each server whose `postgres.backup` is true adds its own task and schedule (aws/server/backup.py):
the platform exists before its servers, so one task listing every server's database URL could
not be written here without the list of servers up front.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.cron import eventbridge_cron
from mcp_deploy.aws.iam import Role, policy, service_role
from mcp_deploy.aws.images import built_image, repository
from mcp_deploy.aws.platform.network import Network
from mcp_deploy.aws.scheduled_task_alarms import failed_run_alarm
from mcp_deploy.aws.security import POSTGRES_PORT, allow, https_out, security_group
from mcp_deploy.names import physical_name
from mcp_deploy.platform_spec import PlatformSpec

BACKUP_DIR = Path(__file__).resolve().parents[3] / "backup"
PREFIX = "postgres"
BUCKET_PREFIX_LIMIT = 37  # S3 adds 26 characters to a bucket_prefix
# Fargate's ephemeral storage (the dump's scratch space under /tmp) is 21-200 GiB when set.
MIN_EPHEMERAL_GIB, MAX_EPHEMERAL_GIB = 21, 200


@dataclass(frozen=True)
class Backups:
    bucket: aws.s3.Bucket
    image: pulumi.Output[str]
    repository_arn: pulumi.Output[str]
    task_role: Role
    restore_role: Role
    group: aws.ec2.SecurityGroup
    log_group: aws.cloudwatch.LogGroup
    family_prefix: str  # every server's backup task family starts with this
    schedule: str  # EventBridge Scheduler cron(...)
    ephemeral_gib: int
    # Ingress/egress rules of the backup group: a dump waits for them like a server does.
    rules: list[pulumi.Resource]

    def url(self) -> pulumi.Output[str]:
        return pulumi.Output.concat("s3://", self.bucket.bucket, f"/{PREFIX}")


def ephemeral_gib(storage_gb: int) -> int:
    """Room for a dump of the whole instance (it can be no larger than the database's storage)."""
    return max(MIN_EPHEMERAL_GIB, min(MAX_EPHEMERAL_GIB, storage_gb))


def backups(
    name: str,
    spec: PlatformSpec,
    net: Network,
    postgres_group: aws.ec2.SecurityGroup,
    cluster: aws.ecs.Cluster,
    topic: aws.sns.Topic,
    parent: pulumi.Resource,
) -> Backups:
    assert spec.postgres is not None
    schedule = eventbridge_cron(spec.backup.schedule)  # refuses what EventBridge cannot express
    bucket = _bucket(name, spec.backup.retention_days, spec.production, parent)
    repo = repository(f"{name}-backup", (name, "backup"), spec.registry_keep_images, spec.production, parent)
    image = built_image(f"{name}-backup", BACKUP_DIR, repo, parent)
    group = security_group(
        f"{name}-backup", (name, "backup"), net.vpc_id, "Scheduled pg_dump and restore tasks", parent
    )
    rules = [
        *allow(f"{name}-backup-to-postgres", group, postgres_group, POSTGRES_PORT, parent),
        https_out(f"{name}-backup", group, parent),
    ]
    objects = bucket.arn.apply(lambda arn: f"{arn}/{PREFIX}/*")
    # Write-only: a leaked backup role can read nothing.
    task_role = service_role(
        f"{name}-backup-task",
        (name, "backup-task"),
        "ecs-tasks.amazonaws.com",
        [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:AbortMultipartUpload"], "Resource": objects}],
        parent,
    )
    # Used only when someone restores: may list and read dumps under the prefix, nothing more.
    restore_role = service_role(
        f"{name}-restore-task",
        (name, "restore-task"),
        "ecs-tasks.amazonaws.com",
        [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": objects},
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": bucket.arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{PREFIX}/*"]}},
            },
        ],
        parent,
    )
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-backup",
        name=f"/mcp-deploy/{physical_name(name, 'backup', limit=400)}",
        retention_in_days=spec.log_retention_days,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    family_prefix = physical_name(name, "backup", limit=200)
    # One alarm for every server's dumps and restores: their task families share the prefix.
    failed_run_alarm(
        f"{name}-backup",
        (name, "backup"),
        cluster,
        {"prefix": f"family:{family_prefix}"},
        topic,
        parent,
        rule_description="A backup or restore task failed",
        alarm_description="A database backup (or restore) run failed",
    )
    return Backups(
        bucket=bucket,
        image=image,
        repository_arn=repo.arn,
        task_role=task_role,
        restore_role=restore_role,
        group=group,
        log_group=log_group,
        family_prefix=family_prefix,
        schedule=schedule,
        ephemeral_gib=ephemeral_gib(spec.postgres.storage_gb),
        rules=rules,
    )


def _bucket(name: str, retention_days: int, production: bool, parent: pulumi.Resource) -> aws.s3.Bucket:
    # Bucket names are global across accounts: the stack-derived prefix plus S3's unique suffix.
    bucket = aws.s3.Bucket(
        f"{name}-backups",
        bucket_prefix=physical_name(name, "backups", limit=BUCKET_PREFIX_LIMIT) + "-",
        force_destroy=not production,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    inside = pulumi.ResourceOptions(parent=bucket)
    aws.s3.BucketPublicAccessBlock(
        f"{name}-backups",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=inside,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-backups",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=inside,
    )
    aws.s3.BucketVersioning(
        f"{name}-backups",
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=inside,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-backups",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms"
                ),
                bucket_key_enabled=True,
            )
        ],
        opts=inside,
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-backups",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-dumps",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=f"{PREFIX}/"),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=retention_days),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=retention_days
                ),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=1
                ),
            )
        ],
        opts=inside,
    )
    aws.s3.BucketPolicy(
        f"{name}-backups",
        bucket=bucket.id,
        policy=policy(
            [
                {
                    "Sid": "TlsOnly",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket.arn, bucket.arn.apply(lambda arn: f"{arn}/*")],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ]
        ),
        opts=inside,
    )
    return bucket
