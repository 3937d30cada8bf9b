"""The rate-limit key names one owner, whatever text a token's tenant and subject carry."""

from __future__ import annotations

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

from mcp_notes.http.guard import _limit_key


def user(tenant: str, subject: str, client_id: str = "client") -> AuthenticatedUser:
    return AuthenticatedUser(
        AccessToken(token="t", client_id=client_id, scopes=[], subject=subject, claims={"tenant": tenant})
    )


def test_no_tenant_and_subject_pair_collides_with_another() -> None:
    pairs = [("a\x1fb", "c"), ("a", "b\x1fc"), ("", 'a", "b'), ('a", "', "b"), ("a", "b"), ("", "a")]
    keys = {_limit_key(user(tenant, subject)) for tenant, subject in pairs}
    assert len(keys) == len(pairs)


def test_the_client_id_is_never_part_of_the_key() -> None:
    assert _limit_key(user("t", "alice", "one")) == _limit_key(user("t", "alice", "two"))
    assert _limit_key(user("t", "", "alice")) != _limit_key(user("t", "alice", "x"))
