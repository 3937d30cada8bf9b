"""`mcp-backup provision`: a server's own role and database on the shared instance, idempotent."""

from __future__ import annotations

import json
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
from psycopg import sql

from mcp_backup import provision
from tests.backup.conftest import POSTGRES_ADMIN, mcp_backup


def _server_url(role: str, password: str) -> str:
    host = POSTGRES_ADMIN.rsplit("@", 1)[1].rsplit("/", 1)[0]
    return f"postgresql://{role}:{password}@{host}/{role}"


def _cleanup(role: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(role)))
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_provision_creates_the_role_and_database_once_and_then_changes_nothing_but_the_password() -> None:
    role = f"srv_{secrets.token_hex(4)}"
    first_password, second_password = "Pr0vision-First-Pass", "Pr0vision-Second-Pass"
    try:
        first = mcp_backup(
            "provision", env={"PG_ADMIN_URL": POSTGRES_ADMIN, "PG_URL": _server_url(role, first_password)}
        )
        assert first.returncode == 0, first.stdout + first.stderr
        assert json.loads(first.stdout)["role_created"] is True
        assert json.loads(first.stdout)["database_created"] is True

        again = mcp_backup(
            "provision", env={"PG_ADMIN_URL": POSTGRES_ADMIN, "PG_URL": _server_url(role, second_password)}
        )
        assert again.returncode == 0, again.stdout + again.stderr
        line = json.loads(again.stdout)
        assert (line["role_created"], line["database_created"]) == (False, False)
        assert second_password not in again.stdout + again.stderr

        with psycopg.connect(POSTGRES_ADMIN) as admin:
            owner = admin.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (role,)
            ).fetchone()
            public_connect = admin.execute("SELECT has_database_privilege('public', %s, 'CONNECT')", (role,))
            assert owner == (role,)
            assert public_connect.fetchone() == (False,)
    finally:
        _cleanup(role)


def test_provision_refuses_reserved_roles_and_incomplete_urls_without_echoing_the_password() -> None:
    reserved = mcp_backup(
        "provision", env={"PG_ADMIN_URL": POSTGRES_ADMIN, "PG_URL": _server_url("postgres", "Leaky-Pass-123")}
    )
    assert reserved.returncode == 1
    assert "reserved role" in reserved.stdout
    assert "Leaky-Pass-123" not in reserved.stdout + reserved.stderr
    missing = mcp_backup("provision", env={"PG_ADMIN_URL": POSTGRES_ADMIN})
    assert missing.returncode == 2
    assert "PG_URL" in missing.stdout


def test_tasks_that_start_together_all_provision_successfully() -> None:
    """Six tasks released at the same instant: without the lock, most fail on "already exists"."""
    role = f"srv_{secrets.token_hex(4)}"
    url = _server_url(role, "Pr0vision-Together-Pass")
    start = threading.Barrier(6)

    def one(_: int) -> tuple[bool, bool]:
        start.wait()
        return provision.provision(POSTGRES_ADMIN, url)

    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(one, range(6)))
        assert [database for _, database in results].count(True) == 1
        assert [role_created for role_created, _ in results].count(True) == 1
    finally:
        _cleanup(role)
