"""Traces (OpenTelemetry, OTLP over http/protobuf) and error tracking (Sentry), shared by the notes
server, the gateway and the bridge. Configured by the standard environment only:

- Tracing is on only when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set
  (and OTEL_SDK_DISABLED is not true); OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER(_ARG),
  OTEL_EXPORTER_OTLP_HEADERS and OTEL_BSP_* work as the OpenTelemetry SDK documents them.
- Sentry is on only when SENTRY_DSN is set; SENTRY_ENVIRONMENT, SENTRY_TRACES_SAMPLE_RATE (default
  0: traces go to OpenTelemetry). Events leave the process scrubbed (see `scrub`).

Off, neither SDK is imported: start-up time is a tracked figure, and the OTLP exporter alone
brings protobuf and requests. The MCP SDK already opens a span per MCP message
(mcp/server/_otel.py, continued from `params._meta`) and injects the context into the `_meta` of
what it sends (mcp/shared/jsonrpc_dispatcher.py); `trace_mcp_server` adds what it lacks: the
W3C `traceparent` header as the parent when `_meta` carries none, and `mcp.session.id`.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("mcp_notes.telemetry")

FILTERED = "[Filtered]"
_tracing = False


def tracing_enabled() -> bool:
    return _tracing


def setup(default_service: str, env: Mapping[str, str] | None = None) -> None:
    """Called once at a service's start, before its app is built."""
    env = os.environ if env is None else env
    if _wants_tracing(env):
        _start_tracing(env.get("OTEL_SERVICE_NAME") or default_service, env)
    if env.get("SENTRY_DSN"):
        _start_sentry(default_service, env)


def _wants_tracing(env: Mapping[str, str]) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def _start_tracing(service: str, env: Mapping[str, str]) -> None:
    global _tracing
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

    sampler: Sampler | None = None  # None: the SDK reads OTEL_TRACES_SAMPLER(_ARG) itself
    if not env.get("OTEL_TRACES_SAMPLER"):
        ratio = _ratio("OTEL_TRACES_SAMPLER_ARG", env.get("OTEL_TRACES_SAMPLER_ARG"), 1.0)
        sampler = ParentBased(TraceIdRatioBased(ratio))
    # OTEL_RESOURCE_ATTRIBUTES (e.g. deployment.environment) is merged in by Resource.create.
    provider = TracerProvider(resource=Resource.create({"service.name": service}), sampler=sampler)
    # The exporter finds the endpoint, headers and timeout in the environment (and appends
    # /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT); the batch runs on its own thread, off the loop.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)  # flushed at exit: the provider registers its own atexit
    _tracing = True
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    log.info("tracing", extra={"service": service, "otlp_endpoint": _without_userinfo(endpoint)})


def _ratio(name: str, value: str | None, default: float) -> float:
    try:
        ratio = float(value) if value else default
    except ValueError:
        log.warning("%s is not a number; using %s", name, default)
        return default
    return min(max(ratio, 0.0), 1.0)


# --- The MCP server side: what the SDK's OpenTelemetryMiddleware leaves out -------------------


def trace_mcp_server(middleware: list[Any]) -> None:
    """Hook an SDK server's middleware list (`Server.middleware`, outermost first) when tracing is
    on: the header context goes outside the SDK's span middleware (it becomes the ambient parent,
    which `params._meta` still overrides, as the SDK wants), the session id inside (on its span).
    Per message rather than per HTTP request: a stateful session's messages are handled in a task
    started by its first request, which would otherwise inherit that request's context."""
    if _tracing:
        middleware.insert(0, _parent_from_headers)
        middleware.append(_session_attribute)


async def _parent_from_headers(ctx: Any, call_next: Callable[[Any], Any]) -> Any:
    headers = getattr(ctx.request, "headers", None)
    if headers is None or "traceparent" not in headers:
        return await call_next(ctx)
    from opentelemetry import context, propagate

    token = context.attach(propagate.extract(headers))
    try:
        return await call_next(ctx)
    finally:
        context.detach(token)


async def _session_attribute(ctx: Any, call_next: Callable[[Any], Any]) -> Any:
    headers = getattr(ctx.request, "headers", None)
    session = headers.get("mcp-session-id") if headers is not None else None
    if session:
        from opentelemetry import trace

        trace.get_current_span().set_attribute("mcp.session.id", session)
    return await call_next(ctx)


# --- Sentry ------------------------------------------------------------------------------------


def _start_sentry(default_service: str, env: Mapping[str, str]) -> None:
    import sentry_sdk

    rate = _ratio("SENTRY_TRACES_SAMPLE_RATE", env.get("SENTRY_TRACES_SAMPLE_RATE"), 0.0)
    scrubber = Scrubber.from_env(env)
    sentry_sdk.init(
        dsn=env["SENTRY_DSN"],
        environment=env.get("SENTRY_ENVIRONMENT") or None,
        release=env.get("SENTRY_RELEASE") or None,
        server_name=env.get("OTEL_SERVICE_NAME") or default_service,
        send_default_pii=False,
        # Frame locals hold request bodies (notes: user content) and tokens mid-validation.
        include_local_variables=False,
        # None, not 0: with 0 the SDK still continues incoming Sentry traces. Tracing is OTel's.
        traces_sample_rate=rate or None,
        # The auto-enabled ones patch aiohttp, httpx, redis and asyncpg on the hot path and add
        # Sentry headers to upstream requests. Errors arrive anyway: every edge logs what escapes
        # with log.exception, which the (default) logging integration turns into an event.
        auto_enabling_integrations=False,
        before_send=scrubber.event,
        before_send_transaction=scrubber.event,
        before_breadcrumb=scrubber.breadcrumb,
    )
    log.info("error tracking", extra={"sentry_environment": env.get("SENTRY_ENVIRONMENT") or None})


# Keys whose values are credentials wherever they appear (headers, extra, contexts, env dumps).
_SECRET_KEY = re.compile(
    r"(authorization|cookie|passw|secret|token|credential|(^|[^a-z])dsn$|api[-_]?key|(^|[-_.])key$)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# base64url('{"') is "eyJ": every JWT (and JWS/JWE) header starts so.
_JWT = re.compile(
    r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)?"
)
_URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.-]*://[^/\s:@]*):[^/\s@]+@", re.IGNORECASE)
_SECRET_ENV = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|DSN)$", re.IGNORECASE)
_URL_ENV = ("DATABASE_URL", "REDIS_URL", "SENTRY_DSN")
MIN_SECRET_LENGTH = 6  # shorter values would blank unrelated text


class Scrubber:
    """Removes credentials from a Sentry event: values under credential-like keys, bearer and
    basic credentials, anything shaped like a JWT, passwords in URLs, and the literal values of
    this process's secret environment variables (*KEY, *SECRET, *TOKEN, *PASSWORD and the
    passwords in DATABASE_URL, REDIS_URL), wherever they were copied into a message."""

    def __init__(self, secrets: list[str]) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Scrubber:
        secrets = [value for name, value in env.items() if _SECRET_ENV.search(name) and value]
        for name in _URL_ENV:
            password = _url_password(env.get(name, ""))
            if password:
                secrets.append(password)
        return cls(secrets)

    def event(self, event: Any, hint: Any = None) -> Any:
        return self.scrub(event)

    def breadcrumb(self, crumb: Any, hint: Any = None) -> Any:
        return self.scrub(crumb)

    def scrub(self, value: Any, key: str = "") -> Any:
        if key and _SECRET_KEY.search(key) and value not in (None, "", [], {}):
            return FILTERED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes):
            return self.text(value.decode("utf-8", "replace"))
        if isinstance(value, Mapping):
            return {k: self.scrub(v, k if isinstance(k, str) else "") for k, v in value.items()}
        if isinstance(value, list | tuple):
            if len(value) == 2 and isinstance(value[0], str) and _SECRET_KEY.search(value[0]):
                return [value[0], FILTERED]  # a header as a [name, value] pair
            return [self.scrub(item) for item in value]
        return value

    def text(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, FILTERED)
        text = _BEARER.sub(lambda m: f"{m.group(1)} {FILTERED}", text)
        text = _JWT.sub(FILTERED, text)
        return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{FILTERED}@", text)


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _without_userinfo(url: str) -> str:
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{FILTERED}@", url)
