"""The `jiandaoyun` connector: 简道云 forms (CRM apps and others) through the open API v5 and data push."""

from __future__ import annotations

from connectors.jiandaoyun.actions import CreateData, GetData, QueryData, UpdateData
from connectors.jiandaoyun.api import call, vendor_error
from connectors.jiandaoyun.poll import DataChanged
from connectors.jiandaoyun.push import DataPush
from hub.sdk.auth import ApiKeyAuth, secret_field
from hub.sdk.connector import Connector
from hub.sdk.context import Context
from hub.sdk.http import HttpResponse


class JiandaoyunConnector(Connector):
    id = "jiandaoyun"
    name = "简道云 Jiandaoyun"
    category = "crm"
    description = "简道云 forms and CRM apps: create, update, get and query records; data push and polling."
    icon = "jiandaoyun"
    docs_url = "docs/connectors/jiandaoyun.md"
    base_url = "https://api.jiandaoyun.com/api"
    auth = ApiKeyAuth(header="Authorization", prefix="Bearer ")
    connection_fields = {
        "api_key": secret_field(
            "API key",
            "开放平台 > 密钥管理 > 创建 API KEY; sent as Authorization: Bearer. "
            "Its scope decides which apps it reaches.",
        ),
        "push_secret": secret_field(
            "Data push secret",
            "The secret set in the form's 数据推送 settings; "
            "the data_push trigger checks X-JDY-Signature with it.",
        ),
    }
    triggers = (DataPush, DataChanged)
    actions = (CreateData, UpdateData, GetData, QueryData)
    default_rate_limit = 5.0  # the official demo's pace; the API allows 50/s overall, 20-30/s per call

    def error_parser(self, response: HttpResponse) -> tuple[str, str | None] | None:
        return vendor_error(response)

    def test_connection(self, ctx: Context) -> str:
        apps = call(ctx, "/v5/app/list", {"skip": 0, "limit": 100}).get("apps") or []
        return f"简道云 accepted the API key ({len(apps)} apps visible)"


connector = JiandaoyunConnector()
