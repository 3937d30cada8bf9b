"""`mcp-backup provision`: the server's own role and database on the shared instance.

Run before a server starts (an init container on aws-ecs, where no Pulumi resource can reach a
private RDS instance). Idempotent: the role is created or its password reset to the one in the
server's URL, the database is created owned by the role if missing, and the role gets nothing on
other databases (PUBLIC's CONNECT is revoked from the new database only).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql


class ProvisionError(Exception):
    """A URL that cannot name a role and a database; the message never holds the password."""


def target(url: str) -> tuple[str, str, str]:
    """(role, password, database) from the server's URL."""
    parts = urlsplit(url)
    role, password, database = unquote(parts.username or ""), unquote(parts.password or ""), parts.path[1:]
    if not role or not password or not database:
        raise ProvisionError("PG_URL must name a user, a password and a database")
    if role in {"postgres", "rdsadmin"} or role.startswith("pg_"):
        raise ProvisionError(f"refusing to manage the reserved role {role!r}")
    return role, password, database


# Tasks of one service start together (min replicas > 1, a scale-out): the check-then-create below
# runs under this session lock, so the second one finds what the first made instead of failing.
ADVISORY_LOCK = 0x6D63_7070  # "mcpp"


def provision(admin_url: str, url: str) -> tuple[bool, bool]:
    """Returns (role created, database created)."""
    role, password, database = target(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK,))
        try:
            return _provision(conn, role, password, database)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK,))


def _provision(conn: psycopg.Connection, role: str, password: str, database: str) -> tuple[bool, bool]:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    conn.execute(
        sql.SQL(verb + " ROLE {} WITH LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
    )
    # RDS: the master user may only create a database owned by a role it is a member of.
    conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(role)))
    found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
    if not found:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(role))
        )
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
    return not exists, not found
