"""The alert webhook on gcp-cloudrun: a `webhook_tokenauth` notification channel.

Cloud Monitoring takes the URL as the channel's `url` label: the channel type has no sensitive
label for it (sensitive_labels holds only auth_token, password and service_key, for other types)
and cannot read Secret Manager. The URL stays a Pulumi secret (encrypted in state, `[secret]` in
plans); in the project, anyone who may read notification channels can read it.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.platform_spec import GcpSpec


def webhook_channel(
    name: str,
    url: pulumi.Input[str] | None,
    google: GcpSpec,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> gcp.monitoring.NotificationChannel | None:
    if url is None:
        return None
    return gcp.monitoring.NotificationChannel(
        f"{name}-webhook",
        project=google.project,
        type="webhook_tokenauth",
        display_name="mcp-deploy alert webhook",
        labels=pulumi.Output.secret(url).apply(lambda value: {"url": value}),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=apis, additional_secret_outputs=["labels"]),
    )
