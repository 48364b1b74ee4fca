"""What WeCom sends to a callback URL, built with the documented scheme (for the tests and the e2e)."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from hub.connections import create_connection
from hub.runtime import Runtime
from hub.sdk.msgcrypt import encrypt, msg_signature

CORP_ID = "ww0c1d2e3f4a5b6c7d"
TOKEN = "cbToken7"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters of the base64 alphabet


def approval_xml(sp_no: str, sp_status: int, *, template_id: str = "TPL-CONTRACT", change: int = 2) -> str:
    """A decrypted sys_approval_change event, in the shape of WeCom's documented example."""
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
        "<CreateTime>1763960000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[sys_approval_change]]></Event><AgentID>1000002</AgentID>"
        f"<ApprovalInfo><SpNo>{sp_no}</SpNo><SpNoStr><![CDATA[{sp_no}]]></SpNoStr>"
        f"<SpName><![CDATA[合同审批]]></SpName><SpStatus>{sp_status}</SpStatus>"
        f"<TemplateId><![CDATA[{template_id}]]></TemplateId><ApplyTime>1763950000</ApplyTime>"
        "<Applyer><UserId><![CDATA[WangXiaoMing]]></UserId><Party><![CDATA[1]]></Party></Applyer>"
        "<SpRecord><SpStatus>2</SpStatus><ApproverAttr>1</ApproverAttr><Details><Approver><UserId>"
        "<![CDATA[LiSi]]></UserId></Approver><Speech><![CDATA[同意]]></Speech><SpStatus>2</SpStatus>"
        "<SpTime>1763960000</SpTime></Details></SpRecord>"
        f"<StatuChangeEvent>{change}</StatuChangeEvent></ApprovalInfo></xml>"
    )


def signed_post(
    plain: str,
    *,
    stamp: str | None = None,
    receive_id: str = CORP_ID,
    key: str = AES_KEY,
    token: str = TOKEN,
) -> tuple[str, bytes]:
    """(query string, XML body) of a callback POST."""
    stamp = stamp or str(int(time.time()))
    sealed = encrypt(key, receive_id, plain)
    query = urlencode(
        {
            "msg_signature": msg_signature(token, stamp, "1372623149", sealed),
            "timestamp": stamp,
            "nonce": "1372623149",
        }
    )
    body = (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{sealed}]]></Encrypt>"
        "<AgentID><![CDATA[1000002]]></AgentID></xml>"
    )
    return query, body.encode()


def verify_url_query(echo: str, *, stamp: str | None = None) -> str:
    """The query string of WeCom's URL-verification GET."""
    stamp = stamp or str(int(time.time()))
    sealed = encrypt(AES_KEY, CORP_ID, echo)
    return urlencode(
        {
            "msg_signature": msg_signature(TOKEN, stamp, "47744683", sealed),
            "timestamp": stamp,
            "nonce": "47744683",
            "echostr": sealed,
        }
    )


def add_wecom_connection(runtime: Runtime, **extra: object) -> None:
    """The connection "wecom" with this kit's CorpID, callback Token and EncodingAESKey."""
    config = {
        "corp_id": CORP_ID,
        "corp_secret": "app-secret",
        "callback_token": TOKEN,
        "callback_aes_key": AES_KEY,
    }
    with runtime.db.transaction() as session:
        create_connection(
            session,
            runtime.registry,
            runtime.vault,
            name="wecom",
            connector_id="wecom",
            config={**config, **extra},
        )
