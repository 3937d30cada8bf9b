"""CloudWatch alarms to an SNS topic (email from config): 5xx rate, p99 latency, unhealthy
targets, service CPU and memory, database CPU and free storage, Redis memory."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from mcp_deploy.args import McpServiceArgs
from mcp_deploy.aws.compute import Compute
from mcp_deploy.aws.data import DataTier
from mcp_deploy.aws.edge import Edge

FIVE_MINUTES = 300


def alarms(
    name: str, args: McpServiceArgs, front: Edge, runtime: Compute, data: DataTier, parent: pulumi.Resource
) -> aws.sns.Topic:
    child = pulumi.ResourceOptions(parent=parent)
    topic = aws.sns.Topic(f"{name}-alarms", kms_master_key_id=_topic_key(name, parent).arn, opts=child)
    if args.alert_email is not None:
        aws.sns.TopicSubscription(
            f"{name}-alarms-email", topic=topic.arn, protocol="email", endpoint=args.alert_email, opts=child
        )

    def alarm(label: str, description: str, settings: aws.cloudwatch.MetricAlarmArgs) -> None:
        settings.alarm_description = description
        settings.alarm_actions = [topic.arn]
        settings.ok_actions = [topic.arn]
        settings.treat_missing_data = "notBreaching"
        aws.cloudwatch.MetricAlarm(f"{name}-{label}", args=settings, opts=child)

    alb = {"LoadBalancer": front.load_balancer.arn_suffix}
    target = {**alb, "TargetGroup": front.target_group.arn_suffix}
    service = {"ClusterName": runtime.cluster.name, "ServiceName": runtime.service.name}
    database = {"DBInstanceIdentifier": data.postgres.identifier}
    alarm(
        "5xx-rate",
        "More than 5% of MCP requests failed with a 5xx for 10 minutes",
        aws.cloudwatch.MetricAlarmArgs(
            comparison_operator="GreaterThanThreshold",
            threshold=5,
            evaluation_periods=2,
            metric_queries=[
                # The server's own 5xx and the ALB's (502/503/504 when no task answers: the
                # outage case). 5xx counts are absent, not 0, in quiet periods.
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="failed", expression="FILL(errors, 0) + FILL(edge, 0)", label="5xx"
                ),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="rate",
                    expression="100 * failed / MAX([failed, requests])",
                    label="5xx %",
                    return_data=True,
                ),
                _query("errors", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb),
                _query("edge", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", alb),
                _query("requests", "AWS/ApplicationELB", "RequestCount", alb),
            ],
        ),
    )
    alarm(
        "latency-p99",
        "p99 response time above 2 s for 15 minutes",
        aws.cloudwatch.MetricAlarmArgs(
            namespace="AWS/ApplicationELB",
            metric_name="TargetResponseTime",
            dimensions=target,
            extended_statistic="p99",
            period=FIVE_MINUTES,
            evaluation_periods=3,
            comparison_operator="GreaterThanThreshold",
            threshold=2,
        ),
    )
    alarm(
        "unhealthy-hosts",
        "A task fails its /health check",
        aws.cloudwatch.MetricAlarmArgs(
            namespace="AWS/ApplicationELB",
            metric_name="UnHealthyHostCount",
            dimensions=target,
            statistic="Maximum",
            period=60,
            evaluation_periods=3,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
        ),
    )
    for metric, label in (("CPUUtilization", "cpu"), ("MemoryUtilization", "memory")):
        alarm(
            f"service-{label}",
            f"Server {label} above 85% for 15 minutes",
            aws.cloudwatch.MetricAlarmArgs(
                namespace="AWS/ECS",
                metric_name=metric,
                dimensions=service,
                statistic="Average",
                period=FIVE_MINUTES,
                evaluation_periods=3,
                comparison_operator="GreaterThanThreshold",
                threshold=85,
            ),
        )
    alarm(
        "postgres-cpu",
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
    )
    alarm(
        "postgres-storage",
        "Database free storage under 10% of what was allocated",
        aws.cloudwatch.MetricAlarmArgs(
            namespace="AWS/RDS",
            metric_name="FreeStorageSpace",
            dimensions=database,
            statistic="Minimum",
            period=FIVE_MINUTES,
            evaluation_periods=1,
            comparison_operator="LessThanThreshold",
            threshold=args.postgres.storage_gb * 1024**3 * 0.10,
        ),
    )
    for node in range(data.redis_nodes):
        alarm(
            f"redis-memory-{node + 1}",
            "Redis memory above 80% (evictions and refused writes follow)",
            aws.cloudwatch.MetricAlarmArgs(
                namespace="AWS/ElastiCache",
                metric_name="DatabaseMemoryUsagePercentage",
                dimensions={
                    "CacheClusterId": data.redis.id.apply(lambda group, n=node: f"{group}-{n + 1:03d}")
                },
                statistic="Maximum",
                period=FIVE_MINUTES,
                evaluation_periods=2,
                comparison_operator="GreaterThanThreshold",
                threshold=80,
            ),
        )
    return topic


def _query(
    query_id: str, namespace: str, metric: str, dimensions: dict[str, pulumi.Output[str]]
) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query_id,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=namespace, metric_name=metric, dimensions=dimensions, period=FIVE_MINUTES, stat="Sum"
        ),
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
