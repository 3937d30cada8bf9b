"""GCP's limits on the physical names this target sets, applied through `physical_name`.

Every name starts with the stack and the platform's component name (and the server's name for a
server's resources), so two stacks or two servers in one project never ask for the same one.
"""

from __future__ import annotations

from mcp_deploy.names import physical_name

# Cloud Run services and jobs: 49 (the revision suffix takes the rest of a 63-char DNS label).
RUN = 49
# Service-account ids: 6-30 characters, [a-z][a-z0-9-]*[a-z0-9].
ACCOUNT = 30
# Compute Engine resources (RFC 1035 labels), Artifact Registry repositories, bucket names.
COMPUTE = 63
SECRET = 255
SQL_INSTANCE = 98


def run_name(*parts: str) -> str:
    return physical_name(*parts, limit=RUN)


def account_id(*parts: str) -> str:
    name = physical_name(*parts, limit=ACCOUNT)
    # physical_name never yields fewer than stack + one part; a one-letter stack and part could.
    return name if len(name) >= 6 else f"{name}-sa-id"[:ACCOUNT]


def compute_name(*parts: str) -> str:
    return physical_name(*parts, limit=COMPUTE)


def secret_id(*parts: str) -> str:
    return physical_name(*parts, limit=SECRET)


def env_label(env: str) -> str:
    """An env var name as a name part: DATABASE_URL -> database-url."""
    return env.lower().replace("_", "-")
