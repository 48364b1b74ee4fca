"""Projects in the browser: the switcher that picks the current project, the list (hub admins create
projects there), and each project's members page (owners give and take roles)."""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from hub.access import PROJECT_ROLES
from hub.current import runtime
from hub.sdk.errors import HubError
from hub.services import projects as service
from hub.web import web
from hub.web.auth import page, safe_next
from hub.web.common import flash_error, flash_ok

AUDIT_PAGE = 200


def visible_projects() -> list[dict[str, Any]]:
    """The projects the signed-in user may see, for the switcher in every page's header."""
    return service.list_projects(runtime(), g.access.projects())


@web.get("/projects")
@page("viewer")
def projects() -> Any:
    return render_template("projects.html", projects=visible_projects())


@web.post("/projects/switch")
@page("viewer")
def project_switch() -> Any:
    """Make another visible project the current one; its pages show only what it holds."""
    chosen = request.form.get("project", type=int)
    visible = g.access.projects()
    if chosen is None or (visible is not None and chosen not in visible):
        abort(404)
    session["project"] = chosen
    return redirect(safe_next(request.form.get("next")))


@web.post("/projects")
@page("admin")
def project_create() -> Any:
    try:
        created = service.create_project(runtime(), request.form.get("name"), actor=g.actor)
    except HubError as exc:
        flash_error(exc)
    else:
        flash_ok(_("Project “%(name)s” created.", name=created["name"]))
    return redirect(url_for("web.projects"))


@web.get("/projects/<int:project_id>/members")
@page("viewer")
def project_members(project_id: int) -> Any:
    rt = runtime()
    return render_template(
        "project_members.html",
        project=service.get_project(rt, project_id),
        members=service.list_members(rt, project_id),
        roles=PROJECT_ROLES,
        owner=g.access.allows(project_id, "owner"),
    )


@web.post("/projects/<int:project_id>/members")
@page("owner")
def project_member_set(project_id: int) -> Any:
    """Give a user (by email) a role here, adding them when they are not a member yet."""
    email, role = (request.form.get("email") or "").strip(), request.form.get("role")
    try:
        service.set_member(runtime(), project_id, email, role, actor=g.actor)
    except HubError as exc:
        flash_error(exc)
    else:
        flash_ok(_("%(email)s is now %(role)s here.", email=email, role=role))
    return redirect(url_for("web.project_members", project_id=project_id))


@web.post("/projects/<int:project_id>/members/<int:user_id>/remove")
@page("owner")
def project_member_remove(project_id: int, user_id: int) -> Any:
    try:
        service.remove_member(runtime(), project_id, user_id, actor=g.actor)
    except HubError as exc:
        flash_error(exc)
    else:
        flash_ok(_("Member removed."))
    return redirect(url_for("web.project_members", project_id=project_id))


@web.app_context_processor
def inject_projects() -> dict[str, Any]:
    """The switcher's choices and the current project, for the header of every signed-in page."""
    if g.get("web_user") is None or g.get("access") is None:
        return {"switcher": [], "current_project": None, "current_role": None}
    project_id = g.get("project_id")
    role = "admin" if g.access.is_admin else g.access.role_in(project_id) if project_id else None
    return {"switcher": visible_projects(), "current_project": project_id, "current_role": role or ""}


@web.get("/audit")
@page("admin")
def audit_log() -> Any:
    """The latest audit entries, all or one project's (`?project=<id>`)."""
    chosen = request.args.get("project", type=int)
    entries = service.audit_entries(runtime(), chosen, limit=AUDIT_PAGE)
    return render_template("audit.html", entries=entries, projects=visible_projects(), chosen=chosen)
