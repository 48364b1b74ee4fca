"""Checks faked Forms API answers and sent requests against Google's discovery document.

The document is shipped as a fixture (fixtures/SOURCE.md says where it came from) so the tests read
nothing outside the repository.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

SPEC = Path(__file__).parent / "fixtures" / "forms.v1.discovery.json"


@cache
def discovery() -> dict[str, Any]:
    return json.loads(SPEC.read_text())


def _check(value: Any, spec: dict[str, Any], where: str) -> None:
    schemas = discovery()["schemas"]
    if "$ref" in spec:
        spec = schemas[spec["$ref"]]
    kind = spec.get("type")
    if kind == "object" or "properties" in spec:
        assert isinstance(value, dict), f"{where}: expected an object"
        props = spec.get("properties", {})
        extra = spec.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                _check(item, props[key], f"{where}.{key}")
            elif extra:
                _check(item, extra, f"{where}[{key}]")
            else:
                raise AssertionError(f"{where}: '{key}' is not in the discovery schema")
    elif kind == "array":
        assert isinstance(value, list), f"{where}: expected a list"
        for n, item in enumerate(value):
            _check(item, spec["items"], f"{where}[{n}]")
    elif kind == "string":
        assert isinstance(value, str), f"{where}: expected a string"
    elif kind in ("number", "integer"):
        assert isinstance(value, int | float), f"{where}: expected a number"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{where}: expected a boolean"


def check_answer(value: Any, schema: str) -> Any:
    """`value` if every field is one the discovery document declares for `schema`."""
    _check(value, {"$ref": schema}, schema)
    return value


def check_request(url: str, method_id: str) -> None:
    """The path matches the method's flatPath and every query parameter is a declared one."""
    resources = discovery()["resources"]["forms"]
    methods = {
        **resources["methods"],
        **{f"responses.{k}": v for k, v in resources["resources"]["responses"]["methods"].items()},
    }
    method = methods[method_id]
    parts = urlsplit(url)
    pattern = method["flatPath"].split("/")
    path = parts.path.lstrip("/").split("/")
    assert len(path) == len(pattern), f"{parts.path} does not match {method['flatPath']}"
    for got, want in zip(path, pattern, strict=True):
        assert want.startswith("{") or got == want, f"{parts.path} does not match {method['flatPath']}"
    for name in parse_qs(parts.query):
        spec = method["parameters"].get(name)
        assert spec and spec["location"] == "query", f"{name} is not a query parameter of {method_id}"
