"""Recipe templates in the browser: the gallery, a template's page with its steps and install form,
and a recipe exported as a template (the same core as /api/v1/templates)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from hub import jsonutil
from hub.connections import NotFound
from hub.current import runtime
from hub.db.models import Connection
from hub.projects import reachable_connections
from hub.sdk.errors import HubError
from hub.templates import catalogue, export, install
from hub.templates.catalogue import Template
from hub.web import web
from hub.web.auth import page
from hub.web.common import error_map, flash_ok
from hub.web.i18n import connectors
from hub.web.recipe_form import build_view
from hub.web.template_form import build_form, initial_values, read_form
from hub.web.template_preview import preview_document


def category_labels() -> dict[str, str]:
    """The template categories (recipes/template.schema.json) in the page's language, in its order."""
    labels = {
        "leads": _("Leads"),
        "approvals": _("Approvals"),
        "contracts": _("Contracts"),
        "finance": _("Finance"),
        "customers": _("Customers"),
        "support": _("Support"),
        "alerts": _("Alerts"),
        "reports": _("Reports"),
        "marketing": _("Marketing"),
    }
    return {category: labels.get(category, category) for category in catalogue.CATEGORIES}


def _lang() -> str:
    return str(get_locale() or "en")


def _system_labels(names: set[str]) -> dict[str, str]:
    """Connector ids as the page names them ("DingTalk" / "钉钉"); an id when it is not installed."""
    shown = connectors()
    labels = {}
    for name in names:
        connector = shown.get(name)
        labels[name] = (connector.name or name) if connector is not None else name
    return labels


@web.get("/templates")
@page("viewer")
def templates_gallery() -> Any:
    lang = _lang()
    found = catalogue.load()
    query = (request.args.get("q") or "").strip()
    category = request.args.get("category") or ""
    system = request.args.get("system") or ""
    systems = _system_labels({s for t in found.values() for s in t.systems})
    shown = catalogue.find(category=category or None, system=system or None, q=query or None)
    cards = [
        {
            "name": t.name,
            "title": t.title(lang),
            "description": t.description(lang),
            "category": t.category,
            "systems": [(s, systems.get(s, s)) for s in t.systems],
        }
        for t in sorted(shown, key=lambda t: t.title(lang).lower())
    ]
    return render_template(
        "templates.html",
        cards=cards,
        total=len(found),
        categories=category_labels(),
        systems=sorted(systems.items(), key=lambda item: item[1].lower()),
        filters={"q": query, "category": category, "system": system},
    )


def _template_or_404(name: str) -> Template:
    found = catalogue.load().get(name)
    if found is None:
        abort(404)
    return found


def _usable_connections(parameters: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """Per connector a parameter needs: (id, name) of the connections the current project may use."""
    wanted = {p.get("connector") for p in parameters if p.get("kind") == "connection"}
    found: dict[str, list[tuple[str, str]]] = {str(c): [] for c in wanted if c}
    if not found:
        return found
    query = select(Connection.id, Connection.name, Connection.connector).where(
        Connection.connector.in_(list(found))
    )
    with runtime().db.transaction() as db:
        for cid, name, connector in db.execute(
            reachable_connections(query, g.project_id).order_by(Connection.name)
        ):
            found[connector].append((str(cid), name))
    return found


def _template_page(
    template: Template,
    values: dict[str, Any],
    errors: dict[str, str],
    recipe_name: str,
    status: int = 200,
) -> Any:
    lang = _lang()
    parameters = template.document.get("parameters") or []
    connections = _usable_connections(parameters)
    labels = _system_labels(set(template.systems) | set(connections))
    form = build_form(parameters, values, errors, connections, labels, lang)
    preview = build_view(preview_document(template, lang), connectors(), {}, None)
    page = render_template(
        "template_page.html",
        template=template,
        title=template.title(lang),
        description=template.description(lang),
        category=category_labels().get(template.category, template.category),
        systems=[(s, labels.get(s, s)) for s in template.systems],
        trigger=preview.doc.get("trigger") or {},
        steps=preview.steps,
        failure_steps=preview.failure_steps,
        form=form,
        recipe_name=recipe_name,
        status_error=status == 422,
    )
    return page, status


@web.get("/templates/<name>")
@page("viewer")
def template_page(name: str) -> Any:
    """A template: what it does, its steps, and the install form (filled with examples on request)."""
    template = _template_or_404(name)
    examples = request.args.get("examples") == "1"
    values = initial_values(template.document.get("parameters") or [], examples=examples)
    return _template_page(template, values, {}, template.title(_lang()))


@web.post("/templates/<name>/install")
@page("editor")
def template_install(name: str) -> Any:
    """Create a draft recipe from the template in the current project, then open it in the editor."""
    template = _template_or_404(name)
    lang = _lang()
    parameters = template.document.get("parameters") or []
    recipe_name = (request.form.get("recipe_name") or "").strip()
    values, shown, errors = read_form(parameters, request.form, _usable_connections(parameters), lang)
    if errors:
        return _template_page(template, shown, dict(errors), recipe_name, 422)
    try:
        recipe_id = install.install(
            runtime(),
            template.name,
            values,
            project=g.project_id,
            actor=g.actor,
            recipe_name=recipe_name or None,
        )
    except NotFound:
        abort(404)
    except HubError as exc:
        return _template_page(template, shown, error_map(exc), recipe_name, 422)
    flash_ok(_("Recipe created from the template as a draft: check it, test it, then enable it."))
    return redirect(url_for("web.recipe_edit", recipe_id=recipe_id))


@web.get("/recipes/<int:recipe_id>/template")
@page("viewer")
def recipe_template(recipe_id: int) -> Any:
    """The recipe's current version as a template document (its connections and literal secrets
    become parameters, as GET /api/v1/recipes/{id}/template answers), downloaded as a file."""
    try:
        found = export.export_recipe(runtime(), recipe_id)
    except NotFound:
        abort(404)
    return Response(
        jsonutil.dumps(found, indent=2) + "\n",
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{found["name"]}.json"'},
    )
