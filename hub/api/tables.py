"""Lookup tables: editors define tables and replace their rows (JSON or CSV); viewers read them."""

from __future__ import annotations

from flask import Response, g, request
from sqlalchemy import select

from hub.api import api_blueprint
from hub.api.auth import requires
from hub.api.common import ApiError, body, body_object, int_arg, reply
from hub.api.guard import in_projects, target_project
from hub.current import runtime
from hub.db.models import Project
from hub.services import tables as service
from hub.utilities import table_csv, tables

CSV_TYPES = ("text/csv", "application/csv")


@api_blueprint.get("/tables")
@requires("viewer")
def table_list_all() -> Response:
    """The tables of the caller's projects (of `?project=` when given)."""
    with runtime().db.read() as session:
        projects = session.scalars(in_projects(select(Project.id), Project.id))
        return reply({"tables": [t.view() for t in tables.list_all(session, list(projects))]})


@api_blueprint.post("/tables")
@requires("editor")
def table_create() -> Response:
    data = body_object()
    rt = runtime()
    with rt.db.read() as session:  # a new table goes to {"project": id or name}, else the default one
        project_id = target_project(session, g.access, data.get("project"), "editor")
    info = service.create_table(
        rt,
        actor=g.actor,
        name=data.get("name"),
        columns=data.get("columns"),
        key=data.get("key"),
        project_id=project_id,
    )
    return reply(info.view(), 201)


@api_blueprint.get("/tables/<table_name>")
@requires("viewer")
def table_get_one(table_name: str) -> Response:
    with runtime().db.read() as session:
        return reply(tables.get(session, table_name).view())


@api_blueprint.delete("/tables/<table_name>")
@requires("editor")
def table_delete(table_name: str) -> Response:
    service.delete_table(runtime(), actor=g.actor, name=table_name)
    return Response(status=204)


@api_blueprint.put("/tables/<table_name>/rows")
@requires("editor")
def table_replace_rows(table_name: str) -> Response:
    """Replace all rows: a JSON list of row objects (or {"rows": [...]}), or CSV with a header row."""
    if (request.mimetype or "").lower() in CSV_TYPES:
        info = service.replace_rows_csv(runtime(), actor=g.actor, name=table_name, raw=request.get_data())
        return reply(info.view())
    data = body()
    rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise ApiError(422, "invalid", "$.rows: give a list of row objects", {"path": "$.rows"})
    return reply(service.replace_rows(runtime(), actor=g.actor, name=table_name, rows=rows).view())


@api_blueprint.get("/tables/<table_name>/rows")
@requires("viewer")
def table_rows(table_name: str) -> Response:
    """The rows in table order (JSON, or CSV when the client accepts text/csv before JSON)."""
    offset = int_arg("offset", 0, low=0, high=tables.MAX_ROWS) or 0
    limit = int_arg("limit", None, low=1, high=tables.MAX_ROWS)
    wants_csv = request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
    with runtime().db.read() as session:
        info = tables.get(session, table_name)
        rows = list(tables.read_rows(session, table_name, offset, limit))
    if wants_csv:
        return Response(table_csv.write(info.columns, rows), content_type="text/csv; charset=utf-8")
    return reply({"table": info.name, "columns": info.columns, "key": info.key, "rows": rows})
