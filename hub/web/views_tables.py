"""Lookup tables: viewers browse and download them; editors create one (optionally from a CSV, whose
header then names the columns), replace its rows by pasting or uploading CSV, and delete it."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from hub.connections import NotFound
from hub.current import runtime
from hub.sdk.errors import HubError
from hub.services import tables as service
from hub.utilities import table_csv, tables
from hub.web import web
from hub.web.auth import page
from hub.web.common import error_map, flash_error, flash_ok

SHOWN_ROWS = 200  # rows drawn on the page; the CSV download has them all
EDITABLE_ROWS = 5_000  # up to this many, the rows are offered in the text box for editing


def _csv_from_form() -> bytes | None:
    """The uploaded CSV file if one was chosen, else the pasted text; None when neither."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        return upload.read()
    pasted = request.form.get("csv") or ""
    return pasted.encode("utf-8") if pasted.strip() else None


def _listing(errors: dict[str, str] | None = None, status: int = 200) -> Any:
    with runtime().db.read() as session:
        found = tables.list_all(session, [g.project_id])
    return render_template("tables.html", tables=found, errors=errors or {}, form=request.form), status


@web.get("/tables")
@page("viewer")
def lookup_tables() -> Any:
    return _listing()


@web.post("/tables")
@page("editor")
def lookup_table_create() -> Any:
    rt = runtime()
    name = (request.form.get("name") or "").strip()
    raw = _csv_from_form()
    columns = [c.strip() for c in (request.form.get("columns") or "").split(",") if c.strip()]
    try:
        if not columns and raw is not None:
            columns = table_csv.header(table_csv.decode(raw))
        key = (request.form.get("key") or "").strip() or (columns[0] if columns else "")
        service.create_table(rt, actor=g.actor, name=name, columns=columns, key=key, project_id=g.project_id)
    except HubError as exc:
        return _listing(error_map(exc), status=422)
    if raw is not None:
        try:
            service.replace_rows_csv(rt, actor=g.actor, name=name, raw=raw)
        except HubError as exc:
            message = exc.message
            flash_error(_("The table was created, but its rows were not loaded: %(error)s", error=message))
            return redirect(url_for("web.lookup_table", table_name=name))
    flash_ok(_("Table %(name)s created.", name=name))
    return redirect(url_for("web.lookup_table", table_name=name))


def _table_page(name: str, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    with runtime().db.read() as session:
        try:
            info = tables.get(session, name)
        except NotFound:
            abort(404)
        rows = list(tables.read_rows(session, name, 0, SHOWN_ROWS))
        editable = info.row_count <= EDITABLE_ROWS
        text = table_csv.write(info.columns, tables.read_rows(session, name)) if editable else ""
    if request.method == "POST":
        text = request.form.get("csv", text)
    return render_template(
        "table.html", table=info, rows=rows, csv_text=text, editable=editable, errors=errors or {}
    ), status


@web.get("/tables/<table_name>")
@page("viewer")
def lookup_table(table_name: str) -> Any:
    return _table_page(table_name)


@web.get("/tables/<table_name>/csv")
@page("viewer")
def lookup_table_csv(table_name: str) -> Response:
    with runtime().db.read() as session:
        try:
            info = tables.get(session, table_name)
        except NotFound:
            abort(404)
        text = table_csv.write(info.columns, tables.read_rows(session, table_name))
    headers = {"Content-Disposition": f'attachment; filename="{table_name}.csv"'}
    return Response("\ufeff" + text, content_type="text/csv; charset=utf-8", headers=headers)


@web.post("/tables/<table_name>/rows")
@page("editor")
def lookup_table_rows(table_name: str) -> Any:
    raw = _csv_from_form()
    if raw is None:
        return _table_page(table_name, {"$": _("Paste CSV text or choose a CSV file.")}, status=422)
    try:
        info = service.replace_rows_csv(runtime(), actor=g.actor, name=table_name, raw=raw)
    except NotFound:
        abort(404)
    except HubError as exc:
        return _table_page(table_name, {"$": exc.message}, status=422)
    flash_ok(_("%(count)s rows saved.", count=info.row_count))
    return redirect(url_for("web.lookup_table", table_name=table_name))


@web.post("/tables/<table_name>/delete")
@page("editor")
def lookup_table_delete(table_name: str) -> Any:
    try:
        service.delete_table(runtime(), actor=g.actor, name=table_name)
    except HubError as exc:
        flash_error(exc)
        return redirect(url_for("web.lookup_tables"))
    flash_ok(_("Table %(name)s deleted.", name=table_name))
    return redirect(url_for("web.lookup_tables"))
