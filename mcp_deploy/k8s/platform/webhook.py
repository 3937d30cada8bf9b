"""The alert webhook on kubernetes: an AlertmanagerConfig (Prometheus operator) whose webhook
receiver reads its URL from a Secret (`urlSecret`), so the URL is never in the config object.

The operator scopes the route to alerts whose `namespace` label is this namespace; the cluster's
Alertmanager must select the object (its `alertmanagerConfigSelector`). Alertmanager posts its
own JSON: give a receiver that reads it (e.g. PagerDuty's Prometheus integration).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s.meta import metadata
from mcp_deploy.names import physical_name
from mcp_deploy.platform_spec import PlatformArgsError

URL_KEY = "url"


def alert_webhook(
    name: str,
    url: pulumi.Input[str] | None,
    operator: bool,
    namespace: str,
    instance: str,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> k8s.apiextensions.CustomResource | None:
    if url is None:
        return None
    if not operator:
        # Without the operator there are no alert rules and nothing to route: refuse rather than
        # let the stack look as if alerts went somewhere.
        raise PlatformArgsError(
            "platform: alert_webhook_url on kubernetes needs k8s.prometheus_operator (an Alertmanager "
            "run by the Prometheus operator delivers it)"
        )
    opts = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
    # Named by the provider: a new URL is a new Secret, and the config below follows its name.
    secret = k8s.core.v1.Secret(
        f"{name}-alert-webhook",
        metadata=metadata(None, namespace, "alerts", instance),
        type="Opaque",
        string_data={URL_KEY: pulumi.Output.secret(url)},
        opts=opts,
    )
    return k8s.apiextensions.CustomResource(
        f"{name}-alert-webhook",
        api_version="monitoring.coreos.com/v1alpha1",
        kind="AlertmanagerConfig",
        metadata=metadata(physical_name(name, "alert-webhook"), namespace, "alerts", instance),
        spec={
            "route": {
                "receiver": "webhook",
                "groupBy": ["alertname", "server", "window"],
                "groupWait": "30s",
                "groupInterval": "5m",
                "repeatInterval": "4h",
            },
            "receivers": [
                {
                    "name": "webhook",
                    "webhookConfigs": [
                        {"urlSecret": {"name": secret.metadata.name, "key": URL_KEY}, "sendResolved": True}
                    ],
                }
            ],
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*depends_on, secret]),
    )
