"""Where alarms go (an encrypted SNS topic, email from args) and the alarms on what servers share:
the database's CPU and free storage, Redis memory. Servers add their own (aws/server/alarms.py)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.alarm import FIVE_MINUTES, alarm
from mcp_deploy.aws.platform.data import Postgres, Redis
from mcp_deploy.names import physical_name


def alarm_topic(name: str, alert_email: str | None, parent: pulumi.Resource) -> aws.sns.Topic:
    child = pulumi.ResourceOptions(parent=parent)
    topic = aws.sns.Topic(
        f"{name}-alarms",
        name=physical_name(name, "alarms", limit=256),
        kms_master_key_id=_topic_key(name, parent).arn,
        opts=child,
    )
    if alert_email is not None:
        aws.sns.TopicSubscription(
            f"{name}-alarms-email", topic=topic.arn, protocol="email", endpoint=alert_email, opts=child
        )
    return topic


def data_alarms(
    name: str, topic: aws.sns.Topic, postgres: Postgres | None, redis: Redis | None, parent: pulumi.Resource
) -> None:
    if postgres is not None:
        database = {"DBInstanceIdentifier": postgres.instance.identifier}
        alarm(
            f"{name}-postgres-cpu",
            (name, "postgres-cpu"),
            "Database CPU above 80% for 15 minutes",
            aws.cloudwatch.MetricAlarmArgs(
                namespace="AWS/RDS",
                metric_name="CPUUtilization",
                dimensions=database,
                statistic="Average",
                period=FIVE_MINUTES,
                evaluation_periods=3,
                comparison_operator="GreaterThanThreshold",
                threshold=80,
            ),
            topic,
            parent,
        )
        alarm(
            f"{name}-postgres-storage",
            (name, "postgres-storage"),
            "Database free storage under 10% of what was allocated",
            aws.cloudwatch.MetricAlarmArgs(
                namespace="AWS/RDS",
                metric_name="FreeStorageSpace",
                dimensions=database,
                statistic="Minimum",
                period=FIVE_MINUTES,
                evaluation_periods=1,
                comparison_operator="LessThanThreshold",
                threshold=postgres.storage_gb * 1024**3 * 0.10,
            ),
            topic,
            parent,
        )
    if redis is not None:
        for node in range(redis.nodes):
            alarm(
                f"{name}-redis-memory-{node + 1}",
                (name, f"redis-memory-{node + 1}"),
                "Redis memory above 80% (evictions and refused writes follow)",
                aws.cloudwatch.MetricAlarmArgs(
                    namespace="AWS/ElastiCache",
                    metric_name="DatabaseMemoryUsagePercentage",
                    dimensions={
                        "CacheClusterId": redis.group.id.apply(lambda group, n=node: f"{group}-{n + 1:03d}")
                    },
                    statistic="Maximum",
                    period=FIVE_MINUTES,
                    evaluation_periods=2,
                    comparison_operator="GreaterThanThreshold",
                    threshold=80,
                ),
                topic,
                parent,
            )


def _topic_key(name: str, parent: pulumi.Resource) -> aws.kms.Key:
    """CloudWatch cannot publish to a topic encrypted with the AWS-managed alias/aws/sns key (its
    policy cannot be changed to admit CloudWatch): alarms would fire into nothing. A key of our
    own, rotated yearly, whose policy lets CloudWatch encrypt for the topic."""
    account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=parent)).account_id
    policy = account.apply(
        lambda account_id: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AccountAdministersTheKey",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "CloudWatchPublishesAlarms",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudwatch.amazonaws.com"},
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                    },
                ],
            }
        )
    )
    return aws.kms.Key(
        f"{name}-alarms",
        description="encrypts the MCP alarm topic; CloudWatch may use it",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy,
        opts=pulumi.ResourceOptions(parent=parent),
    )
