"""Projects and per-project roles through the API: sales operations and finance keep their recipes
and credentials apart; the default project holds everything that existed before."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from sqlalchemy import select

from hub.db.models import AuditEntry, Recipe, User
from hub.runtime import Runtime
from hub.users import create_token, create_user
from tests.hub.api.conftest import audit_log, make_connection, two_step_recipe

H = dict[str, str]


def _bearer(runtime: Runtime, email: str, **scope: Any) -> H:
    with runtime.db.transaction() as session:
        user = session.scalar(select(User).where(User.email == email))
        assert user is not None
        token, raw = create_token(session, user, "tests")
        token.project_id, token.role = scope.get("project_id"), scope.get("role")
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def teams(client: Any, runtime: Runtime, kit: Any, headers: dict[str, H]) -> dict[str, Any]:
    """Projects `sales` and `finance`, a user per role in sales and an editor in finance."""
    admin = headers["admin"]
    found: dict[str, Any] = {"admin": admin}
    for name in ("sales", "finance"):
        answer = client.post("/api/v1/projects", json={"name": name}, headers=admin)
        assert answer.status_code == 201, answer.get_json()
        found[name] = answer.get_json()["id"]
    with runtime.db.transaction() as session:
        for who in ("s-owner", "s-editor", "s-operator", "s-viewer", "f-editor"):
            create_user(session, f"{who}@example.com", "viewer", password="a long passphrase")
    for who, project, role in (
        ("s-owner", "sales", "owner"),
        ("s-editor", "sales", "editor"),
        ("s-operator", "sales", "operator"),
        ("s-viewer", "sales", "viewer"),
        ("f-editor", "finance", "editor"),
    ):
        user_id = _user_id(runtime, f"{who}@example.com")
        answer = client.put(
            f"/api/v1/projects/{found[project]}/members/{user_id}", json={"role": role}, headers=admin
        )
        assert answer.status_code == 200, answer.get_json()
        found[who] = _bearer(runtime, f"{who}@example.com")
    return found


def _user_id(runtime: Runtime, email: str) -> int:
    with runtime.db.transaction() as session:
        found = session.scalar(select(User.id).where(User.email == email))
        assert found is not None
        return found


def _kingdee(client: Any, headers: H, project: int) -> dict[str, Any]:
    config = {
        "base_url": "https://erp.example.com/k3cloud",
        "acct_id": "6123",
        "username": "finance-bot",
        "password": "kd-VERY-secret-pw",
    }
    body = {"name": "finance-kingdee", "connector": "kingdee", "config": config, "project": project}
    answer = client.post("/api/v1/connections", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _kingdee_recipe() -> dict[str, Any]:
    return {
        "name": "leads to receivables",
        "trigger": {"connector": "testkit", "trigger": "inbox", "connection": "kit1", "config": {}},
        "steps": [
            {
                "id": "book",
                "connector": "kingdee",
                "action": "save",
                "connection": "finance-kingdee",
                "input": {"form_id": "AR_receivable", "model": {"FBillNo": "{{ event.v }}"}},
            }
        ],
    }


def test_everything_existing_lands_in_the_default_project(
    client: Any, kit: Any, headers: dict[str, H]
) -> None:
    make_connection(client, headers["editor"])
    created = client.post("/api/v1/recipes", json=two_step_recipe(), headers=headers["editor"]).get_json()
    projects = client.get("/api/v1/projects", headers=headers["viewer"]).get_json()["projects"]
    assert [(p["id"], p["name"], p["recipes"], p["connections"]) for p in projects] == [(1, "default", 1, 1)]
    recipe = client.get(f"/api/v1/recipes/{created['id']}", headers=headers["viewer"]).get_json()
    assert recipe["project_id"] == 1
    members = client.get("/api/v1/projects/1/members", headers=headers["viewer"]).get_json()["members"]
    assert {(m["email"], m["role"]) for m in members} == {
        ("editor@example.com", "editor"),
        ("viewer@example.com", "viewer"),
    }


def _connection(client: Any, headers: H, project: int | str, name: str = "kit1") -> dict[str, Any]:
    fields = {"username": "ada", "password": "pa55word-VERY-secret"}
    body = {"name": name, "connector": "testkit", "config": fields, "project": project}
    answer = client.post("/api/v1/connections", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _recipe(client: Any, headers: H, project: int | str, document: dict[str, Any] | None = None) -> int:
    answer = client.post(
        f"/api/v1/recipes?project={project}", json=document or two_step_recipe(), headers=headers
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def _run(client: Any, headers: H, recipe_id: int) -> dict[str, Any]:
    body = {"event": {"v": "x"}, "dry_run": False}
    answer = client.post(f"/api/v1/recipes/{recipe_id}/test", json=body, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_create_rename_archive(client: Any, runtime: Runtime, teams: dict[str, Any]) -> None:
    admin, sales = teams["admin"], teams["sales"]
    assert client.post("/api/v1/projects", json={"name": "sales"}, headers=admin).status_code == 409
    refused = client.post("/api/v1/projects", json={"name": "12"}, headers=admin)
    assert refused.status_code == 422 and refused.get_json()["error"]["details"]["path"] == "$.name"
    assert client.post("/api/v1/projects", json={"name": "x"}, headers=teams["s-owner"]).status_code == 403
    renamed = client.put(f"/api/v1/projects/{sales}", json={"name": "销售运营"}, headers=teams["s-owner"])
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "销售运营"
    low = client.put(f"/api/v1/projects/{sales}", json={"name": "y"}, headers=teams["s-editor"])
    assert low.status_code == 403
    assert client.post("/api/v1/projects/1/archive", headers=admin).status_code == 409
    _connection(client, teams["s-editor"], sales)
    recipe_id = _recipe(client, teams["s-editor"], "销售运营", two_step_recipe(enabled=True))
    busy = client.post(f"/api/v1/projects/{sales}/archive", headers=teams["s-owner"])
    assert busy.status_code == 409 and str(recipe_id) in busy.get_json()["error"]["message"]
    assert client.post(f"/api/v1/recipes/{recipe_id}/disable", headers=teams["s-operator"]).status_code == 200
    archived = client.post(f"/api/v1/projects/{sales}/archive", headers=teams["s-owner"])
    assert archived.status_code == 200 and archived.get_json()["archived"] is True
    late = client.post(f"/api/v1/recipes?project={sales}", json=two_step_recipe(), headers=teams["s-editor"])
    assert late.status_code == 409
    listed = client.get("/api/v1/projects", headers=admin).get_json()["projects"]
    assert sales not in [p["id"] for p in listed]
    assert ("admin@example.com", "project.create") in audit_log(runtime)
    entries = client.get(f"/api/v1/audit?project={sales}", headers=admin).get_json()["entries"]
    assert {e["action"] for e in entries} >= {"project.rename", "project.archive", "recipe.create"}
    assert all(e["project_id"] == sales for e in entries)


def test_roles_per_project(client: Any, headers: dict[str, H], teams: dict[str, Any]) -> None:
    sales = teams["sales"]
    connection = _connection(client, teams["s-editor"], "sales")
    assert connection["project_id"] == sales
    refused = client.post("/api/v1/recipes", json=two_step_recipe(), headers=teams["s-editor"])
    assert refused.status_code == 403  # no project named: the default one, where s-editor only reads
    recipe_id = _recipe(client, teams["s-editor"], "sales")
    url = f"/api/v1/recipes/{recipe_id}"
    assert client.get(url, headers=teams["s-viewer"]).status_code == 200
    assert client.put(url, json=two_step_recipe(), headers=teams["s-viewer"]).status_code == 403
    assert client.post(f"{url}/enable", headers=teams["s-viewer"]).status_code == 403
    assert client.post(f"{url}/enable", headers=teams["s-operator"]).status_code == 200
    assert client.post(f"{url}/disable", headers=teams["s-operator"]).status_code == 200
    assert client.put(url, json=two_step_recipe(), headers=teams["s-operator"]).status_code == 403
    assert client.put(url, json=two_step_recipe(), headers=teams["s-editor"]).status_code == 200
    for outsider in (teams["f-editor"], headers["viewer"], headers["editor"]):
        hidden = client.get(url, headers=outsider)
        assert hidden.status_code == 404
        missing = client.get("/api/v1/recipes/999999", headers=outsider).get_json()
        assert hidden.get_json()["error"] == {**missing["error"], "message": f"recipe {recipe_id} not found"}
        edit = client.put(url, json=two_step_recipe(), headers=outsider)
        # 403 whatever the id for a caller who is an editor nowhere: it tells nothing of the recipe
        assert edit.status_code == (403 if outsider is headers["viewer"] else 404)
        assert recipe_id not in [
            r["id"] for r in client.get("/api/v1/recipes", headers=outsider).get_json()["recipes"]
        ]
        names = [
            c["name"] for c in client.get("/api/v1/connections", headers=outsider).get_json()["connections"]
        ]
        assert "kit1" not in names
    assert client.get(url, headers=teams["admin"]).status_code == 200
    mine = client.get("/api/v1/projects", headers=teams["s-viewer"]).get_json()["projects"]
    assert sorted(p["name"] for p in mine) == ["default", "sales"]
    detail = client.get(f"/api/v1/projects/{sales}", headers=teams["s-operator"]).get_json()
    assert detail["role"] == "operator"
    assert client.get(f"/api/v1/projects/{teams['finance']}", headers=teams["s-owner"]).status_code == 404
    member = _user_id_of(client, teams, "s-viewer@example.com")
    assert (
        client.put(
            f"/api/v1/projects/{sales}/members/{member}", json={"role": "editor"}, headers=teams["s-editor"]
        ).status_code
        == 403
    )
    bad = client.put(
        f"/api/v1/projects/{sales}/members/{member}", json={"role": "boss"}, headers=teams["s-owner"]
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["details"]["path"] == "$.role"
    assert (
        client.delete(f"/api/v1/projects/{sales}/members/{member}", headers=teams["s-owner"]).status_code
        == 204
    )
    assert client.get(url, headers=teams["s-viewer"]).status_code == 404


def _user_id_of(client: Any, teams: dict[str, Any], email: str) -> int:
    users = client.get("/api/v1/users", headers=teams["admin"]).get_json()["users"]
    return next(u["id"] for u in users if u["email"] == email)


def test_finance_credentials_refused_to_sales_at_save_and_at_run(
    client: Any, runtime: Runtime, teams: dict[str, Any]
) -> None:
    """Finance's 金蝶 connection: a sales recipe may not name it; stored anyway, its step fails."""
    kingdee = _kingdee(client, teams["f-editor"], teams["finance"])
    assert kingdee["project_id"] == teams["finance"] and "kd-VERY-secret-pw" not in str(kingdee)
    _connection(client, teams["s-editor"], "sales")
    refused = client.post("/api/v1/recipes?project=sales", json=_kingdee_recipe(), headers=teams["s-editor"])
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["details"]["path"] == "$.steps[0].connection"
    assert "finance-kingdee" in error["message"] and "another project" in error["message"]
    hidden = f"/api/v1/connections/{kingdee['id']}"
    assert client.get(hidden, headers=teams["s-editor"]).status_code == 404
    assert client.put(f"{hidden}/shares/sales", headers=teams["s-owner"]).status_code == 404
    assert client.put(f"{hidden}/shares/sales", headers=teams["f-editor"]).status_code == 403

    # A recipe document stored by other means (here: written straight into sales) fails at run time.
    _connection(client, teams["f-editor"], "finance", name="fin-kit")
    recipe_id = _recipe(
        client, teams["f-editor"], "finance", _kingdee_recipe() | {"trigger": _testkit_trigger()}
    )
    with runtime.db.transaction() as session:
        recipe = session.get(Recipe, recipe_id)
        assert recipe is not None
        recipe.project_id = teams["sales"]
    with responses.RequestsMock(assert_all_requests_are_fired=False):  # no call may leave the hub
        run = _run(client, teams["s-editor"], recipe_id)
    assert run["status"] == "failed"
    step_error = run["steps"][0]["error"]["message"]
    assert "finance-kingdee" in step_error and "another project" in step_error


def _testkit_trigger() -> dict[str, Any]:
    return {"connector": "testkit", "trigger": "inbox", "config": {}, "connection": "fin-kit"}


def test_a_shared_connection_is_usable_and_read_only(
    client: Any, runtime: Runtime, teams: dict[str, Any]
) -> None:
    kingdee = _kingdee(client, teams["f-editor"], teams["finance"])
    _connection(client, teams["s-editor"], "sales")
    url = f"/api/v1/connections/{kingdee['id']}"
    shared = client.put(f"{url}/shares/sales", headers=teams["admin"])
    assert shared.status_code == 200 and shared.get_json() == {"shared_with": ["sales"]}
    seen = client.get(url, headers=teams["s-viewer"])
    assert seen.status_code == 200 and "kd-VERY-secret-pw" not in seen.get_data(as_text=True)
    assert client.put(url, json={"name": "mine"}, headers=teams["s-editor"]).status_code == 403
    assert client.delete(url, headers=teams["s-owner"]).status_code == 403
    recipe_id = _recipe(client, teams["s-editor"], "sales", _kingdee_recipe())
    unshared = client.delete(f"{url}/shares/sales", headers=teams["admin"])
    assert unshared.status_code == 200 and unshared.get_json() == {"shared_with": []}
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        run = _run(client, teams["s-editor"], recipe_id)
    assert run["status"] == "failed" and "another project" in run["steps"][0]["error"]["message"]
    assert ("admin@example.com", "connection.share") in audit_log(runtime)


def test_operator_replays_a_failed_run_but_cannot_edit(client: Any, kit: Any, teams: dict[str, Any]) -> None:
    from hub.sdk.errors import PermanentError

    _connection(client, teams["s-editor"], "sales")
    recipe_id = _recipe(client, teams["s-editor"], "sales")
    kit.script.append(PermanentError("CRM said no"))
    failed = _run(client, teams["s-editor"], recipe_id)
    assert failed["status"] == "failed"
    assert (
        client.post(f"/api/v1/recipes/{recipe_id}/test", json={}, headers=teams["s-operator"]).status_code
        == 403
    )
    assert (
        client.put(
            f"/api/v1/recipes/{recipe_id}", json=two_step_recipe(), headers=teams["s-operator"]
        ).status_code
        == 403
    )
    replayed = client.post(f"/api/v1/runs/{failed['id']}/replay", json={}, headers=teams["s-operator"])
    assert replayed.status_code == 201, replayed.get_json()
    assert replayed.get_json()["status"] == "succeeded"
    assert (
        client.post(f"/api/v1/runs/{failed['id']}/replay", json={}, headers=teams["s-viewer"]).status_code
        == 403
    )
    assert (
        client.post(f"/api/v1/runs/{failed['id']}/replay", json={}, headers=teams["f-editor"]).status_code
        == 404
    )


def test_project_scoped_tokens(client: Any, runtime: Runtime, teams: dict[str, Any]) -> None:
    _connection(client, teams["s-editor"], "sales")
    _connection(client, teams["f-editor"], "finance", name="fin-kit")
    sales_run = _run(client, teams["s-editor"], _recipe(client, teams["s-editor"], "sales"))
    finance_doc = two_step_recipe()
    finance_doc["trigger"]["connection"] = "fin-kit"
    for step in finance_doc["steps"]:
        step["connection"] = "fin-kit"
    finance_run = _run(client, teams["f-editor"], _recipe(client, teams["f-editor"], "finance", finance_doc))

    scoped = _bearer(runtime, "admin@example.com", project_id=teams["sales"], role="viewer")
    runs = client.get("/api/v1/runs", headers=scoped).get_json()["runs"]
    assert [r["id"] for r in runs] == [sales_run["id"]]
    assert client.get(f"/api/v1/runs/{finance_run['id']}", headers=scoped).status_code == 404
    stats = client.get("/api/v1/stats", headers=scoped).get_json()["recipes"]
    assert list(stats) == [str(sales_run["recipe_id"])]
    assert [p["name"] for p in client.get("/api/v1/projects", headers=scoped).get_json()["projects"]] == [
        "sales"
    ]
    assert client.get("/api/v1/users", headers=scoped).status_code == 403
    assert client.post(f"/api/v1/runs/{sales_run['id']}/replay", json={}, headers=scoped).status_code == 403

    operator = _user_id_of(client, teams, "s-operator@example.com")
    made = f"/api/v1/users/{operator}/tokens"
    too_high = client.post(made, json={"project": "sales", "role": "editor"}, headers=teams["admin"])
    assert too_high.status_code == 422 and too_high.get_json()["error"]["details"]["path"] == "$.role"
    foreign = client.post(made, json={"project": "finance"}, headers=teams["admin"])
    assert foreign.status_code == 422 and foreign.get_json()["error"]["details"]["path"] == "$.project"
    made_ok = client.post(made, json={"project": "sales", "role": "viewer"}, headers=teams["admin"])
    assert made_ok.status_code == 201
    token = {"Authorization": f"Bearer {made_ok.get_json()['token']}"}
    assert client.get(f"/api/v1/runs/{sales_run['id']}", headers=token).status_code == 200
    assert client.post(f"/api/v1/runs/{sales_run['id']}/replay", json={}, headers=token).status_code == 403
    listed = client.get("/api/v1/tokens", headers=teams["admin"]).get_json()["tokens"]
    assert {"project_id": teams["sales"], "role": "viewer"}.items() <= listed[-1].items()


def test_move_a_recipe_between_projects(client: Any, teams: dict[str, Any]) -> None:
    _connection(client, teams["s-editor"], "sales")
    recipe_id = _recipe(client, teams["s-editor"], "sales")
    move = f"/api/v1/recipes/{recipe_id}/move"
    assert client.post(move, json={"project": "finance"}, headers=teams["s-editor"]).status_code == 404
    blocked = client.post(move, json={"project": "finance"}, headers=teams["admin"])
    assert blocked.status_code == 409 and "kit1" in blocked.get_json()["error"]["message"]
    bad = client.post(move, json={}, headers=teams["admin"])
    assert bad.status_code == 422 and bad.get_json()["error"]["details"]["path"] == "$.project"
    connection_id = client.get("/api/v1/connections", headers=teams["s-owner"]).get_json()["connections"][0][
        "id"
    ]
    assert (
        client.put(
            f"/api/v1/connections/{connection_id}/shares/finance", headers=teams["s-owner"]
        ).status_code
        == 200
    )
    moved = client.post(move, json={"project": "finance"}, headers=teams["admin"])
    assert moved.status_code == 200 and moved.get_json()["project_id"] == teams["finance"]
    assert client.get(f"/api/v1/recipes/{recipe_id}", headers=teams["f-editor"]).status_code == 200
    assert client.get(f"/api/v1/recipes/{recipe_id}", headers=teams["s-editor"]).status_code == 404


def test_a_poll_on_a_connection_no_longer_lent_is_refused(
    client: Any, runtime: Runtime, kit: Any, teams: dict[str, Any]
) -> None:
    from hub.engine.poller import poll_recipe

    lent = _connection(client, teams["f-editor"], "finance", name="fin-kit")
    _connection(client, teams["s-editor"], "sales")
    assert (
        client.put(f"/api/v1/connections/{lent['id']}/shares/sales", headers=teams["admin"]).status_code
        == 200
    )
    document = two_step_recipe(enabled=True)
    document["trigger"] = {"connector": "testkit", "trigger": "feed", "connection": "fin-kit", "config": {}}
    recipe_id = _recipe(client, teams["s-editor"], "sales", document)
    assert poll_recipe(runtime, recipe_id).get("error") is None and len(kit.polls) == 1
    client.delete(f"/api/v1/connections/{lent['id']}/shares/sales", headers=teams["admin"])
    refused = poll_recipe(runtime, recipe_id)
    assert "fin-kit" in refused["error"] and "another project" in refused["error"]
    assert len(kit.polls) == 1  # the finance credentials were not used again


def test_a_named_secret_opens_only_in_its_projects_recipes(
    client: Any, kit: Any, teams: dict[str, Any]
) -> None:
    made = client.post(
        "/api/v1/secrets",
        json={"name": "KINGDEE_APP_SECRET", "value": "kd-app-secret-0042", "project": "finance"},
        headers=teams["admin"],
    )
    assert made.status_code == 201
    names = [
        s["name"] for s in client.get("/api/v1/secrets", headers=teams["f-editor"]).get_json()["secrets"]
    ]
    assert names == ["KINGDEE_APP_SECRET"]
    assert client.get("/api/v1/secrets", headers=teams["s-viewer"]).get_json()["secrets"] == []
    uses_secret = two_step_recipe()
    uses_secret["steps"][0]["input"] = {"value": "{{ secrets.KINGDEE_APP_SECRET }}"}
    _connection(client, teams["s-editor"], "sales")
    sales_run = _run(client, teams["s-editor"], _recipe(client, teams["s-editor"], "sales", uses_secret))
    assert sales_run["status"] == "failed" and kit.calls == []
    assert "no secret named 'KINGDEE_APP_SECRET'" in sales_run["steps"][0]["error"]["message"]
    finance_doc = json.loads(json.dumps(uses_secret).replace('"kit1"', '"fin-kit"'))
    _connection(client, teams["f-editor"], "finance", name="fin-kit")
    finance_run = _run(client, teams["f-editor"], _recipe(client, teams["f-editor"], "finance", finance_doc))
    assert finance_run["status"] == "succeeded"
    assert kit.calls[0]["inputs"]["value"] == "kd-app-secret-0042"


def test_a_moved_recipe_runs_with_its_new_projects_secrets(
    client: Any, kit: Any, teams: dict[str, Any]
) -> None:
    """Runs read the recipe's project with its cached version: a move must reach the next run."""
    secret = {"name": "KINGDEE_APP_SECRET", "value": "kd-app-secret-0042", "project": "finance"}
    assert client.post("/api/v1/secrets", json=secret, headers=teams["admin"]).status_code == 201
    uses_secret = two_step_recipe()
    uses_secret["steps"][0]["input"] = {"value": "{{ secrets.KINGDEE_APP_SECRET }}"}
    connection = _connection(client, teams["s-editor"], "sales")
    recipe_id = _recipe(client, teams["s-editor"], "sales", uses_secret)
    assert _run(client, teams["s-editor"], recipe_id)["status"] == "failed"  # not sales' secret
    shared = client.put(f"/api/v1/connections/{connection['id']}/shares/finance", headers=teams["s-owner"])
    assert shared.status_code == 200
    moved = client.post(
        f"/api/v1/recipes/{recipe_id}/move", json={"project": "finance"}, headers=teams["admin"]
    )
    assert moved.status_code == 200
    assert _run(client, teams["f-editor"], recipe_id)["status"] == "succeeded"
    assert kit.calls[0]["inputs"]["value"] == "kd-app-secret-0042"


def _fx_rates(client: Any, teams: dict[str, Any]) -> None:
    """A finance table `fx-rates` (currency -> rate), made and filled by finance's editor."""
    table = {"name": "fx-rates", "columns": ["currency", "rate"], "key": "currency", "project": "finance"}
    made = client.post("/api/v1/tables", json=table, headers=teams["f-editor"])
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["project_id"] == teams["finance"]
    rows = [{"currency": "USD", "rate": "7.1"}]
    assert client.put("/api/v1/tables/fx-rates/rows", json=rows, headers=teams["f-editor"]).status_code == 200


def test_a_lookup_table_is_invisible_to_another_projects_tokens(
    client: Any, runtime: Runtime, teams: dict[str, Any]
) -> None:
    _fx_rates(client, teams)
    names = [t["name"] for t in client.get("/api/v1/tables", headers=teams["f-editor"]).get_json()["tables"]]
    assert names == ["fx-rates"]
    assert client.get("/api/v1/tables", headers=teams["s-viewer"]).get_json()["tables"] == []
    assert client.get("/api/v1/tables?project=finance", headers=teams["s-owner"]).status_code == 404
    assert client.get("/api/v1/tables?project=sales", headers=teams["s-viewer"]).get_json()["tables"] == []
    missing = client.get("/api/v1/tables/no-such-table", headers=teams["s-owner"])
    for method, url in (
        ("GET", "/api/v1/tables/fx-rates"),
        ("GET", "/api/v1/tables/fx-rates/rows"),
        ("PUT", "/api/v1/tables/fx-rates/rows"),
        ("DELETE", "/api/v1/tables/fx-rates"),
    ):
        hidden = client.open(url, method=method, json=[], headers=teams["s-owner"])
        assert hidden.status_code == 404 == missing.status_code, (method, url)
        # the same answer as for a table that does not exist at all: nothing says it does
        assert json.dumps(hidden.get_json()) == json.dumps(missing.get_json()).replace(
            "no-such-table", "fx-rates"
        )
    assert client.get("/api/v1/tables/fx-rates/rows", headers=teams["f-editor"]).get_json()["rows"] == [
        {"currency": "USD", "rate": "7.1"}
    ]
    body = {"name": "quotas", "columns": ["k"], "key": "k", "project": "finance"}
    assert client.post("/api/v1/tables", json=body, headers=teams["s-editor"]).status_code == 404
    body["project"] = "sales"
    assert client.post("/api/v1/tables", json=body, headers=teams["s-viewer"]).status_code == 403
    made = client.post("/api/v1/tables", json=body, headers=teams["s-editor"])
    assert made.status_code == 201 and made.get_json()["project_id"] == teams["sales"]
    assert client.delete("/api/v1/tables/quotas", headers=teams["s-viewer"]).status_code == 403
    assert client.delete("/api/v1/tables/quotas", headers=teams["s-editor"]).status_code == 204
    with runtime.db.read() as session:  # the audit log is read per project: entries name the table's
        entries = session.execute(
            select(AuditEntry.action, AuditEntry.target_id, AuditEntry.project_id)
            .where(AuditEntry.target_type == "table")
            .order_by(AuditEntry.id)
        ).all()
    assert entries == [
        ("table.create", "fx-rates", teams["finance"]),
        ("table.rows_replace", "fx-rates", teams["finance"]),
        ("table.create", "quotas", teams["sales"]),
        ("table.delete", "quotas", teams["sales"]),
    ]


def test_a_lookup_table_opens_only_in_its_projects_recipes(
    client: Any, kit: Any, teams: dict[str, Any]
) -> None:
    _fx_rates(client, teams)
    finds = two_step_recipe()
    finds["steps"][0] = {
        "id": "a",
        "connector": "lookup",
        "action": "find",
        "input": {"table": "fx-rates", "where": {"currency": "USD"}},
    }
    finds["steps"][1]["input"] = {"value": "{{ steps.a.row.rate }}"}
    reads = two_step_recipe()
    reads["steps"][0]["input"] = {"value": "{{ lookup('fx-rates', 'USD', 'rate') }}"}
    _connection(client, teams["s-editor"], "sales")
    sales_find = _run(client, teams["s-editor"], _recipe(client, teams["s-editor"], "sales", finds))
    assert sales_find["status"] == "failed" and kit.calls == []
    error = sales_find["steps"][0]["error"]["message"]
    assert error == "lookup.find: no table named 'fx-rates' in this project"
    sales_read = _run(client, teams["s-editor"], _recipe(client, teams["s-editor"], "sales", reads))
    assert sales_read["status"] == "failed" and kit.calls == []
    assert "lookup: no table named 'fx-rates' in this project" in sales_read["steps"][0]["error"]["message"]

    _connection(client, teams["f-editor"], "finance", name="fin-kit")
    for document in (finds, reads):
        finance_doc = json.loads(json.dumps(document).replace('"kit1"', '"fin-kit"'))
        run = _run(client, teams["f-editor"], _recipe(client, teams["f-editor"], "finance", finance_doc))
        assert run["status"] == "succeeded", run
    assert [c["inputs"]["value"] for c in kit.calls] == ["7.1", "7.1", "7.1+"]
