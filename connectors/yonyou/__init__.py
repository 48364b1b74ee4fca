"""The `yonyou` connector: 用友 YonSuite / YonBIP open API for a self-built app (自建应用)."""

from __future__ import annotations

from connectors.yonyou.actions import CallApi, Query, SaveCustomer, SaveReceivable, SaveSalesOrder
from connectors.yonyou.auth import YonyouAuth, access_token, hosts
from connectors.yonyou.events import EventPush
from connectors.yonyou.poll import DocumentChanged
from hub.sdk.connector import Connector
from hub.sdk.context import Context


class YonyouConnector(Connector):
    id = "yonyou"
    name = "用友 YonSuite / YonBIP"
    category = "erp"
    description = (
        "用友 YonBIP: customers, sales orders, receivables and any list API; event subscription and polling."
    )
    icon = "yonyou"
    docs_url = "docs/connectors/yonyou.md"
    base_url = (
        "https://apigateway.yonyoucloud.com"  # the data-centre lookup; business calls go to the tenant's
    )
    auth = YonyouAuth()
    connection_fields = {
        "gateway_url": {
            "type": "string",
            "format": "uri",
            "x-host": True,
            "title": "Gateway URL (optional)",
            "description": "The tenant's API gateway, e.g. https://c2.yonyoucloud.com/iuap-api-gateway; "
            "found from the tenant ID when empty.",
        },
        "token_url": {
            "type": "string",
            "format": "uri",
            "x-host": True,
            "title": "Token URL (optional)",
            "description": "The tenant's auth host, e.g. https://c2.yonyoucloud.com/iuap-api-auth; "
            "found from the tenant ID when empty.",
        },
        "server_timezone": {
            "type": "string",
            "default": "Asia/Shanghai",
            "title": "Server time zone",
            "description": "YonBIP stamps (pubts) carry no zone; they are read in this one.",
        },
    }
    triggers = (EventPush, DocumentChanged)
    actions = (SaveCustomer, SaveSalesOrder, SaveReceivable, Query, CallApi)
    default_rate_limit = 10.0

    def test_connection(self, ctx: Context) -> str:
        gateway, _ = hosts(ctx)
        access_token(ctx, fresh=True)
        return f"用友 issued an access token for this app (gateway {gateway})"


connector = YonyouConnector()
