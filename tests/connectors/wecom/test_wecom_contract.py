"""The connector contract (hub.sdk.testing) on the wecom package, plus its connection form."""

from __future__ import annotations

from connectors.wecom import connector
from hub.sdk.testing import ConnectorContract


class TestWecomContract(ConnectorContract):
    connector_id = "wecom"


def test_connection_form_fields_have_titles_and_descriptions_and_secrets_are_write_only() -> None:
    properties = connector.connection_schema()["properties"]
    assert set(properties) == {
        "base_url",
        "corp_id",
        "corp_secret",
        "agent_id",
        "callback_token",
        "callback_aes_key",
    }
    for name, spec in properties.items():
        assert spec.get("title") and spec.get("description"), name
    assert connector.secret_fields() == {"corp_secret", "callback_token", "callback_aes_key"}
    assert properties["base_url"]["default"] == "https://qyapi.weixin.qq.com"
