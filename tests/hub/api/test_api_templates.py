"""/api/v1/templates: the catalogue, installing a template as a draft recipe, and
/api/v1/recipes/{id}/template (export); bad input answers with every problem named."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.db.models import AuditEntry
from hub.runtime import Runtime
from hub.services import projects as project_service
from hub.templates.catalogue import check_document
from hub.users import create_token, create_user
from tests.hub.template_helpers import dummy_connection

FORM = "jiandaoyun-form-wecom-message"
URL = f"/api/v1/templates/{FORM}/install"


def _values(rt: Runtime) -> dict[str, Any]:
    return {
        "jiandaoyun": dummy_connection(rt, "jdy", "jiandaoyun"),
        "wecom": dummy_connection(rt, "wc", "wecom"),
        "entry_id": "form-1",
        "recipients": ["ada"],
    }


def _details(answer: Any) -> dict[str, str]:
    assert answer.status_code == 422, answer.get_json()
    return {d["path"]: d["message"] for d in answer.get_json()["error"]["details"]}


def test_the_catalogue_lists_filters_and_shows(client: Any, headers: dict[str, dict[str, str]]) -> None:
    viewer = headers["viewer"]
    every = client.get("/api/v1/templates", headers=viewer).get_json()["templates"]
    assert {"webhook-forward-http", FORM, "daily-http-report-wecom"} <= {t["name"] for t in every}
    assert all("recipe" not in t and t["parameters"] for t in every)

    def names(query: str) -> set[str]:
        answer = client.get(f"/api/v1/templates?{query}", headers=viewer)
        assert answer.status_code == 200, answer.get_json()
        return {t["name"] for t in answer.get_json()["templates"]}

    assert FORM in names("system=jiandaoyun") and "webhook-forward-http" not in names("system=jiandaoyun")
    assert names("category=reports") >= {"daily-http-report-wecom"} and FORM not in names("category=reports")
    assert FORM in names("q=简道云") and FORM in names("q=JIANDAOYUN form")
    assert names("q=nothing-matches-this") == set()
    bad = client.get("/api/v1/templates?category=gossip", headers=viewer)
    assert bad.status_code == 400 and "'category' must be one of leads" in bad.get_json()["error"]["message"]
    shown = client.get(f"/api/v1/templates/{FORM}", headers=viewer).get_json()
    assert shown["recipe"]["trigger"]["connection"] == {"$param": "jiandaoyun"}
    missing = client.get("/api/v1/templates/nope", headers=viewer)
    assert (
        missing.status_code == 404 and missing.get_json()["error"]["message"] == "template 'nope' not found"
    )
    assert client.get("/api/v1/templates").status_code == 401


def test_install_creates_a_draft_recipe(
    client: Any, runtime: Runtime, headers: dict[str, dict[str, str]]
) -> None:
    body = {"values": _values(runtime) | {"message": "新数据 {{ event.data_id }}"}, "name": "Leads"}
    answer = client.post(URL, json=body, headers=headers["editor"])
    assert answer.status_code == 201, answer.get_json()
    recipe = answer.get_json()
    assert (recipe["name"], recipe["enabled"]) == ("Leads", False)
    document = recipe["document"]
    assert document["trigger"]["connection"] == "jdy" and document["steps"][0]["connection"] == "wc"
    assert document["steps"][0]["input"] == {
        "touser": ["ada"],
        "msgtype": "text",
        "content": "新数据 {{ event.data_id }}",
    }
    assert recipe["webhook_url"].startswith("http://127.0.0.1:8000/hooks/")
    with runtime.db.transaction() as session:
        actions = [(e.actor, e.action) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-2:] == [
        ("editor@example.com", "recipe.create"),
        ("editor@example.com", "template.install"),
    ]
    by_name = {"jiandaoyun": "jdy", "wecom": "wc", "entry_id": "f2", "recipients": ["bo"]}
    again = client.post(URL, json={"values": by_name}, headers=headers["editor"])
    assert again.status_code == 201 and again.get_json()["name"] == "Jiandaoyun entries to WeCom"


def test_every_bad_parameter_is_named_at_once(
    client: Any, runtime: Runtime, headers: dict[str, dict[str, str]]
) -> None:
    dummy_connection(runtime, "wc", "wecom")
    other = project_service.create_project(runtime, "other", actor="t")["id"]
    theirs = dummy_connection(runtime, "their-jdy", "jiandaoyun", other)
    values = {"jiandaoyun": theirs, "wecom": "wc", "recipients": [], "message": 5, "colour": "red"}
    found = _details(client.post(URL, json={"values": values}, headers=headers["editor"]))
    assert found == {
        "parameters.colour": "not a parameter of this template "
        "(parameters: jiandaoyun, wecom, entry_id, recipients, message)",
        "parameters.jiandaoyun": f"no connection {theirs} in this project or shared with it",
        "parameters.entry_id": "required",
        "parameters.recipients": "[] should be non-empty",
        "parameters.message": "5 is not of type 'string'",
    }
    values = {"jiandaoyun": "wc", "wecom": "wc", "entry_id": "f", "recipients": ["a"]}
    found = _details(client.post(URL, json={"values": values}, headers=headers["editor"]))
    assert found == {
        "parameters.jiandaoyun": "connection 'wc' is a wecom connection; "
        "this parameter needs a jiandaoyun connection"
    }
    assert _details(client.post(URL, json={"values": [1]}, headers=headers["editor"])) == {
        "values": "must be an object of parameter values"
    }
    assert _details(client.post(URL, json={"values": {}, "colour": 1}, headers=headers["editor"])) == {
        "$.colour": "unknown field (fields: values, project, name)"
    }
    assert _details(client.post(URL, json={"values": values, "name": 7}, headers=headers["editor"])) == {
        "name": "must be a string"
    }
    broken = values | {"jiandaoyun": dummy_connection(runtime, "jdy", "jiandaoyun"), "message": "{{ oops "}
    found = _details(client.post(URL, json={"values": broken}, headers=headers["editor"]))
    assert list(found) == ["$.steps[0].input.content"]  # the filled recipe's own problem, as a save says


def test_who_may_install_where(client: Any, runtime: Runtime, headers: dict[str, dict[str, str]]) -> None:
    values = _values(runtime)
    refused = client.post(URL, json={"values": values}, headers=headers["viewer"])
    assert refused.status_code == 403
    unknown = client.post("/api/v1/templates/nope/install", json={"values": {}}, headers=headers["editor"])
    assert unknown.status_code == 404
    sales = project_service.create_project(runtime, "sales", actor="t")["id"]
    hidden = client.post(URL, json={"values": values, "project": "sales"}, headers=headers["editor"])
    assert hidden.status_code == 404 and hidden.get_json()["error"]["message"] == "project sales not found"
    with runtime.db.transaction() as session:
        lead = create_user(session, "lead@example.com", "viewer")
        token = {"Authorization": f"Bearer {create_token(session, lead, 't')[1]}"}
    project_service.set_member(runtime, sales, "lead@example.com", "editor", actor="t")
    # an editor of sales, a viewer of default: installs in sales only, with sales' connections
    assert client.post(URL, json={"values": values}, headers=token).status_code == 403
    found = _details(client.post(URL, json={"values": values, "project": sales}, headers=token))
    assert set(found) == {"parameters.jiandaoyun", "parameters.wecom"}  # default's connections
    values = {**values, "jiandaoyun": dummy_connection(runtime, "s-jdy", "jiandaoyun", sales)}
    values["wecom"] = dummy_connection(runtime, "s-wc", "wecom", sales)
    made = client.post(URL, json={"values": values, "project": "sales"}, headers=token)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["project_id"] == sales


def test_export_a_recipe_as_a_template(
    client: Any, runtime: Runtime, headers: dict[str, dict[str, str]]
) -> None:
    made = client.post(URL, json={"values": _values(runtime)}, headers=headers["editor"]).get_json()
    url = f"/api/v1/recipes/{made['id']}/template"
    answer = client.get(url, headers=headers["viewer"])
    assert answer.status_code == 200, answer.get_json()
    template = answer.get_json()
    assert template["recipe"]["trigger"]["connection"] == {"$param": "jiandaoyun"}
    assert template["recipe"]["trigger"]["config"]["entry_id"] == "form-1"
    assert check_document(template, template["name"]) == []
    named = client.get(f"{url}?name=leads-wecom&category=leads", headers=headers["viewer"]).get_json()
    assert (named["name"], named["category"]) == ("leads-wecom", "leads")
    bad = client.get(f"{url}?category=gossip", headers=headers["viewer"])
    assert bad.status_code == 400 and "category: one of" in bad.get_json()["error"]["message"]
    bad = client.get(f"{url}?name=Not%20A%20Name", headers=headers["viewer"])
    assert bad.status_code == 400
    assert client.get("/api/v1/recipes/999/template", headers=headers["viewer"]).status_code == 404
