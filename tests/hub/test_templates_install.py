"""Installing a template: values checked and typed into the recipe, a draft created in the project
through the usual save and audit, every bad parameter named at once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hub.connections import NotFound
from hub.db.models import AuditEntry, ConnectionShare, Recipe
from hub.recipe_index import current_document
from hub.runtime import Runtime
from hub.sdk.errors import RecipeProblems
from hub.services import projects as project_service
from hub.templates import catalogue
from hub.templates.install import install
from hub.templates.params import substitute
from tests.hub.template_helpers import dummy_connection

FORM = "jiandaoyun-form-wecom-message"


def _values(rt: Runtime) -> dict[str, Any]:
    """The jiandaoyun connection by id, the wecom one by name."""
    dummy_connection(rt, "wecom", "wecom")
    return {
        "jiandaoyun": dummy_connection(rt, "jdy", "jiandaoyun"),
        "wecom": "wecom",
        "entry_id": "form-1",
        "recipients": ["ada", "bo"],
    }


def _stored(rt: Runtime, recipe_id: int) -> tuple[Recipe, dict[str, Any]]:
    with rt.db.transaction() as session:
        recipe = session.get(Recipe, recipe_id)
        assert recipe is not None
        session.expunge(recipe)
        return recipe, current_document(session, recipe)


def _problems(exc: pytest.ExceptionInfo[RecipeProblems]) -> dict[str, str]:
    return {p["path"]: p["message"] for p in exc.value.problems}


def test_install_creates_a_draft_with_typed_values_and_connection_names(runtime: Runtime) -> None:
    values = _values(runtime)
    recipe_id = install(runtime, FORM, values, project="default", actor="ada@example.com")
    recipe, document = _stored(runtime, recipe_id)
    assert recipe.enabled is False and recipe.project_id == 1 and recipe.name == "Jiandaoyun entries to WeCom"
    assert document["enabled"] is False
    assert document["trigger"]["connection"] == "jdy"  # the id given became the name recipes use
    assert document["trigger"]["config"]["entry_id"] == "form-1"
    step = document["steps"][0]
    assert step["connection"] == "wecom"
    assert step["input"]["touser"] == ["ada", "bo"]  # a list stays a list
    assert step["input"]["content"] == "简道云有新数据：{{ event.data_id }}"  # the default
    with runtime.db.transaction() as session:
        entries = [(e.actor, e.action, e.target_id) for e in session.scalars(select(AuditEntry))]
    assert ("ada@example.com", "recipe.create", str(recipe_id)) in entries
    assert ("ada@example.com", "template.install", str(recipe_id)) in entries


def test_install_takes_a_recipe_name_and_numbers_stay_numbers(runtime: Runtime) -> None:
    values = {"target_url": "https://example.com/in", "headers": {"X-A": "1"}}
    recipe_id = install(runtime, "webhook-forward-http", values, project=1, actor="t", recipe_name="Mine")
    recipe, document = _stored(runtime, recipe_id)
    assert recipe.name == document["name"] == "Mine"
    assert document["steps"][0]["input"]["headers"] == {"X-A": "1"}
    template = catalogue.get("daily-http-report-wecom")
    filled = substitute(template.recipe, {p.name: p.example for p in template.parameters} | {"field": 7})
    assert filled["steps"][0]["values"]["field"] == 7
    assert template.recipe["steps"][0]["values"]["field"] == {"$param": "field"}  # the template is intact


def test_every_bad_missing_or_unknown_parameter_is_named(runtime: Runtime) -> None:
    dummy_connection(runtime, "wecom", "wecom")
    values = {"wecom": "wecom", "recipients": "ada", "message": "", "colour": "red"}
    with pytest.raises(RecipeProblems) as caught:
        install(runtime, FORM, values, project="default", actor="t")
    found = _problems(caught)
    assert set(found) == {
        "parameters.jiandaoyun",
        "parameters.entry_id",
        "parameters.recipients",
        "parameters.message",
        "parameters.colour",
    }
    assert found["parameters.jiandaoyun"] == "required"
    assert "is not of type 'array'" in found["parameters.recipients"]
    assert "not a parameter of this template" in found["parameters.colour"]
    with runtime.db.transaction() as session:
        assert session.scalar(select(Recipe.id)) is None  # nothing created


def test_connections_must_be_of_the_connector_and_reachable_from_the_project(runtime: Runtime) -> None:
    other = project_service.create_project(runtime, "other", actor="t")["id"]
    foreign = dummy_connection(runtime, "their-wecom", "wecom", other)
    values = _values(runtime)
    values["jiandaoyun"] = values["wecom"]  # a wecom connection where a jiandaoyun one is wanted
    values["wecom"] = foreign
    with pytest.raises(RecipeProblems) as caught:
        install(runtime, FORM, values, project="default", actor="t")
    found = _problems(caught)
    assert found["parameters.jiandaoyun"] == (
        "connection 'wecom' is a wecom connection; this parameter needs a jiandaoyun connection"
    )
    assert found["parameters.wecom"] == f"no connection {foreign!r} in this project or shared with it"
    with runtime.db.transaction() as session:
        session.add(ConnectionShare(connection_id=foreign, project_id=1))
    values["jiandaoyun"] = "jdy"
    recipe_id = install(runtime, FORM, values, project="default", actor="t")
    assert _stored(runtime, recipe_id)[1]["steps"][0]["connection"] == "their-wecom"


def test_a_filled_recipe_that_is_not_valid_fails_as_a_recipe_save_does(runtime: Runtime) -> None:
    values = _values(runtime) | {"message": "{{ event.data_id "}
    with pytest.raises(RecipeProblems) as caught:
        install(runtime, FORM, values, project="default", actor="t")
    assert list(_problems(caught)) == ["$.steps[0].input.content"]


def test_unknown_templates_and_projects_are_not_found(runtime: Runtime) -> None:
    with pytest.raises(NotFound, match="template 'nope' not found"):
        install(runtime, "nope", {}, project="default", actor="t")
    with pytest.raises(NotFound, match="project ghost not found"):
        install(runtime, "webhook-forward-http", {"target_url": "https://x.io"}, project="ghost", actor="t")
