"""The `feishu` connector (Feishu / Lark Open Platform): approvals and IM messages."""

from __future__ import annotations

from typing import Any

from connectors.feishu.actions import CreateApprovalInstance, GetApprovalInstance, SendMessage
from connectors.feishu.client import describe_error, tenant_token
from connectors.feishu.triggers import ApprovalStatus, ApprovalStatusPoll
from hub.sdk.auth import Auth, secret_field
from hub.sdk.connector import Connector
from hub.sdk.context import Context
from hub.sdk.http import HttpResponse


class FeishuAppAuth(Auth):
    """A custom app's App ID and App Secret, traded for a tenant_access_token (see client.py)."""

    kind = "app_credentials"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {
            "app_id": {"type": "string", "title": "App ID", "pattern": "^cli_"},
            "app_secret": secret_field("App Secret"),
            "verification_token": secret_field(
                "Verification Token", "Events & Callbacks > Encryption strategy; checked on every event."
            ),
            "encrypt_key": secret_field(
                "Encrypt Key", "Optional; when set, events are encrypted and signed (X-Lark-Signature)."
            ),
        }

    def required(self) -> list[str]:
        return ["app_id", "app_secret"]


class FeishuConnector(Connector):
    id = "feishu"
    name = "Feishu"
    category = "collaboration"
    description = "Start and follow Feishu (Lark) approvals, and send Feishu messages."
    icon = "feishu"
    docs_url = "docs/connectors/feishu.md"
    base_url = "https://open.feishu.cn"
    auth = FeishuAppAuth()
    triggers = (ApprovalStatus, ApprovalStatusPoll)
    actions = (CreateApprovalInstance, GetApprovalInstance, SendMessage)
    default_concurrency = 5

    def test_connection(self, ctx: Context) -> str:
        tenant_token(ctx, fresh=True)
        return f"Feishu accepted app {ctx.connection.get('app_id')} (tenant_access_token issued)"

    def error_parser(self, response: HttpResponse) -> tuple[str, str | None] | None:
        if not response.is_json:
            return None
        return describe_error(response.json())


connector = FeishuConnector()
