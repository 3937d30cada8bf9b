"""The alert webhook on aws-ecs: an HTTPS subscription on the alarm topic.

SNS takes the endpoint as a value (it cannot read Secrets Manager), so the URL stays a Pulumi
secret: encrypted in state, `[secret]` in every plan. The endpoint must confirm the subscription
(PagerDuty's Amazon CloudWatch integration does); `pulumi up` waits for that and fails if it
never comes, rather than leaving a subscription that delivers nothing.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

CONFIRM_MINUTES = 5


def webhook_subscription(
    name: str, topic: aws.sns.Topic, url: pulumi.Input[str] | None, parent: pulumi.Resource
) -> aws.sns.TopicSubscription | None:
    if url is None:
        return None
    return aws.sns.TopicSubscription(
        f"{name}-alarms-webhook",
        topic=topic.arn,
        protocol="https",
        endpoint=pulumi.Output.secret(url),
        endpoint_auto_confirms=True,
        confirmation_timeout_in_minutes=CONFIRM_MINUTES,
        opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=["endpoint"]),
    )
