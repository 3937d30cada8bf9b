"""Platform keys whose value is the NAME of a secret stack key, not the secret: `alertWebhookUrl`
(an https webhook URL, which carries its credential) and `sentryDsn` (a Sentry DSN, whose public
key is what lets anyone send events). Like servers' `secrets`, the named key must be set with
`pulumi config set --secret`, and config errors never show its value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mcp_deploy.config_errors import ConfigProblem

STACK_KEY = r"^[A-Za-z][A-Za-z0-9]{0,63}$"


@dataclass(frozen=True)
class SecretRef:
    key: str  # the platform key, e.g. alertWebhookUrl
    what: str  # what the named key holds, for messages
    example: str
    shape: re.Pattern[str]
    expected: str


REFS = (
    SecretRef(
        "alertWebhookUrl",
        "the webhook URL",
        "https://...",
        re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s#]*)?$"),
        "an https:// URL (stored as a secret)",
    ),
    SecretRef(
        "sentryDsn",
        "the Sentry DSN",
        "https://<key>@<org>.ingest.sentry.io/<project>",
        re.compile(r"^https://[A-Za-z0-9]+@[A-Za-z0-9.-]+(:[0-9]{1,5})?/[0-9A-Za-z/_-]+$"),
        "a Sentry DSN, https://<key>@<host>/<project> (stored as a secret)",
    ),
)


def referenced_keys(given: dict[str, Any], declared: set[str]) -> set[str]:
    """The stack keys these platform keys name, unless one names a declared key (validation says so)."""
    found = set()
    for ref in REFS:
        key = given.get(ref.key)
        if isinstance(key, str) and re.fullmatch(STACK_KEY, key) and key not in declared:
            found.add(key)
    return found


def secret_ref_problems(named: dict[str, str | None], found: dict[str, str]) -> list[ConfigProblem]:
    """Each named key must be set, in its shape; the value itself is never printed."""
    problems = []
    for ref in REFS:
        key = named.get(ref.key)
        if key is None:
            continue
        if key not in found:
            problems.append(
                ConfigProblem(
                    ref.key,
                    f"{key} (not set)",
                    f"the name of a secret stack key holding {ref.what}: pulumi config set --secret {key} "
                    + ref.example,
                )
            )
        elif not ref.shape.match(found[key]):
            problems.append(ConfigProblem(f"{ref.key} -> {key}", "[secret]", ref.expected))
    return problems
