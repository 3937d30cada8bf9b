"""The SDK's low-level server, every handler forwarding to a child over the SDK's client session.

The HTTP side is the SDK's: its streamable HTTP transport serves both protocol eras, answers
initialize and server/discover, and shapes each forwarded result for the caller's protocol
version. What it announces is the child's: serverInfo, instructions and the capabilities the
bridge can serve (subscriptions, list-changed notifications, logging and tasks are dropped:
they need a channel from the child to the client outside any request, which a pool does not
have)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, REQUEST_TIMEOUT
from pydantic import BaseModel

from mcp_bridge.child import Child, ChildGone
from mcp_bridge.children import Children, Session, Unavailable

EXCHANGE_KEY = "mcp_bridge.exchange"
SESSION_KEY = "mcp_bridge.session"
RESERVED_META = "io.modelcontextprotocol/"
# Each forwarded method with the params model the SDK validates the caller's params against.
FORWARDED: dict[str, type[BaseModel]] = {
    "tools/list": types.PaginatedRequestParams,
    "tools/call": types.CallToolRequestParams,
    "resources/list": types.PaginatedRequestParams,
    "resources/templates/list": types.PaginatedRequestParams,
    "resources/read": types.ReadResourceRequestParams,
    "prompts/list": types.PaginatedRequestParams,
    "prompts/get": types.GetPromptRequestParams,
    "completion/complete": types.CompleteRequestParams,
}


@dataclass
class Exchange:
    """What one HTTP request turned out to be, for its log line and metrics."""

    request_id: str
    method: str = ""
    tool: str = ""
    outcome: str = ""
    rpc_code: int | None = None
    pid: int = 0
    session: str = ""


class Bridge(Server[Any]):
    def __init__(self, name: str, children: Children, request_seconds: float) -> None:
        super().__init__(name)
        # Registered by method, as the SDK's own constructor does, with its params models; the
        # result is the child's, passed through raw and shaped by the SDK for the caller's era.
        for method, params_type in FORWARDED.items():
            self.add_request_handler(method, params_type, self._forward)
        self.children = children
        self.request_seconds = request_seconds
        self.mirrored: types.InitializeResult | None = None
        self.middleware = [*self.middleware, self._observe]

    def mirror(self, result: types.InitializeResult) -> None:
        info = result.server_info
        self.name, self.version = info.name, info.version
        self.title, self.description = info.title, getattr(info, "description", None)
        self.website_url, self.icons = info.website_url, info.icons
        self.instructions = result.instructions
        self.__dict__.pop("_server_info_stamp_source", None)  # the SDK caches the identity it stamps
        self.mirrored = result

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return InitializationOptions(
            server_name=self.name,
            server_version=self.version,
            title=self.title,
            description=self.description,
            capabilities=self._capabilities(),
            instructions=self.instructions,
            website_url=self.website_url,
            icons=self.icons,
        )

    def get_capabilities(self, *args: Any, **kwargs: Any) -> types.ServerCapabilities:
        return self._capabilities()

    def _capabilities(self) -> types.ServerCapabilities:
        child = self.mirrored.capabilities if self.mirrored is not None else None
        if child is None:
            return types.ServerCapabilities()
        return types.ServerCapabilities(
            tools=types.ToolsCapability(list_changed=False) if child.tools is not None else None,
            resources=types.ResourcesCapability(subscribe=False, list_changed=False)
            if child.resources is not None
            else None,
            prompts=types.PromptsCapability(list_changed=False) if child.prompts is not None else None,
            completions=child.completions,
        )

    async def _observe(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        exchange = _exchange(ctx)
        if exchange is not None and ctx.request_id is not None:
            exchange.method = exchange.method or ctx.method[:64]
            name = (ctx.params or {}).get("name") if ctx.method == "tools/call" else None
            exchange.tool = exchange.tool or (name[:64] if isinstance(name, str) else "")
        if ctx.method in ("initialize", "server/discover") and self.mirrored is None:
            # Announce the child, not a placeholder: wait (bounded) for the first one to be up.
            with anyio.move_on_after(self.children.start_seconds):
                await self.children.first_ready.wait()
            if self.children.first_result is not None:
                self.mirror(self.children.first_result)
            if self.mirrored is None:
                if exchange is not None:
                    exchange.outcome = "unavailable"
                raise MCPError(code=INTERNAL_ERROR, message="The server is starting; retry later")
        try:
            result = await call_next(ctx)
        except MCPError as error:
            if exchange is not None:
                exchange.rpc_code = error.code
                exchange.outcome = exchange.outcome or (
                    "timeout" if error.code == REQUEST_TIMEOUT else "rpc_error"
                )
            raise
        if exchange is not None and ctx.request_id is not None:
            is_error = isinstance(result, dict) and result.get("isError")
            exchange.outcome = exchange.outcome or ("tool_error" if is_error else "ok")
        return result

    async def _forward(self, ctx: ServerRequestContext[Any, Any], params: BaseModel) -> HandlerResult:
        exchange = _exchange(ctx)
        try:
            child = await self._route(ctx)
        except Unavailable as error:
            if exchange is not None:
                exchange.outcome = "unavailable"
            raise MCPError(code=INTERNAL_ERROR, message=f"Server unavailable: {error}; retry later") from None
        if exchange is not None:
            exchange.pid = child.pid
        raw = params.model_dump(by_alias=True, mode="json", exclude_none=True)
        meta = {
            key: value
            for key, value in (raw.pop("_meta", None) or {}).items()
            if key not in ("progressToken", "progress_token") and not key.startswith(RESERVED_META)
        }
        if meta:
            raw["_meta"] = meta
        wire_meta = (ctx.params or {}).get("_meta")
        wants_progress = isinstance(wire_meta, dict) and wire_meta.get("progressToken") is not None
        on_progress = _progress_to(ctx) if wants_progress else None
        try:
            return await child.request(ctx.method, raw or None, self.request_seconds, on_progress)
        except ChildGone:
            if exchange is not None:
                exchange.outcome = "child_gone"
            child.kill("broken")
            raise MCPError(
                code=INTERNAL_ERROR, message="The server process ended during the request; retry"
            ) from None

    async def _route(self, ctx: ServerRequestContext[Any, Any]) -> Child:
        session: Session | None = ctx.request.scope.get(SESSION_KEY) if ctx.request is not None else None
        if session is not None:
            return await self.children.session_child(session)
        return await self.children.pick()


def _exchange(ctx: ServerRequestContext[Any, Any]) -> Exchange | None:
    return ctx.request.scope.get(EXCHANGE_KEY) if ctx.request is not None else None


def _progress_to(ctx: ServerRequestContext[Any, Any]) -> Any:
    async def forward(progress: float, total: float | None, message: str | None) -> None:
        # The caller may have gone; its progress has nowhere to go, and that is no error.
        with contextlib.suppress(Exception):
            await ctx.session.report_progress(progress, total, message)

    return forward
