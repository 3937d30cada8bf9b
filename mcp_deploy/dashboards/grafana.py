"""The Grafana dashboard (JSON) for a kubernetes platform, built with grafana-foundation-sdk from
the shared panel list. A `datasource` variable lets each Grafana pick its own Prometheus."""

from __future__ import annotations

import json

from grafana_foundation_sdk.builders import common as gc
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from mcp_deploy.dashboards.panels import PANELS, Panel, Query, promql

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
WIDTH, HEIGHT = 12, 8
STAT_PANELS = frozenset({"backups"})  # one number per series reads better than a line


def grafana_dashboard(uid: str, title: str, scope: str, native: dict[str, tuple[Query, ...]]) -> str:
    """`scope`: the label matchers of this platform's series; `native`: the queries of the panels
    that read the platform's own metrics (replicas, backups), by panel key."""
    board = (
        gd.Dashboard(title)
        .uid(uid)
        .tags(["mcp", "mcp-deploy"])
        .editable()
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("utc")
        .with_variable(gd.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
    )
    for number, panel in enumerate(PANELS, start=1):
        queries = native.get(panel.key, ()) if panel.native else panel.queries
        board = board.with_panel(_panel(panel, queries, scope).id(number))
    return json.dumps(board.build(), cls=JSONEncoder, sort_keys=True, indent=2)


def _panel(panel: Panel, queries: tuple[Query, ...], scope: str) -> timeseries.Panel | stat.Panel:
    if panel.key in STAT_PANELS:
        built: stat.Panel | timeseries.Panel = stat.Panel().reduce_options(
            gc.ReduceDataOptions().calcs(["lastNotNull"]).values(False)
        )
    else:
        built = (
            timeseries.Panel()
            .legend(
                gc.VizLegendOptions()
                .display_mode(common.LegendDisplayMode.TABLE)
                .placement(common.LegendPlacement.RIGHT)
                .show_legend(True)
                .calcs(["lastNotNull", "max"])
            )
            .tooltip(
                gc.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.DESCENDING)
            )
        )
    built = built.title(panel.title).description(panel.description).unit(panel.unit)
    built = built.datasource(DATASOURCE).span(WIDTH).height(HEIGHT)
    for index, query in enumerate(queries):
        built = built.with_target(
            prometheus.Dataquery()
            .expr(promql(query, scope))
            .legend_format(query.legend)
            .ref_id(chr(ord("A") + index))
            .datasource(DATASOURCE)
        )
    return built
