"""Offline validation of custom resources against their CRDs' published OpenAPI schemas.

The schemas are vendored here (see vendor.py for the source and release of each). Kubernetes
prunes unknown fields of a CRD object silently, so a misspelled field would deploy and do
nothing; to catch it, validation is strict: an object schema without `additionalProperties`
allows no field it does not list, unless it says `x-kubernetes-preserve-unknown-fields`.
Not checked: CEL rules (`x-kubernetes-validations`) and `format`s.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from tests.infra.crds.vendor import SOURCES, file_name

HERE = Path(__file__).resolve().parent
# ObjectMeta is the API server's, not the CRD's: CRDs publish it as a bare `type: object`.
METADATA = {"type": "object", "required": ["name"], "x-kubernetes-preserve-unknown-fields": True}


class UnknownKindError(KeyError):
    pass


def strict(schema: Any) -> Any:
    """The schema with unlisted fields refused wherever the CRD does not keep unknown fields."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items() if key != "properties"}
    if isinstance(schema.get("pattern"), str):
        # Go's regexp takes `^(?i)...`; Python wants global flags first.
        out["pattern"] = schema["pattern"].replace("^(?i)", "(?i)^")
    if "properties" in schema:
        out["properties"] = {name: strict(sub) for name, sub in schema["properties"].items()}
    is_object = schema.get("type") == "object" or "properties" in schema
    if (
        is_object
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@cache
def schema_for(api_version: str, kind: str) -> dict[str, Any]:
    key = f"{api_version}/{kind}"
    if key not in SOURCES:
        raise UnknownKindError(f"no vendored schema for {key}; add it to tests/infra/crds/vendor.py")
    published = json.loads((HERE / file_name(key)).read_text())["schema"]
    checked = strict(published)
    checked["properties"]["metadata"] = METADATA
    return checked


def known(api_version: str, kind: str) -> bool:
    return f"{api_version}/{kind}" in SOURCES


def validate(document: dict[str, Any]) -> None:
    """Raise `jsonschema.ValidationError` for the first problem in a custom resource."""
    schema = schema_for(document["apiVersion"], document["kind"])
    jsonschema.validate(document, schema, cls=jsonschema.Draft7Validator)
