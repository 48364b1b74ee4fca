"""The connector contract (hub.sdk.testing) on the fadada package, plus its connection form."""

from __future__ import annotations

from connectors.fadada import connector
from hub.sdk.testing import ConnectorContract


class TestFadadaContract(ConnectorContract):
    connector_id = "fadada"


def test_connection_form_fields_have_titles_and_descriptions() -> None:
    properties = connector.connection_schema()["properties"]
    assert set(properties) == {"base_url", "app_id", "app_secret", "open_corp_id"}
    for name, spec in properties.items():
        assert spec.get("title") and spec.get("description"), name
    assert connector.secret_fields() == {"app_secret"}
