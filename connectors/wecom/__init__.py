"""企业微信 WeCom, self-built app (自建应用): approvals (审批) and app messages."""

from __future__ import annotations

from typing import Any

from connectors.wecom.actions import GetApproval, GetTemplate, SendMessage, StartApproval
from connectors.wecom.api import fetch_token
from connectors.wecom.callback import ApprovalStatus
from connectors.wecom.poll import ApprovalStatusPoll
from hub.sdk.auth import Auth, secret_field
from hub.sdk.connector import Connector
from hub.sdk.context import Context


class CorpAppAuth(Auth):
    """CorpID + the self-built app's Secret, traded for a 2-hour access token (see api.py)."""

    kind = "wecom_app"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {
            "corp_id": {
                "type": "string",
                "title": "CorpID (企业ID)",
                "description": "Admin console › 我的企业 › 企业信息 › 企业ID (starts with ww).",
            },
            "corp_secret": secret_field(
                "App Secret",
                "Admin console › 应用管理 › your self-built app › Secret (viewed in the WeCom client).",
            ),
        }

    def required(self) -> list[str]:
        return ["corp_id", "corp_secret"]


class WecomConnector(Connector):
    id = "wecom"
    name = "企业微信 WeCom"
    category = "collaboration"
    description = "Submit and follow WeCom approvals (审批) and send app messages as a self-built app."
    icon = "wecom"
    docs_url = "docs/connectors/wecom.md"
    base_url = "https://qyapi.weixin.qq.com"
    auth = CorpAppAuth()
    connection_fields = {
        "agent_id": {
            "type": "integer",
            "title": "AgentId",
            "description": "The self-built app's AgentId (应用管理 › your app); used by send_message.",
        },
        "callback_token": secret_field(
            "Callback Token",
            "The app's 接收消息 › 设置API接收 Token, for the approval_status trigger.",
        ),
        "callback_aes_key": secret_field(
            "Callback EncodingAESKey",
            "The 43-character EncodingAESKey of the same page.",
        ),
    }
    triggers = (ApprovalStatus, ApprovalStatusPoll)
    actions = (StartApproval, GetApproval, GetTemplate, SendMessage)
    default_rate_limit = 20.0  # applyevent and getapprovaldetail allow 600 calls per minute

    def test_connection(self, ctx: Context) -> str:
        fetch_token(ctx)  # not from the cache: the check is that these credentials work now
        return "WeCom issued an access token for this app"


connector = WecomConnector()
