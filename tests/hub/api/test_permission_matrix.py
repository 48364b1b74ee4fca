"""Every route of the app, API and UI, checked for every project role in its own project and in
another one, against the table in tests/permission_matrix.py. The routes come from `app.url_map`,
so a route added without a table entry fails here by name.

Only the access check runs (the route's guard inside a request context), never the view, so a
refused or allowed DELETE changes nothing and every combination is tried on the same objects.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, session
from sqlalchemy import delete
from werkzeug.exceptions import HTTPException

from hub import web_sessions
from hub.access import DEFAULT_PROJECT_ID, PROJECT_ROLES, rank
from hub.api.auth import authenticate_request
from hub.api.common import ApiError
from hub.db.models import ProjectMember
from hub.runtime import Runtime
from hub.services import connections as connection_service
from hub.services import projects as project_service
from hub.services import recipes as recipe_service
from hub.services import tables as table_service
from hub.users import create_token, create_user
from hub.web.auth import check_page, current_user
from tests.hub.api.conftest import two_step_recipe
from tests.permission_matrix import ROUTES, URL_VALUES

PRINCIPALS = (*PROJECT_ROLES, "nobody", "admin")
ALLOWED = "allowed"


def _objects(rt: Runtime, project: str) -> dict[str, Any]:
    """A connection, a recipe using it, a run of it and a lookup table in a new project."""
    project_id = project_service.create_project(rt, project, actor="tests")["id"]
    fields = {"username": "ada", "password": "pa55word-VERY-secret"}
    connection = connection_service.create_connection(
        rt,
        actor="tests",
        name=f"{project}-kit",
        connector_id="testkit",
        config=fields,
        limits={},
        project_id=project_id,
    )
    document = two_step_recipe(name=f"{project} recipe")
    document["trigger"]["connection"] = f"{project}-kit"
    for step in document["steps"]:
        step["connection"] = f"{project}-kit"
    recipe = recipe_service.save_recipe(rt, document, actor="tests", project_id=project_id)
    run_id = recipe_service.run_test(rt, recipe.id, {"v": 1}, dry_run=True, actor="tests")
    table = table_service.create_table(
        rt, actor="tests", name=f"{project}-table", columns=["k"], key="k", project_id=project_id
    )
    return {
        "project_id": project_id,
        "connection_id": connection["id"],
        "recipe_id": recipe.id,
        "run_id": run_id,
        "scope": f"recipe:{recipe.id}",
        "table_name": table.name,
    }


@pytest.fixture
def world(runtime: Runtime, kit: Any) -> dict[str, Any]:
    """Projects `own` and `other`; a user per role in `own` only, one in no project, a hub admin."""
    found: dict[str, Any] = {"own": _objects(runtime, "own"), "other": _objects(runtime, "other")}
    tokens: dict[str, str] = {}
    sessions: dict[str, str] = {}
    with runtime.db.transaction() as db:
        for principal in PRINCIPALS:
            role = "admin" if principal == "admin" else "viewer"
            user = create_user(db, f"{principal}@example.com", role, password="a long passphrase")
            db.execute(delete(ProjectMember).where(ProjectMember.user_id == user.id))
            if principal in PROJECT_ROLES:
                db.add(ProjectMember(project_id=found["own"]["project_id"], user_id=user.id, role=principal))
            tokens[principal] = create_token(db, user, "matrix")[1]
            sessions[principal] = web_sessions.start(db, user.id, 3600)
            found["user_id"] = user.id
            found["token_id"] = create_token(db, user, "spare")[0].id
    found["tokens"], found["sessions"] = tokens, sessions
    return found


def _expected(needed: str, principal: str, names_object: bool, target: str) -> str | int:
    if principal == "admin":
        return ALLOWED
    if needed == "admin" or principal == "nobody" or rank(principal) < rank(needed):
        return 403
    return 404 if names_object and target == "other" else ALLOWED


def _api_outcome(app: Flask, url: str, method: str, token: str, needed: str | None) -> str | int:
    with app.test_request_context(url, method=method, headers={"Authorization": f"Bearer {token}"}):
        try:
            authenticate_request(needed)
        except ApiError as exc:
            return exc.status
    return ALLOWED


def _page_outcome(app: Flask, url: str, method: str, session_id: str, needed: str | None) -> str | int:
    with app.test_request_context(url, method=method):
        session["sid"] = session_id
        assert current_user() is not None
        try:
            if needed is None:  # no declared role: the blueprint refuses the page (fail closed)
                return 403
            check_page(needed)
        except HTTPException as exc:
            return exc.code or 500
    return ALLOWED


def _guarded_routes(app: Flask) -> list[Any]:
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule))
    unlisted = [f"{r.endpoint} ({r.rule})" for r in rules if r.endpoint not in ROUTES]
    assert not unlisted, "add these routes to tests/permission_matrix.py ROUTES: " + ", ".join(unlisted)
    return [r for r in rules if ROUTES[r.endpoint] != "public"]


def test_every_route_has_an_entry_and_declares_that_role(app: Flask) -> None:
    for rule in _guarded_routes(app):
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "required_role", None) == ROUTES[rule.endpoint], rule.endpoint
    public = [e for e, role in ROUTES.items() if role == "public" and e.startswith(("api.", "web."))]
    for endpoint in public:
        assert getattr(app.view_functions.get(endpoint), "public", endpoint == "web.static"), endpoint


def test_each_role_in_its_own_project_and_in_another(app: Flask, world: dict[str, Any]) -> None:
    adapter = app.url_map.bind("localhost")
    wrong = []
    checked = 0
    for rule in _guarded_routes(app):
        needed = ROUTES[rule.endpoint]
        declared = getattr(app.view_functions[rule.endpoint], "required_role", None)
        object_args = {a for a in rule.arguments if a in world["own"]}
        for target in ("own", "other") if object_args else ("own",):
            values = {}
            for argument in rule.arguments:
                if argument in world[target]:
                    values[argument] = world[target][argument]
                elif argument in ("user_id", "token_id"):
                    values[argument] = world[argument]
                else:
                    assert argument in URL_VALUES, f"{rule.endpoint}: add '{argument}' to URL_VALUES"
                    values[argument] = URL_VALUES[argument]
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                url = adapter.build(rule.endpoint, values, method=method)
                for principal in PRINCIPALS:
                    if rule.endpoint.startswith("api."):
                        got = _api_outcome(app, url, method, world["tokens"][principal], declared)
                    else:
                        got = _page_outcome(app, url, method, world["sessions"][principal], declared)
                    want = _expected(needed, principal, bool(object_args), target)
                    checked += 1
                    if got != want:
                        wrong.append(
                            f"{method} {url} as {principal} ({target} project): {got}, expected {want}"
                        )
    assert not wrong, "\n".join(wrong)
    assert checked > 500


def test_the_default_project_keeps_every_global_role(
    app: Flask, runtime: Runtime, world: dict[str, Any]
) -> None:
    """Users made with a global editor or viewer role act so in the default project, as before."""
    with runtime.db.transaction() as db:
        editor = create_user(db, "old-editor@example.com", "editor")
        token = create_token(db, editor, "t")[1]
        member = db.get(ProjectMember, (DEFAULT_PROJECT_ID, editor.id))
        assert member is not None and member.role == "editor"
    assert _api_outcome(app, "/api/v1/recipes", "POST", token, "editor") == ALLOWED
    assert _api_outcome(app, "/api/v1/users", "GET", token, "admin") == 403
