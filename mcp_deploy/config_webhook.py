"""`alertWebhookUrl`: the name of a secret stack key holding the alert webhook's URL.

Like servers' `secrets`, the key names another key rather than holding the URL: webhook URLs
carry their credential (Slack's path, PagerDuty's integration key), so the value must be set with
`pulumi config set --secret`, and config errors never show it.
"""

from __future__ import annotations

import re
from typing import Any

from mcp_deploy.config_errors import ConfigProblem

KEY = "alertWebhookUrl"
STACK_KEY = r"^[A-Za-z][A-Za-z0-9]{0,63}$"
_HTTPS = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s#]*)?$")


def referenced_key(given: dict[str, Any], declared: set[str]) -> set[str]:
    """The stack key `alertWebhookUrl` names, unless it names a declared key (validation says so)."""
    key = given.get(KEY)
    if isinstance(key, str) and re.fullmatch(STACK_KEY, key) and key not in declared:
        return {key}
    return set()


def webhook_problems(key: str | None, found: dict[str, str]) -> list[ConfigProblem]:
    """The named key must be set, to an https URL; the value itself is never printed."""
    if key is None:
        return []
    if key not in found:
        return [
            ConfigProblem(
                KEY,
                f"{key} (not set)",
                f"the name of a secret stack key holding the webhook URL: pulumi config set --secret {key} "
                "https://...",
            )
        ]
    if not _HTTPS.match(found[key]):
        return [ConfigProblem(f"{KEY} -> {key}", "[secret]", "an https:// URL (stored as a secret)")]
    return []
