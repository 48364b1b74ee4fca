"""Exporting a recipe as a template: connections and literal secrets become parameters, and the
result is a valid template that installs again."""

from __future__ import annotations

import json
from typing import Any

from hub.recipe_index import current_document
from hub.recipe_store import get_recipe
from hub.runtime import Runtime
from hub.services import recipes as recipe_service
from hub.templates.catalogue import check_document
from hub.templates.export import template_name, to_template
from hub.templates.params import substitute
from tests.hub.template_helpers import dummy_connection

SECRET = "a-signing-secret-of-ours"


def _recipe() -> dict[str, Any]:
    notify = {"connector": "wecom", "action": "send_message", "input": {"touser": "ada", "content": "hi"}}
    return {
        "name": "Sales 报表 #1",
        "enabled": True,
        "trigger": {
            "connector": "webhook",
            "trigger": "catch",
            "config": {"auth": "hmac_sha256", "secret": SECRET},
        },
        "steps": [
            {"id": "first", **notify, "connection": "wecom-sales"},
            {
                "id": "route",
                "type": "branch",
                "cases": [
                    {
                        "when": "{{ event.x }}",
                        "steps": [{"id": "second", **notify, "connection": "wecom-ops"}],
                    }
                ],
                "default": [{"id": "third", **notify, "connection": "wecom-sales"}],
            },
            {
                "id": "sign",
                "connector": "webhook",
                "action": "post",
                "input": {"url": "https://x.io", "secret": "{{ secrets.k }}"},
            },
        ],
        "on_failure": [{"id": "alarm", **notify, "connection": "wecom-ops"}],
    }


def test_connections_and_secrets_become_parameters(runtime: Runtime) -> None:
    template = to_template(_recipe(), runtime.registry)
    assert template["name"] == "sales-1" and template["title"] == {
        "en": "Sales 报表 #1",
        "zh": "Sales 报表 #1",
    }
    assert template["systems"] == ["webhook", "wecom"]
    assert [(p["name"], p["kind"], p.get("connector")) for p in template["parameters"]] == [
        ("wecom", "connection", "wecom"),
        ("wecom_2", "connection", "wecom"),
        ("trigger_secret", "value", None),
    ]
    recipe = template["recipe"]
    assert "enabled" not in recipe
    assert (
        recipe["steps"][0]["connection"]
        == recipe["steps"][1]["default"][0]["connection"]
        == {"$param": "wecom"}
    )
    assert recipe["steps"][1]["cases"][0]["steps"][0]["connection"] == {"$param": "wecom_2"}
    assert recipe["on_failure"][0]["connection"] == {"$param": "wecom_2"}
    assert recipe["steps"][2]["input"]["secret"] == "{{ secrets.k }}"  # a template is no secret
    text = json.dumps(template, ensure_ascii=False)
    assert SECRET not in text and "wecom-sales" not in text and "wecom-ops" not in text
    assert check_document(template, template["name"]) == []


def test_an_exported_stored_recipe_installs_again(runtime: Runtime) -> None:
    for name in ("wecom-sales", "wecom-ops", "wecom-new"):
        dummy_connection(runtime, name, "wecom")
    saved = recipe_service.save_recipe(runtime, _recipe(), actor="t")
    with runtime.db.transaction() as session:
        stored = current_document(session, get_recipe(session, saved.id))
    assert stored["trigger"]["config"]["secret"] != SECRET  # sealed, and replaced unread
    template = to_template(stored, runtime.registry, name="again", category="reports")
    assert (template["name"], template["category"]) == ("again", "reports")
    filled = substitute(
        template["recipe"],
        {"wecom": "wecom-new", "wecom_2": "wecom-new", "trigger_secret": "another-secret-value"},
    )
    recipe_service.save_recipe(runtime, filled, actor="t")
    assert filled["trigger"]["config"]["secret"] == "another-secret-value"


def test_template_names_are_made_from_recipe_names() -> None:
    assert template_name("  New Lead → WeCom!! ") == "new-lead-wecom"
    assert template_name("报表") == "exported-recipe"
