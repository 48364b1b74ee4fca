"""The template catalogue: reading files, and every format problem named by file and JSON path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hub.connections import NotFound
from hub.templates import catalogue
from hub.templates.catalogue import TemplateError, read_catalogue


def template(**changes: Any) -> dict[str, Any]:
    """A valid template: webhook -> http.request, one value parameter with a default."""
    document: dict[str, Any] = {
        "template": 1,
        "name": "relay",
        "title": {"en": "Relay", "zh": "转发"},
        "description": {"en": "Posts events on.", "zh": "转发事件。"},
        "category": "alerts",
        "systems": ["webhook", "http"],
        "parameters": [
            {
                "name": "url",
                "kind": "value",
                "schema": {"type": "string", "pattern": "^https://"},
                "default": "https://example.com/a",
                "example": "https://example.com/b",
                "title": {"en": "URL", "zh": "地址"},
            }
        ],
        "recipe": {
            "name": "relay",
            "trigger": {"connector": "webhook", "trigger": "catch"},
            "steps": [
                {"id": "post", "connector": "http", "action": "request", "input": {"url": {"$param": "url"}}}
            ],
        },
    }
    document.update(changes)
    return document


def write(directory: Path, document: Any, name: str | None = None) -> Path:
    path = directory / f"{name or document['name']}.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def problems(directory: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(TemplateError) as caught:
        read_catalogue(directory)
    return [(p["file"], p["path"], p["message"]) for p in caught.value.problems]


def test_a_valid_template_reads_with_its_texts_and_parameters(tmp_path: Path) -> None:
    write(tmp_path, template())
    found = read_catalogue(tmp_path)
    relay = found["relay"]
    assert relay.title("zh_CN") == "转发" and relay.title("en") == "Relay"
    assert relay.description("fr") == "Posts events on."
    assert [p.name for p in relay.parameters] == ["url"]
    assert relay.parameters[0].required is False and relay.parameters[0].example == "https://example.com/b"
    assert relay.matches(q="转发") and relay.matches(system="http", category="alerts")
    assert not relay.matches(system="wecom") and not relay.matches(category="leads")


def test_every_problem_of_every_file_is_named_by_file_and_path(tmp_path: Path) -> None:
    write(tmp_path, template(category="gossip"), "bad-category")
    bad_param = template(name="bad-param")
    bad_param["parameters"].append({"name": "x", "kind": "value", "title": {"en": "X", "zh": "X"}})
    write(tmp_path, bad_param)
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    found = problems(tmp_path)
    files = {file.rsplit("/", 1)[-1] for file, _path, _message in found}
    assert files == {"bad-category.json", "bad-param.json", "broken.json"}
    paths = {(file.rsplit("/", 1)[-1], path) for file, path, _message in found}
    assert ("bad-category.json", "$.category") in paths
    assert ("bad-param.json", "$.parameters[1]") in paths  # no schema, no example
    assert ("broken.json", "$") in paths
    with pytest.raises(TemplateError, match=r"bad-category\.json: \$\.category: "):
        read_catalogue(tmp_path)


def test_markers_must_name_declared_parameters_and_every_parameter_is_used(tmp_path: Path) -> None:
    document = template()
    document["recipe"]["steps"][0]["input"]["headers"] = {"$param": "nope"}
    document["recipe"]["steps"][0]["input"]["query"] = {"$param": "url", "extra": 1}
    document["parameters"].append(
        {"name": "unused", "kind": "value", "schema": {}, "example": 1, "title": {"en": "U", "zh": "U"}}
    )
    write(tmp_path, document)
    found = {(path, message) for _file, path, message in problems(tmp_path)}
    assert ("$.recipe.steps[0].input.headers", "parameter 'nope' is not declared in $.parameters") in found
    assert any(path == "$.recipe.steps[0].input.query" and "exactly one key" in m for path, m in found)
    assert ("$.parameters[1]", "parameter 'unused' is not used in the recipe") in found


def test_value_parameters_need_a_valid_schema_and_matching_example_and_default(tmp_path: Path) -> None:
    document = template()
    document["parameters"][0].update(example="ftp://x", default=5)
    write(tmp_path, document)
    paths = {path for _file, path, _message in problems(tmp_path)}
    assert paths == {"$.parameters[0].example", "$.parameters[0].default"}
    document["parameters"][0]["schema"] = {"type": "strange"}
    write(tmp_path, document)
    found = problems(tmp_path)
    assert [(p, m.split(":")[0]) for _f, p, m in found] == [
        ("$.parameters[0].schema", "not a valid JSON Schema")
    ]


def test_the_name_is_the_file_name_and_parameters_are_unique(tmp_path: Path) -> None:
    document = template()
    document["parameters"].append(dict(document["parameters"][0]))
    write(tmp_path, document, "other-name")
    paths = {path for _file, path, _message in problems(tmp_path)}
    assert paths == {"$.name", "$.parameters[1].name"}


def test_connection_parameters_name_a_system_of_the_template(tmp_path: Path) -> None:
    document = template()
    document["parameters"].append(
        {"name": "crm", "kind": "connection", "connector": "wecom", "title": {"en": "C", "zh": "C"}}
    )
    document["recipe"]["steps"][0]["connection"] = {"$param": "crm"}
    write(tmp_path, document)
    assert [path for _f, path, _m in problems(tmp_path)] == ["$.parameters[1].connector"]


def test_the_filled_recipe_must_be_a_recipe_and_use_every_listed_system(tmp_path: Path) -> None:
    document = template(systems=["webhook", "http", "wecom"])
    document["recipe"]["steps"][0]["id"] = "Not An Id"
    write(tmp_path, document)
    assert [path for _f, path, _m in problems(tmp_path)] == ["$.recipe.steps[0].id"]
    document["recipe"]["steps"][0]["id"] = "post"
    write(tmp_path, document)
    found = problems(tmp_path)
    assert [(p, m) for _f, p, m in found] == [("$.systems[2]", "the recipe uses no connector 'wecom'")]


def test_get_answers_not_found_for_an_unknown_template() -> None:
    with pytest.raises(NotFound, match="template 'no-such-template' not found"):
        catalogue.get("no-such-template")
