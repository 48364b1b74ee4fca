"""`hub templates ...`: browse the recipe template catalogue, install a template as a draft recipe,
export a recipe as a template (hub.templates)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from hub import jsonutil
from hub.sdk.errors import HubError, RecipeProblems


def _rt() -> Any:
    from hub.cli import _runtime

    return _runtime()


def _catalogue() -> Any:
    """hub.templates.catalogue, its files checked (a broken file is named, not a traceback)."""
    from hub.templates import catalogue

    try:
        catalogue.load()
    except catalogue.TemplateError as exc:
        raise click.ClickException(exc.message) from exc
    return catalogue


def parse_setting(text: str, parameters: dict[str, Any]) -> tuple[str, Any]:
    """`key=value`: the value read as JSON when it parses (12, true, ["a"]), else the text itself;
    for a parameter whose schema says `"type": "string"` always the text (an id such as 0123 stays
    one), unless it is written as a JSON string ("...")."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise click.BadParameter(f"'{text}' is not key=value", param_hint="--set")
    parameter = parameters.get(key)
    textual = parameter is not None and parameter.kind == "value" and parameter.schema.get("type") == "string"
    if textual and not raw.startswith('"'):
        return key, raw
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


@click.group()
def templates() -> None:
    """Browse recipe templates, install one as a draft recipe, export a recipe as a template."""


@templates.command("list")
@click.option("--category", default=None, help="Only templates of this category.")
@click.option("--system", default=None, help="Only templates using this connector (e.g. wecom).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (without the recipes).")
def templates_list(category: str | None, system: str | None, as_json: bool) -> None:
    """Print each template's name, category, systems and title."""
    found = _catalogue().find(category=category, system=system)
    if as_json:
        click.echo(jsonutil.dumps([t.summary() for t in found], indent=2))
        return
    for template in found:
        click.echo(f"{template.name}\t{template.category}\t{','.join(template.systems)}\t{template.title()}")


def _describe(parameter: Any) -> str:
    if parameter.kind == "connection":
        what = f"connection of {parameter.connector} (id or name)"
    else:
        what = f"value {json.dumps(parameter.schema, ensure_ascii=False)}"
    if parameter.has_default:
        what += f", default {json.dumps(parameter.default, ensure_ascii=False)}"
    elif parameter.kind == "value":
        what += f", required, e.g. {json.dumps(parameter.example, ensure_ascii=False)}"
    else:
        what += ", required"
    return f"  {parameter.name}: {parameter.title()} — {what}"


@templates.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the whole template document.")
def templates_show(name: str, as_json: bool) -> None:
    """Print a template: its texts, systems and parameters (what `install --set` takes)."""
    catalogue = _catalogue()
    try:
        template = catalogue.get(name)
    except HubError as exc:
        raise click.ClickException(exc.message) from exc
    if as_json:
        click.echo(jsonutil.dumps(template.document, indent=2))
        return
    click.echo(f"{template.name}: {template.title()} / {template.title('zh')}")
    click.echo(f"category: {template.category}; systems: {', '.join(template.systems)}")
    click.echo(template.description())
    click.echo("parameters:")
    for parameter in template.parameters:
        click.echo(_describe(parameter))


@templates.command("install")
@click.argument("name")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="A parameter's value (repeat).")
@click.option(
    "--project", default=None, help="The project to create the recipe in (id or name; default: default)."
)
@click.option("--name", "recipe_name", default=None, help="The new recipe's name (default: the template's).")
def templates_install(
    name: str, settings: tuple[str, ...], project: str | None, recipe_name: str | None
) -> None:
    """Install template NAME as a draft (disabled) recipe; reports the new recipe's id.

    A value is read as JSON when it parses (--set limit=5, --set 'to=["ada"]'), else as text (and
    always as text for a parameter of type string); a connection parameter takes a connection id or
    name."""
    from hub.access import DEFAULT_PROJECT
    from hub.templates.install import install

    catalogue = _catalogue()
    try:
        parameters = {p.name: p for p in catalogue.get(name).parameters}
    except HubError as exc:
        raise click.ClickException(exc.message) from exc
    values = dict(parse_setting(text, parameters) for text in settings)
    rt = _rt()
    try:
        recipe_id = install(
            rt, name, values, project=project or DEFAULT_PROJECT, actor="cli", recipe_name=recipe_name
        )
    except RecipeProblems as exc:  # every bad parameter (or recipe problem), one line each
        for found in exc.problems:
            click.echo(f"{found['path']}: {found['message']}", err=True)
        sys.exit(1)
    except HubError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        rt.close()
    click.echo(f"installed template {name} as draft recipe {recipe_id} (disabled until you enable it)")


@templates.command("export")
@click.argument("recipe_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE.")
@click.option("--name", default=None, help="The template's name (default: made from the recipe's).")
@click.option("--category", default="alerts", show_default=True, help="The template's category.")
def templates_export(recipe_id: int, output: Path | None, name: str | None, category: str) -> None:
    """Print recipe RECIPE_ID as a template: its connections and secrets become parameters."""
    from hub.templates.export import export_recipe

    rt = _rt()
    try:
        document = export_recipe(rt, recipe_id, name=name, category=category)
    except HubError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        rt.close()
    text = jsonutil.dumps(document, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
