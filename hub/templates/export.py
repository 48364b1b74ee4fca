"""Any recipe as a template: what ties it to this hub becomes a parameter.

Each connection it names becomes a `connection` parameter of that step's connector (named after
the connector: `wecom`, a second wecom connection `wecom_2`), and each literal secret (a webhook's
signing secret) a required `value` parameter, so neither a connection name nor a secret (sealed or
not) leaves the hub in the template. The rest of the recipe is kept as it is; edit the result's
texts, category and parameters before adding it to recipes/templates/.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from hub import jsonutil, templating
from hub.recipe_index import current_document
from hub.recipe_store import get_recipe
from hub.recipe_tree import iter_steps
from hub.recipes import secret_slots
from hub.registry import Registry
from hub.services import InvalidInput
from hub.templates.catalogue import CATEGORIES, NAME_PATTERN
from hub.templates.params import MARKER

if TYPE_CHECKING:
    from hub.runtime import Runtime

DEFAULT_CATEGORY = "alerts"
SECRET_EXAMPLE = "change-me"  # noqa: S105 (what "fill with examples" puts in a secret: never a real one)
_NAME_MAX = 100
_TEXT_MAX = 2000  # a title or description in template.schema.json


def template_name(text: str) -> str:
    """A template name from a recipe's name: lowercase ASCII letters, digits and dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:_NAME_MAX].strip("-")
    return slug or "exported-recipe"


def _parameter_name(base: str, taken: set[str]) -> str:
    """`base` made a parameter name (lowercase, `_` for other characters), unique among `taken`."""
    name = re.sub(r"[^a-z0-9_]", "_", base.lower())
    name = name if re.match(r"[a-z]", name) else f"p_{name}"
    name = name[:90]
    found, number = name, 2
    while found in taken:
        found, number = f"{name}_{number}", number + 1
    taken.add(found)
    return found


def _connection_holders(recipe: dict[str, Any]) -> list[dict[str, Any]]:
    """The trigger and every step naming a connection, in document order."""
    holders = [recipe["trigger"]] if isinstance(recipe.get("trigger"), dict) else []
    holders += [step for _phase, _path, step in iter_steps(recipe)]
    return [h for h in holders if isinstance(h.get("connection"), str) and h["connection"]]


def _connection_parameters(
    recipe: dict[str, Any], registry: Registry, taken: set[str]
) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    by_connection: dict[str, str] = {}
    for holder in _connection_holders(recipe):
        name = by_connection.get(holder["connection"])
        if name is None:
            connector_id = str(holder["connector"])
            connector = registry.get(connector_id)
            label = connector.name if connector is not None else connector_id
            name = by_connection[holder["connection"]] = _parameter_name(connector_id, taken)
            parameters.append(
                {
                    "name": name,
                    "kind": "connection",
                    "connector": connector_id,
                    "title": {"en": f"{label} connection", "zh": f"{label} 连接"},
                }
            )
        holder["connection"] = {MARKER: name}
    return parameters


def _secret_parameters(recipe: dict[str, Any], registry: Registry, taken: set[str]) -> list[dict[str, Any]]:
    parameters = []
    for where, holder, field in list(secret_slots(recipe, registry)):
        value = holder[field]
        if value is None or value == "" or templating.is_template(str(value)):
            continue  # a template names where the secret is, not the secret
        place = "trigger" if where == "trigger" else where.split(":", 1)[1]
        name = _parameter_name(f"{place}_{field}", taken)
        holder[field] = {MARKER: name}
        parameters.append(
            {
                "name": name,
                "kind": "value",
                "schema": {"type": "string", "minLength": 1},
                "example": SECRET_EXAMPLE,
                "title": {"en": f"{field} of {place}", "zh": f"{place} 的 {field}"},
                "description": {"en": "A secret: enter your own.", "zh": "密钥：请填写你自己的值。"},
            }
        )
    return parameters


def _systems(recipe: dict[str, Any]) -> list[str]:
    """The connectors the recipe uses, in the order they appear, each once."""
    found = [str((recipe.get("trigger") or {}).get("connector"))]
    found += [str(step["connector"]) for _phase, _path, step in iter_steps(recipe) if step.get("connector")]
    return list(dict.fromkeys(found))


def to_template(
    document: dict[str, Any],
    registry: Registry,
    *,
    name: str | None = None,
    category: str = DEFAULT_CATEGORY,
) -> dict[str, Any]:
    """A template document of a valid recipe `document` (as stored: sealed secrets are fine, they
    are replaced unread). `name` defaults to one made from the recipe's name."""
    recipe = jsonutil.loads(jsonutil.dumps(document))
    recipe.pop("enabled", None)
    taken: set[str] = set()
    parameters = _connection_parameters(recipe, registry, taken)
    parameters += _secret_parameters(recipe, registry, taken)
    title = str(recipe["name"])[:_TEXT_MAX]
    description = str(recipe.get("description") or title)[:_TEXT_MAX]
    return {
        "template": 1,
        "name": name or template_name(title),
        "title": {"en": title, "zh": title},
        "description": {"en": description, "zh": description},
        "category": category,
        "systems": _systems(recipe),
        "parameters": parameters,
        "recipe": recipe,
    }


def export_recipe(
    rt: Runtime, recipe_id: int, *, name: str | None = None, category: str = DEFAULT_CATEGORY
) -> dict[str, Any]:
    """The current version of recipe `recipe_id` as a template (NotFound for no such recipe; an
    invalid `name` or `category` is InvalidInput naming it)."""
    if name is not None and not (isinstance(name, str) and re.fullmatch(NAME_PATTERN, name)):
        raise InvalidInput(
            "name: lowercase letters, digits and '-', starting with a letter or digit", path="name"
        )
    if category not in CATEGORIES:
        raise InvalidInput(f"category: one of {', '.join(CATEGORIES)}", path="category")
    with rt.db.transaction() as session:
        document = current_document(session, get_recipe(session, recipe_id))
    return to_template(document, rt.registry, name=name, category=category)
