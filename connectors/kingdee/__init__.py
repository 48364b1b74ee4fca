"""The `kingdee` connector: 金蝶云星空 (K3Cloud) WebAPI on the customer's own server."""

from __future__ import annotations

from connectors.kingdee.actions import Audit, Query, Save, Submit
from connectors.kingdee.auth import KingdeeAuth, session
from connectors.kingdee.triggers import BillChanged
from hub.sdk.connector import Connector
from hub.sdk.context import Context


class KingdeeConnector(Connector):
    id = "kingdee"
    name = "Kingdee K3Cloud"
    category = "erp"
    description = "金蝶云星空: save, submit, audit and query bills and master data; poll bill changes."
    icon = "kingdee"
    docs_url = "docs/connectors/kingdee.md"
    base_url = ""  # always the customer's own server, e.g. http://erp.example.com/k3cloud
    auth = KingdeeAuth()
    connection_fields = {
        "server_timezone": {
            "type": "string",
            "default": "Asia/Shanghai",
            "title": "Server time zone (dates in Kingdee are the server's local time)",
        }
    }
    connection_required = ["base_url"]
    triggers = (BillChanged,)
    actions = (Save, Submit, Audit, Query)
    default_concurrency = 4

    def test_connection(self, ctx: Context) -> str:
        session(ctx, fresh=True)
        user, acct = ctx.connection.get("username"), ctx.connection.get("acct_id")
        return f"Kingdee accepted the login of {user} to data centre {acct}"


connector = KingdeeConnector()
