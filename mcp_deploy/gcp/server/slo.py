"""A server's objectives on gcp-cloudrun: a Cloud Monitoring custom service with two request-based
SLOs over its Cloud Run service's own metrics, and burn-rate alert policies on them.

Availability: 5xx over all of `run.googleapis.com/request_count`. Latency: the share of
`run.googleapis.com/request_latencies` (ms) within the objective. Each burn rate is one policy
whose two conditions, `select_slo_burn_rate` over the long and the short window, must both hold
(combiner AND): the policies' only way to say "both windows".
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.names import physical_name
from mcp_deploy.platform_spec import GcpSpec
from mcp_deploy.server_spec import ServerSpec
from mcp_deploy.slo import BURN_RATES, INDICATORS, PERIOD_DAYS, BurnRate, Indicator, duration

ID_LIMIT = 63
SEVERITY = {"page": "CRITICAL", "ticket": "WARNING"}
Sli = gcp.monitoring.SloRequestBasedSliArgs


def slo_alerts(
    name: str,
    prefix: str,
    spec: ServerSpec,
    service: gcp.cloudrunv2.Service,
    google: GcpSpec,
    channels: list[pulumi.Output[str]],
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> list[gcp.monitoring.AlertPolicy]:
    custom = gcp.monitoring.CustomService(
        f"{name}-slo-service",
        project=google.project,
        service_id=physical_name(prefix, name, limit=ID_LIMIT),
        display_name=f"mcp-deploy {spec.name}",
        opts=pulumi.ResourceOptions(parent=parent, depends_on=apis),
    )
    revisions = pulumi.Output.concat(
        'resource.type="cloud_run_revision" AND resource.label.service_name="', service.name, '"'
    )
    policies = []
    for indicator in INDICATORS:
        slo = gcp.monitoring.Slo(
            f"{name}-slo-{indicator}",
            project=google.project,
            service=custom.service_id,
            slo_id=physical_name(prefix, name, indicator, limit=ID_LIMIT),
            display_name=f"{spec.name} {indicator}",
            goal=spec.slo.goal(indicator),
            rolling_period_days=PERIOD_DAYS,
            request_based_sli=_sli(indicator, spec, revisions),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        policies += [
            _policy(name, spec, indicator, rate, slo, google, channels, parent) for rate in BURN_RATES
        ]
    return policies


def _sli(indicator: Indicator, spec: ServerSpec, revisions: pulumi.Output[str]) -> Sli:
    if indicator == "availability":
        requests = pulumi.Output.concat(revisions, ' AND metric.type="run.googleapis.com/request_count"')
        return Sli(
            good_total_ratio=gcp.monitoring.SloRequestBasedSliGoodTotalRatioArgs(
                bad_service_filter=pulumi.Output.concat(
                    requests, ' AND metric.label.response_code_class="5xx"'
                ),
                total_service_filter=requests,
            )
        )
    return Sli(
        distribution_cut=gcp.monitoring.SloRequestBasedSliDistributionCutArgs(
            distribution_filter=pulumi.Output.concat(
                revisions, ' AND metric.type="run.googleapis.com/request_latencies"'
            ),
            range=gcp.monitoring.SloRequestBasedSliDistributionCutRangeArgs(max=spec.slo.latency_p99_ms),
        )
    )


def _policy(
    name: str,
    spec: ServerSpec,
    indicator: Indicator,
    rate: BurnRate,
    slo: gcp.monitoring.Slo,
    google: GcpSpec,
    channels: list[pulumi.Output[str]],
    parent: pulumi.Resource,
) -> gcp.monitoring.AlertPolicy:
    long, short = duration(rate.long_seconds), duration(rate.short_seconds)
    title = f"{spec.name}: {indicator} budget burning {rate.factor:g}x over {long} and {short}"
    return gcp.monitoring.AlertPolicy(
        f"{name}-slo-{indicator}-{rate.label}",
        project=google.project,
        display_name=f"mcp-deploy: {title}",
        combiner="AND",
        severity=SEVERITY[rate.severity],
        notification_channels=channels,
        conditions=[
            gcp.monitoring.AlertPolicyConditionArgs(
                display_name=f"{spec.name} {indicator} burn rate over {duration(seconds)}",
                condition_threshold=gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                    filter=_burn_rate(slo, google.project, seconds),
                    comparison="COMPARISON_GT",
                    threshold_value=rate.factor,
                    duration="0s",
                ),
            )
            for seconds in (rate.long_seconds, rate.short_seconds)
        ],
        documentation=gcp.monitoring.AlertPolicyDocumentationArgs(
            content=f"{rate.severity}: at this rate {rate.budget_spent:.0%} of {spec.name}'s 30-day "
            f"{indicator} error budget is gone in {long}.",
            mime_type="text/markdown",
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _burn_rate(slo: gcp.monitoring.Slo, project: str, seconds: int) -> pulumi.Output[str]:
    """The selector names the SLO by its resource name, built from the ids (known at preview)."""
    return pulumi.Output.all(slo.service, slo.slo_id).apply(
        lambda ids: (
            f'select_slo_burn_rate("projects/{project}/services/{ids[0]}/serviceLevelObjectives/'
            f'{ids[1]}", "{seconds}s")'
        )
    )
