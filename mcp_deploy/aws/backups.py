"""Nightly pg_dump to S3: a locked-down bucket and a scheduled Fargate task running the image's
`backup` command, whose role may only put objects under its prefix."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mcp_deploy.args import BackupArgs
from mcp_deploy.aws.compute import Compute, container
from mcp_deploy.aws.cron import eventbridge_cron
from mcp_deploy.aws.iam import policy, service_role
from mcp_deploy.aws.network import Network
from mcp_deploy.aws.secrets import ServerSecrets
from mcp_deploy.aws.security import SecurityGroups

PREFIX = "postgres"


@dataclass(frozen=True)
class Backups:
    bucket: aws.s3.Bucket
    restore_command: pulumi.Output[str]


def backups(
    name: str,
    args: BackupArgs,
    image: pulumi.Output[str],
    net: Network,
    groups: SecurityGroups,
    secrets: ServerSecrets,
    runtime: Compute,
    cpu: int,
    memory_mib: int,
    region: pulumi.Output[str],
    production: bool,
    parent: pulumi.Resource,
) -> Backups:
    bucket = _bucket(name, args.retention_days, production, parent)
    child = pulumi.ResourceOptions(parent=parent)
    # Write-only: a leaked backup role can read nothing.
    task_role = service_role(
        f"{name}-backup-task",
        "ecs-tasks.amazonaws.com",
        [
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                "Resource": bucket.arn.apply(lambda arn: f"{arn}/{PREFIX}/*"),
            }
        ],
        parent,
    )
    environment: dict[str, pulumi.Input[str]] = {
        "BACKUP_URL": pulumi.Output.concat("s3://", bucket.bucket, f"/{PREFIX}"),
        "AWS_REGION": region,
    }
    task = aws.ecs.TaskDefinition(
        f"{name}-backup",
        family=f"{name}-backup",
        cpu=str(cpu),
        memory=str(memory_mib),
        network_mode="awsvpc",
        requires_compatibilities=["FARGATE"],
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
            operating_system_family="LINUX", cpu_architecture="X86_64"
        ),
        execution_role_arn=runtime.execution_role.arn,
        task_role_arn=task_role.arn,
        volumes=[aws.ecs.TaskDefinitionVolumeArgs(name="tmp")],
        container_definitions=pulumi.Output.json_dumps(
            [
                container(
                    image,
                    ["backup"],
                    environment,
                    {"DATABASE_URL": secrets.database_url.arn},
                    runtime.log_group,
                    "backup",
                    region,
                    False,
                )
            ]
        ),
        opts=child,
    )
    scheduler_role = service_role(
        f"{name}-backup-scheduler",
        "scheduler.amazonaws.com",
        [
            {
                "Effect": "Allow",
                "Action": ["ecs:RunTask"],
                "Resource": task.arn_without_revision.apply(lambda arn: f"{arn}:*"),
            },
            {
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": [runtime.execution_role.arn, task_role.arn],
            },
        ],
        parent,
    )
    aws.scheduler.Schedule(
        f"{name}-backup",
        description="pg_dump of the MCP database to S3",
        schedule_expression=eventbridge_cron(args.schedule),
        schedule_expression_timezone="UTC",
        flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
        target=aws.scheduler.ScheduleTargetArgs(
            arn=runtime.cluster.arn,
            role_arn=scheduler_role.arn,
            ecs_parameters=aws.scheduler.ScheduleTargetEcsParametersArgs(
                task_definition_arn=task.arn,
                launch_type="FARGATE",
                task_count=1,
                network_configuration=aws.scheduler.ScheduleTargetEcsParametersNetworkConfigurationArgs(
                    subnets=net.private_subnet_ids, security_groups=[groups.backup.id], assign_public_ip=False
                ),
            ),
            retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=3600, maximum_retry_attempts=3
            ),
        ),
        opts=child,
    )
    restore_role = _restore_role(name, bucket, parent)
    return Backups(
        bucket=bucket,
        restore_command=_restore_command(runtime, task, restore_role, net, groups),
    )


def _restore_role(name: str, bucket: aws.s3.Bucket, parent: pulumi.Resource) -> aws.iam.Role:
    """Used only when someone restores: may list and read dumps under the prefix, nothing more."""
    return service_role(
        f"{name}-restore-task",
        "ecs-tasks.amazonaws.com",
        [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": bucket.arn.apply(lambda arn: f"{arn}/{PREFIX}/*"),
            },
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": bucket.arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{PREFIX}/*"]}},
            },
        ],
        parent,
    )


def _restore_command(
    runtime: Compute, task: aws.ecs.TaskDefinition, role: aws.iam.Role, net: Network, groups: SecurityGroups
) -> pulumi.Output[str]:
    """`aws ecs run-task` for `mcp-notes restore latest`, in the backup task's network, with the
    restore role. Printed as a stack output so nobody has to assemble it by hand."""
    overrides = pulumi.Output.json_dumps(
        {"taskRoleArn": role.arn, "containerOverrides": [{"name": "mcp", "command": ["restore", "latest"]}]}
    )
    network = pulumi.Output.all(
        subnets=pulumi.Output.all(*net.private_subnet_ids), group=groups.backup.id
    ).apply(
        lambda n: (
            "awsvpcConfiguration={subnets=["
            + ",".join(n["subnets"])
            + "],securityGroups=["
            + n["group"]
            + "],assignPublicIp=DISABLED}"
        )
    )
    return pulumi.Output.format(
        "aws ecs run-task --cluster {0} --launch-type FARGATE --task-definition {1} "
        "--network-configuration '{2}' --overrides '{3}'",
        runtime.cluster.name,
        task.family,
        network,
        overrides,
    )


def _bucket(name: str, retention_days: int, production: bool, parent: pulumi.Resource) -> aws.s3.Bucket:
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(f"{name}-backups", force_destroy=not production, opts=child)
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
