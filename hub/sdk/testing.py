"""The connector contract as a pytest plugin, so a connector package checks itself as the hub will.

In a connector package's tests (the plugin is registered through the `pytest11` entry point of the
hub's distribution, so installing the hub is enough)::

    from hub.sdk.testing import ConnectorContract

    class TestAcmeContract(ConnectorContract):
        connector_id = "acme_crm"

Each check is a test of its own, named for what it proves: the entry point loads the connector, its
keys fit recipe documents, every schema is valid JSON Schema, samples match output schemas (the
recipe editor's data picker shows them), secret-looking fields are write-only, the base URL can be
overridden, trigger kinds are real, every translation catalogue it ships is complete, and
`describe()` is plain JSON (the API serves it).
"""

from __future__ import annotations

import json
import re
from importlib.metadata import entry_points
from typing import Any, ClassVar

import pytest
from jsonschema import Draft202012Validator

from hub.sdk.connector import (
    CalledTrigger,
    Connector,
    PollingTrigger,
    ScheduleTrigger,
    Trigger,
    WebhookTrigger,
)
from hub.sdk.i18n import shipped_locales, untranslated

ENTRY_POINT_GROUP = "hub.connectors"
KEY = re.compile(r"^[a-z][a-z0-9_]{0,99}$")  # the recipe document's pattern for connector, trigger, action
# Connection fields named like these hold credentials and must be write-only (never shown again),
# unless the name ends like an identifier, or the field says `"x-secret": False` (a key that is only
# the user name of Basic auth, say).
SECRET_LOOKING = re.compile(r"(secret|password|passwd|token|api_?key|private_?key|access_?key)", re.I)
NOT_SECRET_SUFFIX = re.compile(r"_(id|sid|url|header|name)$")


def load_connector(connector_id: str) -> Connector:
    """The connector an installed package registers under `connector_id`, as the hub loads it."""
    found = entry_points(group=ENTRY_POINT_GROUP, name=connector_id)
    assert found, f"no '{ENTRY_POINT_GROUP}' entry point named '{connector_id}' is installed"
    loaded = next(iter(found)).load()
    connector = loaded() if isinstance(loaded, type) else loaded
    assert isinstance(connector, Connector), f"{connector_id}: the entry point is not a Connector"
    return connector


def _check_schema(schema: Any, where: str) -> None:
    assert isinstance(schema, dict), f"{where}: a schema must be an object"
    Draft202012Validator.check_schema(schema)


def _check_sample(schema: dict[str, Any] | None, sample: Any, where: str) -> None:
    if schema is None:
        return
    _check_schema(schema, where)
    problems = list(Draft202012Validator(schema).iter_errors(sample))
    assert not problems, f"{where}: the sample does not match the output schema: {problems[0].message}"


class ConnectorContract:
    """Subclass with `connector_id` set, or override the `contract_connector_id` fixture (to run the
    contract over several connectors, give it params)."""

    connector_id: ClassVar[str] = ""

    @pytest.fixture
    def contract_connector_id(self) -> str:
        assert self.connector_id, "set connector_id on the class, or override contract_connector_id"
        return self.connector_id

    @pytest.fixture
    def connector(self, contract_connector_id: str) -> Connector:
        return load_connector(contract_connector_id)

    def test_the_entry_point_name_is_the_connector_id(self, connector: Connector) -> None:
        assert KEY.match(connector.id), f"connector id '{connector.id}' must match {KEY.pattern}"
        assert load_connector(connector.id).id == connector.id
        assert connector.name, f"{connector.id}: a connector needs a display name"

    def test_trigger_and_action_keys_fit_recipe_documents(self, connector: Connector) -> None:
        for key in [*connector.trigger_map, *connector.action_map]:
            assert KEY.match(key), f"{connector.id}.{key}: keys must match {KEY.pattern}"
        assert connector.trigger_map or connector.action_map, f"{connector.id}: no triggers or actions"

    def test_connection_schema_is_valid_and_base_url_overridable(self, connector: Connector) -> None:
        schema = connector.connection_schema()
        _check_schema(schema, f"{connector.id} connection")
        if connector.base_url is not None:  # "" when every customer has their own server
            assert "base_url" in schema["properties"], f"{connector.id}: base_url must be overridable"
        if connector.base_url:
            assert connector.base_url.startswith("https://"), f"{connector.id}: the default base URL is https"

    def test_secret_looking_fields_are_write_only(self, connector: Connector) -> None:
        secret = connector.secret_fields()
        for name, spec in connector.connection_schema()["properties"].items():
            if spec.get("x-secret") is False or NOT_SECRET_SUFFIX.search(name):
                continue
            if SECRET_LOOKING.search(name):
                assert name in secret, f"{connector.id}: field '{name}' looks secret; mark it writeOnly"

    def test_triggers_are_of_a_known_kind(self, connector: Connector) -> None:
        for key, trigger in connector.trigger_map.items():
            assert isinstance(trigger, WebhookTrigger | PollingTrigger | ScheduleTrigger | CalledTrigger), (
                f"{connector.id}.{key}: subclass WebhookTrigger, PollingTrigger or ScheduleTrigger"
            )
            if isinstance(trigger, PollingTrigger):
                assert 0 < trigger.min_interval_s <= trigger.default_interval_s, (
                    f"{connector.id}.{key}: need 0 < min_interval_s <= default_interval_s"
                )

    def test_trigger_schemas_and_samples_hold(self, connector: Connector) -> None:
        for key, trigger in connector.trigger_map.items():
            where = f"{connector.id}.{key}"
            _check_schema(trigger.config_schema, f"{where} config")
            _check_sample(trigger.output_schema, trigger.sample, where)
            assert isinstance(trigger, Trigger) and trigger.title, f"{where}: give the trigger a title"

    def test_action_schemas_and_samples_hold(self, connector: Connector) -> None:
        for key, action in connector.action_map.items():
            where = f"{connector.id}.{key}"
            _check_schema(action.input_schema, f"{where} input")
            _check_sample(action.output_schema, action.sample_output, where)
            assert action.title, f"{where}: give the action a title"

    def test_shipped_translations_cover_every_visible_string(self, connector: Connector) -> None:
        """A catalogue the connector ships (translations/<locale>.json, or `translations`) is complete:
        the UI would otherwise show a form half in one language and half in English."""
        for locale in shipped_locales(connector):
            missing = untranslated(connector, locale)
            assert not missing, f"{connector.id}: the {locale!r} translations lack {missing[:10]}"

    def test_describe_is_plain_json(self, connector: Connector) -> None:
        described = connector.describe()
        assert json.loads(json.dumps(described)) == described
