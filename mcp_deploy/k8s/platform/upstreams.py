"""What each server tells the platform so the gateway can reach it, and the gateway's
GATEWAY_ROUTES built from them (the contract in gateway/: name -> upstream, path, scopes, ...).

Upstreams are ClusterIP Services, `http://<service>.<namespace>.svc:<port>`. A sticky server is
reached through its headless Service instead: the gateway resolves it to every ready pod's
address (`"discovery": "dns"`) and pins each Mcp-Session-Id to one of them, which a virtual IP
would hide.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class Upstream:
    name: str  # the route: public at https://<domain>/<name><path>
    instance: str  # the server pods' `app.kubernetes.io/instance`
    host: str  # the Service the gateway sends to: the ClusterIP one, or the headless one when sticky
    port: int
    path: str
    scopes: tuple[str, ...]
    sticky: bool
    fetches_jwks: bool  # verifies the gateway's tokens, so reaches the gateway's JWKS
    # What the gateway waits for: the pods and the Services that name them.
    resources: tuple[pulumi.Resource, ...]


def upstream_url(upstream: Upstream, namespace: str) -> str:
    return f"http://{upstream.host}.{namespace}.svc:{upstream.port}"


def gateway_routes(upstreams: list[Upstream], namespace: str) -> str:
    """Plain JSON (nothing in it is secret), sorted so a plan only changes when a route does."""
    routes = {
        upstream.name: {
            "upstream": upstream_url(upstream, namespace),
            "path": upstream.path,
            "scopes": list(upstream.scopes),
            "sticky": upstream.sticky,
            "discovery": "dns" if upstream.sticky else "none",
        }
        for upstream in sorted(upstreams, key=lambda u: u.name)
    }
    return json.dumps(routes, sort_keys=True, separators=(",", ":"))
