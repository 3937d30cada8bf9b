"""A stdio server's package, which must be pinned to one exact version: the platform installs it
into the server's bridge image at build time, and the image's tag hashes the spec, so the same
config always deploys the same code (a range or a tag would drift between builds).

The bridge's own installer (bridge/src/mcp_bridge/package.py) checks the same rules again at
build time; this copy refuses a bad spec before anything is registered.
"""

from __future__ import annotations

import re

NPM = re.compile(
    r"^npm:(?P<name>(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*)"
    r"@(?P<version>\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?)$"
)
PYPI = re.compile(
    r"^pypi:(?P<name>[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)(\[[A-Za-z0-9._,-]+\])?"
    r"==(?P<version>\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[a-z0-9.]+)?)$"
)
EXPECTED = (
    "npm:<name>@<exact version> (e.g. npm:@modelcontextprotocol/server-everything@2026.8.31) "
    "or pypi:<name>==<exact version> (e.g. pypi:mcp-server-time==2026.10.19)"
)


def package_problem(spec: str) -> str | None:
    """Why `spec` cannot be installed reproducibly, or None when it is a pinned package."""
    if NPM.match(spec) or PYPI.match(spec):
        return None
    if spec.startswith("npm:") and not re.search(r".@", spec[4:]):
        return f"{spec!r} names no version; pin one: {EXPECTED}"
    if spec.startswith(("npm:", "pypi:")):
        return f"{spec!r} is not pinned to one exact version (no ranges, tags or wildcards): {EXPECTED}"
    return f"{spec!r} is not a package spec: {EXPECTED}"


def package_name(spec: str) -> str:
    """The package's name (for labels and descriptions), from a spec package_problem accepts."""
    found = NPM.match(spec) or PYPI.match(spec)
    assert found is not None, spec
    return found.group("name")
