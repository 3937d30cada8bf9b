"""One readable message for everything wrong with a stack's config.

Pydantic's own messages name Python fields and say "Input should be ..."; users edit YAML keys,
so each problem is restated as `namespace:key: got VALUE; allowed: WHAT`. Secret values are
never echoed.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, NamedTuple, get_args

import annotated_types
import pulumi
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

MASK = "[secret]"


class ConfigProblem(NamedTuple):
    key: str
    given: str
    allowed: str


class ConfigError(pulumi.RunError):
    """Bad stack config. A `RunError`, so `pulumi up` prints the message without a traceback."""

    def __init__(self, namespace: str, problems: list[ConfigProblem]) -> None:
        self.problems = sorted(problems)
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        # Provider keys (gcp:region) already carry their namespace; ours get it added.
        lines = [
            f"  {p.key if ':' in p.key else f'{namespace}:{p.key}'}: got {p.given}; allowed: {p.allowed}"
            for p in self.problems
        ]
        super().__init__(f"invalid stack config ({count}):\n" + "\n".join(lines))


def problems_from_validation(
    error: ValidationError | None,
    model: type[BaseModel],
    secret_keys: frozenset[str],
    plaintext_secrets: list[str],
) -> list[ConfigProblem]:
    fields = {(field.alias or name): field for name, field in model.model_fields.items()}
    aliases = {name: (field.alias or name) for name, field in model.model_fields.items()}
    problems: dict[str, ConfigProblem] = {}
    for detail in error.errors(include_url=False) if error else []:
        if len(detail["loc"]) > 1:  # inside a structured key: servers.tools.port
            path = ".".join(str(part) for part in detail["loc"]).removesuffix(".[key]")
            problems.setdefault(
                path, ConfigProblem(path, _show(detail.get("input")), _nested_allowed(detail))
            )
            continue
        key = str(detail["loc"][0]) if detail["loc"] else "(config)"
        given = MASK if key in secret_keys else _show(detail.get("input"))
        if detail["type"] == "missing" or detail.get("input") is None:
            given = "nothing"
        elif key in aliases and aliases[key] != key:
            # Only a validated default is reported under its Python name: the input uses aliases.
            given = f"{given} (the default)"
        key = aliases.get(key, key)
        problems.setdefault(key, ConfigProblem(key, given, _allowed(detail, fields.get(key), fields)))
    for key in plaintext_secrets:
        problems.setdefault(
            key,
            ConfigProblem(key, f"{MASK} stored as plain text", f"a secret: pulumi config set --secret {key}"),
        )
    return list(problems.values())


def _allowed(detail: Any, field: FieldInfo | None, fields: dict[str, FieldInfo]) -> str:
    kind = detail["type"]
    key = str(detail["loc"][0]) if detail["loc"] else ""
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(key, fields, n=1)
        return "no such key" + (f" (did you mean {close[0]}?)" if close else "")
    if field is None:
        return str(detail["msg"])
    if kind == "missing":
        return str(field.description)
    if kind == "literal_error":
        return ", ".join(str(choice) for choice in _choices(field))
    if kind in {"greater_than_equal", "less_than_equal", "int_parsing", "int_from_float"}:
        low, high = _bounds(field)
        return f"a whole number from {low} to {high}"
    if kind == "bool_parsing":
        return "true or false"
    if kind == "config_rule":
        return str(detail["msg"])
    if kind == "value_error" and "email" in str(detail["msg"]):
        return "an email address like oncall@example.com"
    return f"{detail['msg']} ({field.description})"


def _nested_allowed(detail: Any) -> str:
    """Inside a structured key pydantic's own text is close enough, less its prefixes."""
    kind = detail["type"]
    if detail["loc"][-1] == "[key]":
        return "a server name of 1-20 lowercase letters, digits and '-', starting with a letter"
    if kind == "extra_forbidden":
        return "no such key (see the servers table in the README)"
    if kind == "missing":
        return "a value (required)"
    message = str(detail["msg"])
    for prefix in ("Value error, ", "Input should be "):
        message = message.removeprefix(prefix)
    return message


def _choices(field: FieldInfo) -> tuple[Any, ...]:
    for arm in (field.annotation, *get_args(field.annotation)):
        if arm is not None and get_args(arm):
            return get_args(arm)
    return ()


def _bounds(field: FieldInfo) -> tuple[Any, Any]:
    low: Any = "-inf"
    high: Any = "inf"
    for rule in field.metadata:
        if isinstance(rule, annotated_types.Ge):
            low = rule.ge
        elif isinstance(rule, annotated_types.Le):
            high = rule.le
    return low, high


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if text and text.strip() == text and " " not in text else json.dumps(text)
