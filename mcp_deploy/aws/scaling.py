"""Target-tracking autoscaling of one ECS service: what the gateway and every server share."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mcp_deploy.names import physical_name

MetricSpec = (
    aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs
)


def scale_service(
    name: str,
    policy_name: str,
    name_parts: tuple[str, ...],
    cluster: aws.ecs.Cluster,
    service: aws.ecs.Service,
    replicas: tuple[int, int],
    targets: dict[str, tuple[MetricSpec, float]],
    parent: pulumi.Resource,
) -> None:
    """A scalable target `name` between `replicas` (min, max), and one policy per entry of
    `targets` (label -> metric, the value to hold it at): `<policy_name>-scale-<label>`,
    physically `<name_parts>-<label>`."""
    child = pulumi.ResourceOptions(parent=parent)
    target = aws.appautoscaling.Target(
        name,
        service_namespace="ecs",
        scalable_dimension="ecs:service:DesiredCount",
        resource_id=pulumi.Output.concat("service/", cluster.name, "/", service.name),
        min_capacity=replicas[0],
        max_capacity=replicas[1],
        opts=child,
    )
    for label, (metric, value) in targets.items():
        aws.appautoscaling.Policy(
            f"{policy_name}-scale-{label}",
            name=physical_name(*name_parts, label, limit=255),
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                predefined_metric_specification=metric,
                target_value=value,
                scale_in_cooldown=300,
                scale_out_cooldown=60,
            ),
            opts=child,
        )
