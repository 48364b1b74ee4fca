"""`hub projects ...`: projects, their members and moving recipes, from the command line (as `cli`)."""

from __future__ import annotations

from typing import Any

import click

from hub.access import DEFAULT_PROJECT_ID, PROJECT_ROLES
from hub.sdk.errors import HubError


def _rt() -> Any:
    from hub.cli import _runtime

    return _runtime()


def project_ref(rt: Any, project: str | None) -> int:
    """The id of the live project named or numbered `project` (the default project when None)."""
    from hub.projects import live_project

    if project is None:
        return DEFAULT_PROJECT_ID
    try:
        with rt.db.transaction() as session:
            return live_project(session, project).id
    except HubError as exc:
        raise click.ClickException(exc.message) from exc


def _run(action: Any) -> Any:
    try:
        return action()
    except HubError as exc:
        raise click.ClickException(exc.message) from exc


@click.group()
def projects() -> None:
    """Manage projects, their members and which project a recipe belongs to."""


@projects.command("list")
@click.option("--archived", is_flag=True, help="Include archived projects.")
def projects_list(archived: bool) -> None:
    """Print id, name, recipe and connection counts of each project."""
    from hub.services.projects import list_projects

    for p in list_projects(_rt(), None, archived=archived):
        state = " (archived)" if p["archived"] else ""
        click.echo(f"{p['id']}\t{p['name']}{state}\trecipes={p['recipes']}\tconnections={p['connections']}")


@projects.command("create")
@click.argument("name")
def projects_create(name: str) -> None:
    """Create a project named NAME; prints its id."""
    from hub.services.projects import create_project

    click.echo(_run(lambda: create_project(_rt(), name, actor="cli"))["id"])


@projects.command("rename")
@click.argument("project")
@click.argument("name")
def projects_rename(project: str, name: str) -> None:
    """Rename PROJECT (id or name) to NAME."""
    from hub.services.projects import rename_project

    _run(lambda: rename_project(_rt(), project, name, actor="cli"))


@projects.command("archive")
@click.argument("project")
def projects_archive(project: str) -> None:
    """Archive PROJECT (its recipes must all be disabled)."""
    from hub.services.projects import archive_project

    _run(lambda: archive_project(_rt(), project, actor="cli"))


@projects.command("members")
@click.argument("project")
def projects_members(project: str) -> None:
    """Print the members of PROJECT and their roles."""
    from hub.services.projects import list_members

    for member in _run(lambda: list_members(_rt(), project)):
        click.echo(f"{member['email']}\t{member['role']}")


@projects.command("add-member")
@click.argument("project")
@click.argument("email")
@click.option("--role", type=click.Choice(PROJECT_ROLES), required=True)
def projects_add_member(project: str, email: str, role: str) -> None:
    """Give EMAIL a role in PROJECT (adding them, or changing their role)."""
    from hub.services.projects import set_member

    _run(lambda: set_member(_rt(), project, email, role, actor="cli"))


@projects.command("remove-member")
@click.argument("project")
@click.argument("email")
def projects_remove_member(project: str, email: str) -> None:
    """Take EMAIL out of PROJECT."""
    from hub.services.projects import remove_member

    _run(lambda: remove_member(_rt(), project, email, actor="cli"))


@projects.command("move-recipe")
@click.argument("recipe_id", type=int)
@click.argument("project")
def projects_move_recipe(recipe_id: int, project: str) -> None:
    """Move recipe RECIPE_ID to PROJECT (refused while it uses connections PROJECT cannot reach)."""
    from hub.services.projects import move_recipe

    _run(lambda: move_recipe(_rt(), recipe_id, project, actor="cli"))


@projects.command("share-connection")
@click.argument("connection_id", type=int)
@click.argument("project")
def projects_share_connection(connection_id: int, project: str) -> None:
    """Let recipes of PROJECT use connection CONNECTION_ID (its secrets stay unreadable there)."""
    from hub.services.projects import share_connection

    _run(lambda: share_connection(_rt(), connection_id, project, actor="cli"))
