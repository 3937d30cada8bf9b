"""The OpenTelemetry env every service gets when the platform traces: the standard variables only
(the services read nothing else; see server/src/mcp_notes/telemetry.py)."""

from __future__ import annotations

# Where the collector beside each service (aws-ecs, gcp-cloudrun) receives OTLP over http.
SIDECAR_OTLP = "http://localhost:4318"


def tracing_env(endpoint: str | None, ratio: float, service: str) -> dict[str, str]:
    """Nothing when tracing is off (ratio 0 or nowhere to send): the services then load no exporter.
    A parent-based sampler: a request the caller sampled stays sampled through gateway and server,
    so a trace is whole or absent, never cut in the middle."""
    if endpoint is None or ratio <= 0:
        return {}
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_SERVICE_NAME": service,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": f"{ratio:g}",
    }
