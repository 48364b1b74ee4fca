"""The `fxiaoke` connector: 纷享销客 CRM objects through the open API (third-party sources, see the docs)."""

from __future__ import annotations

from connectors.fxiaoke.actions import CreateObject, GetObject, QueryObjects, UpdateObject
from connectors.fxiaoke.api import corp_token, open_user_id
from connectors.fxiaoke.poll import ObjectChanged
from hub.sdk.auth import Auth, secret_field
from hub.sdk.connector import Connector
from hub.sdk.context import Context


class FxiaokeAuth(Auth):
    """An app's appId / appSecret and the company's permanentCode, traded for a corpAccessToken."""

    kind = "fxiaoke_corp_token"

    def schema_properties(self) -> dict[str, dict[str, object]]:
        return {
            "app_id": {
                "type": "string",
                "title": "App ID",
                "description": "The app's appId (开放平台 › 应用).",
            },
            "app_secret": secret_field("App secret", "The app's appSecret."),
            "permanent_code": secret_field(
                "Permanent code",
                "The company's permanentCode (永久授权码), issued when the company authorised the app.",
            ),
            "current_open_user_id": {
                "type": "string",
                "title": "Acting employee (openUserId)",
                "description": "The employee the hub acts as (FSUID_…); or give operator_mobile instead.",
            },
            "operator_mobile": {
                "type": "string",
                "title": "Acting employee's mobile",
                "description": "Looked up once (/cgi/user/getByMobile) when no openUserId is given.",
            },
        }

    def required(self) -> list[str]:
        return ["app_id", "app_secret", "permanent_code"]


class FxiaokeConnector(Connector):
    id = "fxiaoke"
    name = "纷享销客 FxiaoKe"
    category = "crm"
    description = (
        "纷享销客 CRM: create, update, get and query leads, accounts, opportunities and custom objects."
    )
    icon = "fxiaoke"
    docs_url = "docs/connectors/fxiaoke.md"
    base_url = "https://open.fxiaoke.com"
    auth = FxiaokeAuth()
    triggers = (ObjectChanged,)
    actions = (CreateObject, UpdateObject, GetObject, QueryObjects)
    default_rate_limit = 5.0

    def test_connection(self, ctx: Context) -> str:
        token = corp_token(ctx, fresh=True)
        user = open_user_id(ctx)
        return f"纷享销客 issued a corpAccessToken for company {token['corpId']}; acting as {user}"


connector = FxiaokeConnector()
