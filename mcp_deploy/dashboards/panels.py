"""The one panel list every target's dashboard shows, so CloudWatch, Cloud Monitoring and Grafana
say the same thing in the same order.

A query is PromQL over our services' metrics (Grafana on kubernetes and Google Managed Prometheus
both speak it), written with `$SCOPE` where the target puts the label matchers that pick this
platform's series, and, for CloudWatch, the metric, the EMF dimensions and the statistic that
answer the same question there. `native` panels (replicas, backups) read the platform's own
metrics (ECS, Cloud Run, kube-state-metrics), so each target writes those queries itself."""

from __future__ import annotations

from dataclasses import dataclass

from mcp_deploy.dashboards import metrics as m

SCOPE = "$SCOPE"
QUANTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True)
class CloudWatchQuery:
    """One SEARCH over the platform's EMF namespace: every series of `metric` with exactly these
    dimensions (the collector's metric_declarations emit each set), reduced by `stat`."""

    metric: str
    dimensions: tuple[str, ...]
    stat: str  # Sum, Average, Minimum, p99...


@dataclass(frozen=True)
class Query:
    legend: str  # Grafana legend format
    promql: str  # with $SCOPE
    metric: str  # the exported metric it reads (histograms by their base name)
    cloudwatch: CloudWatchQuery | None = None


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    unit: str  # Grafana unit id: reqps, s, short, percentunit...
    description: str
    queries: tuple[Query, ...] = ()
    native: bool = False  # replicas and backups: per-target queries


def _rate(metric: str, by: str, where: str = "") -> str:
    matchers = SCOPE + (f",{where}" if where else "")
    return f"sum by ({by}) (rate({metric}{{{matchers}}}[5m]))"


def _quantile(q: float, metric: str, by: str, where: str = "") -> str:
    matchers = SCOPE + (f",{where}" if where else "")
    return f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket{{{matchers}}}[5m])))"


def _cw(metric: str, stat: str, *labels: str) -> CloudWatchQuery:
    return CloudWatchQuery(metric=metric, dimensions=(m.PLATFORM_LABEL, *labels), stat=stat)


PANELS: tuple[Panel, ...] = (
    Panel(
        "requests",
        "Requests per server",
        "reqps",
        "Requests the gateway forwarded to each server (route), per second",
        (Query("{{route}}", _rate(m.GATEWAY_REQUESTS, "route"), m.GATEWAY_REQUESTS,
               _cw(m.GATEWAY_REQUESTS, "Sum", "route")),),
    ),
    Panel(
        "errors",
        "Errors per server",
        "reqps",
        "5xx answers per server, and upstream failures (connect, timeout, protocol, session_gone)",
        (
            Query("{{route}} 5xx", _rate(m.GATEWAY_REQUESTS, "route", 'status=~"5.."'), m.GATEWAY_REQUESTS,
                  _cw(m.GATEWAY_REQUESTS, "Sum", "route", "status")),
            Query("{{route}} {{kind}}", _rate(m.GATEWAY_UPSTREAM_ERRORS, "route, kind"),
                  m.GATEWAY_UPSTREAM_ERRORS, _cw(m.GATEWAY_UPSTREAM_ERRORS, "Sum", "route", "kind")),
        ),
    ),
    Panel(
        "latency",
        "Latency per server (p50, p95, p99)",
        "s",
        "Time to the end of the response through the gateway, streams included",
        tuple(
            Query(f"{{{{route}}}} p{round(q * 100)}", _quantile(q, m.GATEWAY_LATENCY, "route"),
                  m.GATEWAY_LATENCY, _cw(m.GATEWAY_LATENCY, f"p{round(q * 100)}", "route"))
            for q in QUANTILES
        ),
    ),
    Panel(
        "tool_calls",
        "Tool calls per tool",
        "reqps",
        "tools/call requests by server and tool, as the gateway counts them",
        (Query("{{route}} {{tool}}", _rate(m.GATEWAY_REQUESTS, "route, tool", 'method="tools/call"'),
               m.GATEWAY_REQUESTS, _cw(m.GATEWAY_REQUESTS, "Sum", "route", "tool")),),
    ),
    Panel(
        "tool_latency",
        "Tool latency per tool (p50, p95, p99)",
        "s",
        "Inside servers built on mcp_notes (per tool); the bridge reports per method",
        (
            *(
                Query(f"{{{{{m.SERVICE_LABEL}}}}} {{{{tool}}}} p{round(q * 100)}",
                      _quantile(q, m.SERVER_LATENCY, f"{m.SERVICE_LABEL}, tool", 'method="tools/call"'),
                      m.SERVER_LATENCY, _cw(m.SERVER_LATENCY, f"p{round(q * 100)}", m.SERVICE_LABEL, "tool"))
                for q in QUANTILES
            ),
            Query("{{server}} p99 (bridge)",
                  _quantile(0.99, m.BRIDGE_LATENCY, "server", 'method="tools/call"'), m.BRIDGE_LATENCY,
                  _cw(m.BRIDGE_LATENCY, "p99", "server")),
        ),
    ),
    Panel(
        "tool_errors",
        "Tool errors per tool",
        "reqps",
        "Tool calls that returned an error result",
        (Query(f"{{{{{m.SERVICE_LABEL}}}}} {{{{tool}}}}",
               _rate(m.SERVER_TOOL_ERRORS, f"{m.SERVICE_LABEL}, tool"), m.SERVER_TOOL_ERRORS,
               _cw(m.SERVER_TOOL_ERRORS, "Sum", m.SERVICE_LABEL, "tool")),),
    ),
    Panel(
        "rate_limited",
        "Rate-limited requests",
        "reqps",
        "Requests the gateway refused with 429, per server",
        (Query("{{route}}", _rate(m.GATEWAY_RATE_LIMITED, "route"), m.GATEWAY_RATE_LIMITED,
               _cw(m.GATEWAY_RATE_LIMITED, "Sum", "route")),),
    ),
    Panel(
        "auth_failed",
        "Auth-failed requests",
        "reqps",
        "Requests refused by authentication or scope, per server and reason",
        (Query("{{route}} {{reason}}", _rate(m.GATEWAY_AUTH_FAILURES, "route, reason"),
               m.GATEWAY_AUTH_FAILURES, _cw(m.GATEWAY_AUTH_FAILURES, "Sum", "route", "reason")),),
    ),
    Panel("replicas", "Replicas", "short", "Running replicas of the gateway and each server", native=True),
    Panel(
        "dependencies",
        "Database and Redis health",
        "short",
        "1 while every replica reaches the dependency, 0 when one does not",
        (Query(f"{{{{{m.SERVICE_LABEL}}}}} {{{{dependency}}}}",
               f"min by ({m.SERVICE_LABEL}, dependency) ({m.DEPENDENCY_UP}{{{SCOPE}}})", m.DEPENDENCY_UP,
               _cw(m.DEPENDENCY_UP, "Minimum", m.SERVICE_LABEL, "dependency")),),
    ),
    Panel("backups", "Last successful backup", "s", "Successful pg_dump runs of the databases", native=True),
)  # fmt: skip


def promql(query: Query, scope: str) -> str:
    """The query with `scope` (label matchers, e.g. namespace="prod-mcp") in place of $SCOPE."""
    return query.promql.replace(SCOPE, scope)


def cloudwatch_declarations() -> list[dict[str, object]]:
    """awsemf metric_declarations: each metric with exactly the dimension sets the CloudWatch
    dashboard searches for, and nothing more (every dimension set is a billed custom metric).
    5xx answers get their own set, so the errors panel's search finds only them."""
    by_metric: dict[str, set[tuple[str, ...]]] = {}
    for panel in PANELS:
        for query in panel.queries:
            if query.cloudwatch is not None and "status" not in query.cloudwatch.dimensions:
                by_metric.setdefault(query.cloudwatch.metric, set()).add(query.cloudwatch.dimensions)
    declarations: list[dict[str, object]] = [
        {"dimensions": [list(d) for d in sorted(dims)], "metric_name_selectors": [f"^{name}$"]}
        for name, dims in sorted(by_metric.items())
    ]
    declarations.append(
        {
            "dimensions": [[m.PLATFORM_LABEL, "route", "status"]],
            "metric_name_selectors": [f"^{m.GATEWAY_REQUESTS}$"],
            "label_matchers": [{"label_names": ["status"], "regex": "^5[0-9][0-9]$"}],
        }
    )
    return declarations
