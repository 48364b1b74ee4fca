"""Every template in recipes/templates/ checked on its own, by name: it follows the template format
(recipes/template.schema.json and the catalogue's checks), and installed with each parameter's
example (a stand-in connection for each connection parameter) it passes the full recipe validation
a save does, connectors, actions, inputs and templates included. A new template file is covered
without any change here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.access import DEFAULT_PROJECT_ID
from hub.db.models import Recipe
from hub.recipe_index import current_document
from hub.runtime import Runtime
from hub.templates import catalogue
from hub.templates.catalogue import TEMPLATES_DIR, read_template
from hub.templates.install import install
from hub.templates.params import markers
from tests.conftest import installed_connectors, make_settings
from tests.hub.template_helpers import example_values

FILES = sorted(TEMPLATES_DIR.glob("*.json"))


@pytest.fixture(scope="module")
def shared_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """One database for all templates (each installs with connections of its own names)."""
    home = tmp_path_factory.mktemp("templates")
    rt = Runtime.create(
        make_settings(home / "home", f"sqlite:///{home / 'hub.db'}"), registry=installed_connectors()
    )
    yield rt
    rt.close()


def test_the_library_has_templates_and_loads_as_a_whole() -> None:
    assert len(FILES) >= 3
    assert sorted(catalogue.load()) == [path.stem for path in FILES]


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_template_is_valid_and_installs_with_its_examples(path: Path, shared_runtime: Runtime) -> None:
    template = read_template(path)  # TemplateError naming the file and each path otherwise
    for parameter in template.parameters:
        if parameter.kind == "connection":
            assert shared_runtime.registry.get(str(parameter.connector)), (
                f"unknown connector {parameter.connector}"
            )
    for system in template.systems:
        assert shared_runtime.registry.get(system) is not None, f"$.systems: unknown connector '{system}'"
    values = example_values(shared_runtime, template)
    recipe_id = install(shared_runtime, template.name, values, project=DEFAULT_PROJECT_ID, actor="tests")
    with shared_runtime.db.transaction() as session:
        recipe = session.get(Recipe, recipe_id)
        assert recipe is not None and recipe.enabled is False
        document = current_document(session, recipe)
    assert not list(markers(document)), "a marker was left in the installed recipe"
