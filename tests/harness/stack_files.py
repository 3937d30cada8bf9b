"""Read `Pulumi.yaml` and `Pulumi.<stack>.yaml` into the config map the CLI hands a program.

This follows what `pulumi up` does before the program starts (pulumi/sdk/go/common/workspace,
mergeConfig and validateStackConfigValues): bare keys take the project namespace, declared
defaults fill keys the stack leaves out, a declared key with no default and no value stops the
run, declared types are checked, and every value reaches the program as text (objects and
arrays as JSON).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


class StackFileError(Exception):
    """What the Pulumi CLI would print and stop on, before running the program."""


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    values: dict[str, str]  # full key ("ns:key") -> value as text
    secret_keys: frozenset[str]


def load_project(project_dir: Path = ROOT) -> dict[str, Any]:
    return yaml.safe_load((project_dir / "Pulumi.yaml").read_text())


def stack_file(stack: str, project_dir: Path = ROOT) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def stack_name(path: Path) -> str:
    name = path.name
    if not (name.startswith("Pulumi.") and name.endswith((".yaml", ".yml"))) or name.count(".") < 2:
        raise StackFileError(f"{path}: a stack file is named Pulumi.<stack>.yaml")
    return name.split(".", 1)[1].rsplit(".", 1)[0]


def read_stack(
    path: Path,
    project_dir: Path = ROOT,
    overrides: dict[str, str] | None = None,
    secret_overrides: dict[str, str] | None = None,
) -> StackConfig:
    """The config `pulumi up` would pass for this stack file; `overrides` act like `config set`,
    `secret_overrides` like `config set --secret`."""
    if not path.is_file():
        raise StackFileError(f"no stack file {path}; stacks here: {', '.join(_stacks(project_dir))}")
    project = load_project(project_dir)
    namespace = project["name"]
    stack = stack_name(path)
    raw = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    values: dict[str, str] = {}
    secret: set[str] = set()
    for key, value in raw.items():
        full = key if ":" in key else f"{namespace}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            # Encrypted values can't be decrypted offline; a stable stand-in keeps runs identical.
            value = "offline-" + hashlib.sha256(full.encode()).hexdigest()[:32]
            secret.add(full)
        values[full] = _as_text(value)
    for key, value in (overrides or {}).items():
        values[key if ":" in key else f"{namespace}:{key}"] = value
    for key, value in (secret_overrides or {}).items():
        full = key if ":" in key else f"{namespace}:{key}"
        values[full] = value
        secret.add(full)
    _apply_declarations(stack, namespace, project.get("config") or {}, values, secret)
    return StackConfig(namespace, stack, values, frozenset(secret))


def _apply_declarations(
    stack: str, namespace: str, declared: dict[str, Any], values: dict[str, str], secret: set[str]
) -> None:
    missing: list[str] = []
    for key in sorted(declared):
        spec = declared[key] if isinstance(declared[key], dict) else {"value": declared[key]}
        full = key if ":" in key else f"{namespace}:{key}"
        if full not in values:
            if "default" in spec or "value" in spec:
                values[full] = _as_text(spec.get("default", spec.get("value")))
            elif full.startswith(f"{namespace}:"):
                missing.append(key)
            continue
        if spec.get("secret") and full not in secret:
            raise StackFileError(
                f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret"
            )
        if "type" in spec and not _has_type(values[full], spec["type"]):
            raise StackFileError(
                f"Stack '{stack}' with configuration key '{key}' must be of type '{spec['type']}'"
            )
    if missing:
        plural = "values" if len(missing) > 1 else "value"
        names = ", ".join(f"'{k}'" for k in missing)
        raise StackFileError(f"Stack '{stack}' is missing configuration {plural} {names}")


def _has_type(text: str, kind: str) -> bool:
    if kind == "string":
        return True
    if kind == "integer":
        return text.lstrip("-").isdigit()
    if kind == "boolean":
        return text in {"true", "false"}
    if kind == "array":
        try:
            return isinstance(json.loads(text), list)
        except ValueError:
            return False
    return False


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return "" if value is None else str(value)


def _stacks(project_dir: Path) -> list[str]:
    return sorted(stack_name(p) for p in project_dir.glob("Pulumi.*.yaml")) or ["none"]
