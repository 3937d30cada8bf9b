"""Pulumi.yaml declarations and the README key table are the model, rendered; they never drift."""

import json

import yaml

from mcp_deploy.config import NAMESPACE, StackConfig, parse_stack_config
from mcp_deploy.config_docs import YAML_MARKER, declarations, readme_table, yaml_block
from tests.harness.stack_files import ROOT
from tests.infra.test_config import REQUIRED

FIX = "run `make config-docs` and commit the result"


def test_pulumi_yaml_declares_exactly_the_model() -> None:
    text = (ROOT / "Pulumi.yaml").read_text()
    assert YAML_MARKER in text, FIX
    assert text.endswith(yaml_block()), FIX
    declared = yaml.safe_load(text)["config"]
    assert set(declared) == {field.alias for field in StackConfig.model_fields.values()} - {"servers"}
    for key, spec in declared.items():
        assert spec["type"] in {"string", "integer", "boolean", "array"}, key
        assert spec["description"], f"{key} needs a description"
        assert "secret" not in spec, f"{key}: a declared secret can't have a default"


def test_declared_defaults_are_valid_values() -> None:
    defaults = {key: _as_cli_text(spec["default"]) for key, spec in declarations().items()}
    config = parse_stack_config({**defaults, "target": "kubernetes", **REQUIRED}, secret=set())
    assert config.aws_public_subnet_ids == []
    assert config.environment == "development"


def test_readme_lists_every_key() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme_table() in readme, FIX
    for field in StackConfig.model_fields.values():
        assert f"`{NAMESPACE}:{field.alias}`" in readme


def _as_cli_text(value: object) -> str:
    if isinstance(value, list):
        return json.dumps(value)  # as the CLI passes arrays
    return str(value).lower() if isinstance(value, bool) else str(value)
