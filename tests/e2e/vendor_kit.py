"""One stand-in kit for every vendor the recipe templates talk to, started once per test module.

Each vendor is a small HTTP server on 127.0.0.1 that checks the credentials the connectors send
(tokens fetched the vendor's way, signed sessions, bearer headers), answers in the vendor's own
response shapes, and records every request so a test can assert what reached the vendor. The
connection configs the kit hands out point each connector's base URL at its stand-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from itertools import count
from typing import Any
from urllib.parse import parse_qsl

from aiosmtpd.controller import Controller

from tests.e2e.harness import free_port
from tests.e2e.standins import KD_PATH, Mailbox, Reply, Seen, StandIn

Handler = Callable[[Seen, re.Match[str]], Reply]


class Vendor(StandIn):
    """A stand-in whose routes are path patterns (vendor paths carry ids); requests for a path no
    route knows are answered 404 and listed in `unrouted`, so a test can fail on them."""

    def __init__(self, name: str, routes: list[tuple[str, str, Handler]]) -> None:
        self.name = name
        self.patterns = [(method, re.compile(pattern + "$"), handle) for method, pattern, handle in routes]
        self.unrouted: list[str] = []  # requests for an API the stand-in (and the vendor) does not have
        super().__init__({})

    def answer(self, seen: Seen) -> Reply:
        for method, pattern, handle in self.patterns:
            found = pattern.match(seen.path)
            if method == seen.method and found:
                return handle(seen, found)
        with self.lock:
            self.unrouted.append(f"{seen.method} {seen.path}")
        return 404, {"message": f"{self.name} stand-in: no route {seen.method} {seen.path}"}, {}

    def calls(self, method: str, path: str) -> list[Seen]:
        """The requests of `method` whose path matches `path`, a regular expression."""
        compiled = re.compile(path + "$")
        with self.lock:
            return [s for s in self.seen if s.method == method and compiled.match(s.path)]


def form(seen: Seen) -> dict[str, str]:
    return dict(parse_qsl(seen.body.decode()))


def ok(payload: Any, status: int = 200) -> Reply:
    return status, payload, {}


# Credentials the kit expects; the connection configs below carry the same values.
WECOM_CORP, WECOM_SECRET, WECOM_TOKEN = "ww-tpl-corp", "wecom-tpl-secret", "wecom-tpl-token"
DING_KEY, DING_SECRET, DING_TOKEN = "ding-tpl-key", "ding-tpl-secret", "ding-tpl-token"
FEISHU_APP, FEISHU_SECRET, FEISHU_TOKEN = "cli_tpl0001", "feishu-tpl-secret", "t-tpl-token"
TWILIO_SID, TWILIO_TOKEN = "AC" + "7a" * 16, "twilio-tpl-token"
XERO_TOKEN, XERO_TENANT = "xero-tpl-token", "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"
QBO_TOKEN, QBO_REALM = "qbo-tpl-token", "9130357766661234"
KD_ACCT, KD_USER, KD_PASS = "62f8ff01e0b76e", "hub-api", "kd-pass"
YS_KEY, YS_SECRET, YS_TENANT, YS_TOKEN = "ys-tpl-key", "ys-tpl-secret", "t8f2k1", "ys-tpl-token"
FX_APP, FX_SECRET, FX_CODE, FX_TOKEN = "FSAID_tpl", "fx-tpl-secret", "fx-tpl-permanent", "fx-tpl-token"
ZOHO_TOKEN, SF_TOKEN, HS_TOKEN, DS_TOKEN = "zoho-tpl-at", "sf-tpl-at", "hs-tpl-pat", "ds-tpl-at"
DS_ACCOUNT = "8f1c5e7a-0000-4000-8000-0000000007a1"
JDY_KEY, JDY_PUSH_SECRET = "jdy-tpl-key", "jdy-tpl-push-secret"
JOTFORM_KEY = "jf-tpl-key-0123456789abcdef"
TYPEFORM_TOKEN = "tfp_tpl_token"
HTTP_TOKEN = "helpdesk-tpl-token"
GOOGLE_TOKEN = "ya29.tpl-token"


class VendorKit:
    """Every vendor stand-in, with the state the scenarios set (items to poll, approvals held)."""

    def __init__(self) -> None:
        self.ids = count(1)
        self.hold_approvals = False  # True: approvals stay pending (an approval that times out)
        self.poll_items: dict[str, Any] = {}
        self.fail_next: set[str] = set()  # vendor names whose next write answers an error
        self.typeform_secrets: dict[str, str] = {}
        self.jotform_hooks: list[str] = []
        self.approvals: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.vendors = {
            "wecom": Vendor("wecom", self._wecom()),
            "dingtalk": Vendor("dingtalk", self._dingtalk()),
            "feishu": Vendor("feishu", self._feishu()),
            "twilio": Vendor("twilio", self._twilio()),
            "aliyun_sms": Vendor("aliyun_sms", self._aliyun()),
            "xero": Vendor("xero", self._xero()),
            "quickbooks": Vendor("quickbooks", self._quickbooks()),
            "kingdee": Vendor("kingdee", self._kingdee()),
            "yonyou": Vendor("yonyou", self._yonyou()),
            "fxiaoke": Vendor("fxiaoke", self._fxiaoke()),
            "zoho_crm": Vendor("zoho_crm", self._zoho()),
            "salesforce": Vendor("salesforce", self._salesforce()),
            "hubspot": Vendor("hubspot", self._hubspot()),
            "docusign": Vendor("docusign", self._docusign()),
            "jiandaoyun": Vendor("jiandaoyun", []),
            "jinshuju": Vendor("jinshuju", []),
            "typeform": Vendor("typeform", self._typeform()),
            "google_forms": Vendor("google_forms", self._google_forms()),
            "jotform": Vendor("jotform", self._jotform()),
            "http": Vendor("http", self._http()),
        }
        self.mailbox = Mailbox()
        self.smtp_port = free_port()
        self.smtp = Controller(self.mailbox, hostname="127.0.0.1", port=self.smtp_port)
        self.smtp.start()

    # ------------------------------------------------------------------ test-facing helpers
    def __getitem__(self, name: str) -> Vendor:
        return self.vendors[name]

    def reset(self) -> None:
        """Forget what earlier scenarios did (requests, mail, poll items, held approvals)."""
        for vendor in self.vendors.values():
            with vendor.lock:
                vendor.seen.clear()
                vendor.unrouted.clear()
        self.mailbox.messages.clear()
        self.poll_items.clear()
        self.fail_next.clear()
        self.approvals.clear()
        self.hold_approvals = False

    def close(self) -> None:
        for vendor in self.vendors.values():
            vendor.close()
        self.smtp.stop()

    def mails(self) -> list[dict[str, Any]]:
        """The messages the SMTP stand-in accepted: recipients, subject and text."""
        from email import message_from_bytes
        from email.policy import default

        found = []
        for envelope in self.mailbox.messages:
            message = message_from_bytes(envelope.content, policy=default)
            body = message.get_body(("plain", "html"))
            found.append(
                {
                    "to": list(envelope.rcpt_tos),
                    "subject": str(message["Subject"]),
                    "text": body.get_content() if body is not None else "",
                }
            )
        return found

    def connection(self, connector: str) -> dict[str, Any]:
        """A connection config of `connector` whose calls reach this kit."""
        url = {name: vendor.url for name, vendor in self.vendors.items()}
        later = int(time.time()) + 3600
        oauth = {"client_id": "tpl-client", "client_secret": "tpl-client-secret", "refresh_token": "rt"}
        configs: dict[str, dict[str, Any]] = {
            "wecom": {
                "base_url": url["wecom"],
                "corp_id": WECOM_CORP,
                "corp_secret": WECOM_SECRET,
                "agent_id": 1000002,
            },
            "dingtalk": {
                "base_url": url["dingtalk"],
                "oapi_base_url": url["dingtalk"],
                "app_key": DING_KEY,
                "app_secret": DING_SECRET,
                "agent_id": 2900001,
            },
            "feishu": {"base_url": url["feishu"], "app_id": FEISHU_APP, "app_secret": FEISHU_SECRET},
            "twilio": {"base_url": url["twilio"], "account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN},
            "aliyun_sms": {
                "base_url": url["aliyun_sms"],
                "access_key_id": "LTAI-tpl",
                "access_key_secret": "aliyun-tpl-secret",
            },
            "xero": {
                **oauth,
                "base_url": f"{url['xero']}/api.xro/2.0",
                "access_token": XERO_TOKEN,
                "expires_at": later,
                "tenant_id": XERO_TENANT,
            },
            "quickbooks": {
                **oauth,
                "base_url": url["quickbooks"],
                "access_token": QBO_TOKEN,
                "expires_at": later,
                "realm_id": QBO_REALM,
            },
            "kingdee": {
                "base_url": f"{url['kingdee']}/k3cloud/",
                "acct_id": KD_ACCT,
                "username": KD_USER,
                "password": KD_PASS,
            },
            "yonyou": {
                "base_url": url["yonyou"],
                "app_key": YS_KEY,
                "app_secret": YS_SECRET,
                "tenant_id": YS_TENANT,
            },
            "fxiaoke": {
                "base_url": url["fxiaoke"],
                "app_id": FX_APP,
                "app_secret": FX_SECRET,
                "permanent_code": FX_CODE,
                "current_open_user_id": "FSUID_OPERATOR",
            },
            "zoho_crm": {
                **oauth,
                "base_url": url["zoho_crm"],
                "data_center": "cn",
                "access_token": ZOHO_TOKEN,
                "expires_at": later,
            },
            "salesforce": {
                **oauth,
                "instance_url": url["salesforce"],
                "access_token": SF_TOKEN,
                "expires_at": later,
            },
            "hubspot": {"base_url": url["hubspot"], "private_app_token": HS_TOKEN},
            "docusign": {
                **oauth,
                "base_url": f"{url['docusign']}/restapi",
                "access_token": DS_TOKEN,
                "expires_at": later,
                "account_id": DS_ACCOUNT,
            },
            "jiandaoyun": {"base_url": url["jiandaoyun"], "api_key": JDY_KEY, "push_secret": JDY_PUSH_SECRET},
            "jinshuju": {"base_url": url["jinshuju"], "api_key": "jsj-key", "api_secret": "jsj-secret"},
            "typeform": {"base_url": url["typeform"], "personal_token": TYPEFORM_TOKEN},
            "jotform": {"base_url": url["jotform"], "api_key": JOTFORM_KEY},
            "google_forms": {
                **oauth,
                "base_url": url["google_forms"],
                "auth_type": "oauth2",
                "access_token": GOOGLE_TOKEN,
                "expires_at": later,
            },
            "email": {
                "host": "127.0.0.1",
                "port": self.smtp_port,
                "security": "none",
                "from": "hub@example.com",
            },
            "http": {"base_url": url["http"], "auth_type": "bearer", "token": HTTP_TOKEN},
        }
        return configs[connector]

    def approval(self, instance: str, created: dict[str, Any]) -> dict[str, Any]:
        """Remember an approval (or envelope) the hub filed, for the status reads that follow."""
        with self.lock:
            self.approvals[instance] = created
        return created

    def decided(self) -> bool:
        return not self.hold_approvals

    def new_id(self, prefix: str = "") -> str:
        return f"{prefix}{next(self.ids)}"

    def items(self, key: str) -> list[dict[str, Any]]:
        return list(self.poll_items.get(key, []))

    def failing(self, vendor: str) -> bool:
        if vendor in self.fail_next:
            self.fail_next.discard(vendor)
            return True
        return False

    # ------------------------------------------------------------------ 企业微信 WeCom
    def _wecom(self) -> list[tuple[str, str, Handler]]:
        def token(seen: Seen, _: Any) -> Reply:
            if seen.query != {"corpid": WECOM_CORP, "corpsecret": WECOM_SECRET}:
                return ok({"errcode": 40001, "errmsg": "invalid credential"})
            return ok({"errcode": 0, "errmsg": "ok", "access_token": WECOM_TOKEN, "expires_in": 7200})

        def guarded(handle: Callable[[Seen], Any]) -> Handler:
            def checked(seen: Seen, _: Any) -> Reply:
                if seen.query.get("access_token") != WECOM_TOKEN:
                    return ok({"errcode": 41001, "errmsg": "access_token missing"})
                return ok({"errcode": 0, "errmsg": "ok", **handle(seen)})

            return checked

        def apply(seen: Seen) -> dict[str, Any]:
            sp_no = f"2026120500{next(self.ids):04d}"
            self.approval(sp_no, seen.json())
            return {"sp_no": sp_no}

        def listing(seen: Seen) -> dict[str, Any]:
            return {"sp_no_list": list(self.approvals), "new_next_cursor": ""}

        def detail(seen: Seen) -> dict[str, Any]:
            sp_no = seen.json()["sp_no"]
            applied = self.approvals.get(sp_no, {})
            info = {
                "sp_no": sp_no,
                "sp_name": "折扣审批",
                "sp_status": 2 if self.decided() else 1,
                "template_id": applied.get("template_id"),
                "apply_time": int(time.time()),
                "applyer": {"userid": applied.get("creator_userid")},
            }
            return {"info": info}

        def robot(seen: Seen, _: Any) -> Reply:
            return ok({"errcode": 0, "errmsg": "ok"})

        return [
            ("GET", "/cgi-bin/gettoken", token),
            (
                "POST",
                "/cgi-bin/message/send",
                guarded(lambda s: {"msgid": self.new_id("msg-"), "invaliduser": ""}),
            ),
            ("POST", "/cgi-bin/oa/applyevent", guarded(apply)),
            ("POST", "/cgi-bin/oa/getapprovalinfo", guarded(listing)),
            ("POST", "/cgi-bin/oa/getapprovaldetail", guarded(detail)),
            ("POST", "/cgi-bin/webhook/send", robot),
        ]

    # ------------------------------------------------------------------ DingTalk
    def _dingtalk(self) -> list[tuple[str, str, Handler]]:
        def token(seen: Seen, _: Any) -> Reply:
            if seen.json() != {"appKey": DING_KEY, "appSecret": DING_SECRET}:
                return 400, {"code": "invalidClientIdOrSecret", "message": "无效的appKey或appSecret"}, {}
            return ok({"accessToken": DING_TOKEN, "expireIn": 7200})

        def new_api(handle: Callable[[Seen], Any]) -> Handler:
            def checked(seen: Seen, _: Any) -> Reply:
                if seen.headers.get("x-acs-dingtalk-access-token") != DING_TOKEN:
                    return 401, {"code": "InvalidAuthentication", "message": "不合法的access_token"}, {}
                return ok(handle(seen))

            return checked

        def start(seen: Seen) -> dict[str, Any]:
            instance = f"ding-{next(self.ids)}"
            self.approval(instance, seen.json())
            return {"instanceId": instance}

        def listing(seen: Seen) -> dict[str, Any]:
            code = seen.json()["processCode"]
            ids = [i for i, body in self.approvals.items() if body.get("processCode") == code]
            return {"result": {"list": ids if self.decided() else [], "nextToken": None}, "success": True}

        def read(seen: Seen) -> dict[str, Any]:
            instance = seen.query["processInstanceId"]
            body = self.approvals.get(instance, {})
            done = self.decided()
            return {
                "result": {
                    "status": "COMPLETED" if done else "RUNNING",
                    "result": "agree" if done else "",
                    "title": "折扣审批",
                    "originatorUserId": body.get("originatorUserId"),
                    "processCode": body.get("processCode"),
                    "createTime": "2026-12-05T09:00Z",
                    "finishTime": "2026-12-05T10:00Z" if done else None,
                    "formComponentValues": body.get("formComponentValues") or [],
                    "tasks": [],
                }
            }

        def notice(seen: Seen, _: Any) -> Reply:
            if seen.query.get("access_token") != DING_TOKEN:
                return ok({"errcode": 40014, "errmsg": "不合法的access_token"})
            return ok({"errcode": 0, "errmsg": "ok", "task_id": next(self.ids), "request_id": "req-tpl"})

        def robot(seen: Seen, _: Any) -> Reply:
            return ok({"errcode": 0, "errmsg": "ok"})

        return [
            ("POST", "/v1.0/oauth2/accessToken", token),
            ("POST", "/v1.0/workflow/processInstances", new_api(start)),
            ("GET", "/v1.0/workflow/processInstances", new_api(read)),
            ("POST", "/v1.0/workflow/processes/instanceIds/query", new_api(listing)),
            ("POST", "/topapi/message/corpconversation/asyncsend_v2", notice),
            ("POST", "/robot/send", robot),
        ]

    # ------------------------------------------------------------------ Feishu
    def _feishu(self) -> list[tuple[str, str, Handler]]:
        def token(seen: Seen, _: Any) -> Reply:
            if seen.json() != {"app_id": FEISHU_APP, "app_secret": FEISHU_SECRET}:
                return ok({"code": 10014, "msg": "app secret invalid"})
            return ok({"code": 0, "msg": "ok", "tenant_access_token": FEISHU_TOKEN, "expire": 7200})

        def authed(handle: Callable[[Seen, re.Match[str]], Any]) -> Handler:
            def checked(seen: Seen, found: re.Match[str]) -> Reply:
                if seen.headers.get("Authorization") != f"Bearer {FEISHU_TOKEN}":
                    return 400, {"code": 99991661, "msg": "Missing access token"}, {}
                return ok({"code": 0, "msg": "success", "data": handle(seen, found)})

            return checked

        def create(seen: Seen, _: Any) -> dict[str, Any]:
            code = f"INS-{next(self.ids)}"
            self.approval(code, seen.json())
            return {"instance_code": code}

        def read(seen: Seen, found: re.Match[str]) -> dict[str, Any]:
            code = found.group(1)
            body = self.approvals.get(code, {})
            return {
                "status": "APPROVED" if self.decided() else "PENDING",
                "approval_code": body.get("approval_code"),
                "instance_code": code,
                "serial_number": "202612050001",
                "open_id": body.get("open_id"),
                "start_time": str(int(time.time() * 1000)),
                "end_time": "0",
                "form": body.get("form"),
                "task_list": [],
                "timeline": [],
            }

        def message(seen: Seen, _: Any) -> dict[str, Any]:
            return {"message_id": self.new_id("om_"), "chat_id": "oc_tpl", "create_time": "1764900000000"}

        return [
            ("POST", "/open-apis/auth/v3/tenant_access_token/internal", token),
            ("POST", r"/open-apis/approval/v4/approvals/[^/]+/subscribe", authed(lambda s, f: {})),
            ("POST", "/open-apis/approval/v4/instances", authed(create)),
            ("GET", r"/open-apis/approval/v4/instances/([^/]+)", authed(read)),
            ("POST", "/open-apis/im/v1/messages", authed(message)),
        ]

    # ------------------------------------------------------------------ SMS
    def _twilio(self) -> list[tuple[str, str, Handler]]:
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()

        def send(seen: Seen, _: Any) -> Reply:
            if seen.headers.get("Authorization") != expected:
                return 401, {"code": 20003, "message": "Authenticate", "status": 401}, {}
            sent = form(seen)
            return ok(
                {
                    "sid": self.new_id("SM"),
                    "status": "queued",
                    "to": sent.get("To"),
                    "from": sent.get("From"),
                    "body": sent.get("Body"),
                    "num_segments": "1",
                    "price": None,
                    "error_code": None,
                },
                201,
            )

        return [("POST", f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json", send)]

    def _aliyun(self) -> list[tuple[str, str, Handler]]:
        def rpc(seen: Seen, _: Any) -> Reply:
            sent = form(seen)
            if sent.get("AccessKeyId") != "LTAI-tpl" or not sent.get("Signature"):
                return (
                    400,
                    {"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found."},
                    {},
                )
            return ok(
                {"Code": "OK", "Message": "OK", "BizId": f"{next(self.ids)}^0", "RequestId": "F655A8D5-TPL"}
            )

        return [("POST", "/", rpc)]

    # ------------------------------------------------------------------ Xero
    def _xero(self) -> list[tuple[str, str, Handler]]:
        contacts: dict[str, dict[str, Any]] = {
            "ap@acme.example": {
                "ContactID": "bd2270c3-8706-4c11-9cfb-000b551c3f51",
                "Name": "Acme Ltd",
                "EmailAddress": "ap@acme.example",
                "ContactStatus": "ACTIVE",
            },
        }

        def authed(handle: Callable[[Seen], Any]) -> Handler:
            def checked(seen: Seen, _: Any) -> Reply:
                if seen.headers.get("Authorization") != f"Bearer {XERO_TOKEN}":
                    return (
                        401,
                        {"Title": "Unauthorized", "Status": 401, "Detail": "AuthenticationUnsuccessful"},
                        {},
                    )
                if seen.headers.get("xero-tenant-id") != XERO_TENANT:
                    return (
                        403,
                        {"Title": "Forbidden", "Status": 403, "Detail": "AuthorizationUnsuccessful"},
                        {},
                    )
                return ok({"Status": "OK", **handle(seen)})

            return checked

        def find(seen: Seen) -> dict[str, Any]:
            where = seen.query.get("where", "")
            email = where.split('"')[1] if '"' in where else ""
            return {"Contacts": [contacts[email]] if email in contacts else []}

        def create_contact(seen: Seen) -> dict[str, Any]:
            (contact,) = seen.json()["Contacts"]
            made = {
                **contact,
                "ContactID": f"00000000-0000-0000-0000-{next(self.ids):012d}",
                "ContactStatus": "ACTIVE",
            }
            contacts[contact.get("EmailAddress") or contact["Name"]] = made
            return {"Contacts": [made]}

        def create_invoice(seen: Seen) -> dict[str, Any]:
            (invoice,) = seen.json()["Invoices"]
            total = sum(
                Decimal(str(line["Quantity"])) * Decimal(str(line["UnitAmount"]))
                for line in invoice["LineItems"]
            )
            made = {
                **invoice,
                "InvoiceID": f"inv-{next(self.ids)}",
                "InvoiceNumber": f"INV-{next(self.ids):04d}",
                "Total": str(total),
                "AmountDue": str(total),
                "UpdatedDateUTC": "/Date(1764900000000+0000)/",
            }
            return {"Invoices": [made]}

        def list_invoices(seen: Seen) -> dict[str, Any]:
            return {"Invoices": self.items("xero.invoices")}

        return [
            ("GET", "/api.xro/2.0/Contacts", authed(find)),
            ("PUT", "/api.xro/2.0/Contacts", authed(create_contact)),
            ("PUT", "/api.xro/2.0/Invoices", authed(create_invoice)),
            ("GET", "/api.xro/2.0/Invoices", authed(list_invoices)),
        ]

    # ------------------------------------------------------------------ QuickBooks Online
    def _quickbooks(self) -> list[tuple[str, str, Handler]]:
        base = f"/v3/company/{QBO_REALM}"
        customers: dict[str, dict[str, Any]] = {}

        def authed(handle: Callable[[Seen], Any]) -> Handler:
            def checked(seen: Seen, _: Any) -> Reply:
                if seen.headers.get("Authorization") != f"Bearer {QBO_TOKEN}":
                    return (
                        401,
                        {"fault": {"error": [{"message": "AuthenticationFailed", "code": "3200"}]}},
                        {},
                    )
                return ok({**handle(seen), "time": "2026-12-05T10:00:00.000-08:00"})

            return checked

        def query(seen: Seen) -> dict[str, Any]:
            statement = seen.query.get("query", "")
            name = statement.split("DisplayName = '", 1)[-1].rstrip("'").replace("\\'", "'")
            found = [customers[name]] if name in customers else []
            return {"QueryResponse": {"Customer": found, "startPosition": 1, "maxResults": len(found)}}

        def customer(seen: Seen) -> dict[str, Any]:
            sent = seen.json()
            made = {**sent, "Id": str(next(self.ids)), "SyncToken": "0"}
            customers[sent["DisplayName"]] = made
            return {"Customer": made}

        def invoice(seen: Seen) -> dict[str, Any]:
            sent = seen.json()
            total = sum(Decimal(str(line["Amount"])) for line in sent["Line"])
            made = {
                **sent,
                "Id": str(next(self.ids)),
                "DocNumber": f"{1000 + next(self.ids)}",
                "TotalAmt": str(total),
                "Balance": str(total),
                "SyncToken": "0",
            }
            return {"Invoice": made}

        return [
            ("GET", f"{base}/query", authed(query)),
            ("POST", f"{base}/customer", authed(customer)),
            ("POST", f"{base}/invoice", authed(invoice)),
        ]

    # ------------------------------------------------------------------ Kingdee K3Cloud
    def _kingdee(self) -> list[tuple[str, str, Handler]]:
        sessions: set[str] = set()

        def login(seen: Seen, _: Any) -> Reply:
            body = seen.json()
            if body != {"acctID": KD_ACCT, "username": KD_USER, "password": KD_PASS, "lcid": 2052}:
                return ok({"Message": "用户名或密码错误！", "LoginResultType": 0, "IsSuccessByAPI": False})
            sid = f"kd-{next(self.ids)}"
            sessions.add(sid)
            answer = {"LoginResultType": 1, "IsSuccessByAPI": True, "KDSVCSessionId": sid, "Context": {}}
            return 200, answer, {"Set-Cookie": f"kdservice-sessionid={sid}; path=/; HttpOnly"}

        def alive(seen: Seen) -> bool:
            return seen.headers.get("Cookie", "").removeprefix("kdservice-sessionid=") in sessions

        lost = {"IsSuccess": False, "MsgCode": 1, "Errors": [{"Message": "会话信息已丢失，请重新登录"}]}

        def save(seen: Seen, _: Any) -> Reply:
            if not alive(seen):
                return ok({"Result": {"ResponseStatus": lost}})
            if self.failing("kingdee"):
                errors = [{"FieldName": "FNumber", "Message": "编码已被使用", "DIndex": 0}]
                failed = {"IsSuccess": False, "ErrorCode": 500, "MsgCode": 11, "Errors": errors}
                return ok({"Result": {"ResponseStatus": failed}})
            fid, number = 100100 + next(self.ids), f"KD{next(self.ids):08d}"
            status = {"IsSuccess": True, "SuccessEntitys": [{"Id": fid, "Number": number, "DIndex": 0}]}
            return ok({"Result": {"ResponseStatus": status, "Id": fid, "Number": number}})

        def query(seen: Seen, _: Any) -> Reply:
            if not alive(seen):
                return ok([[{"Result": {"ResponseStatus": lost}}]])
            data = seen.json()["data"]
            keys = data["FieldKeys"].split(",")
            rows = self.items(f"kingdee.{data['FormId']}")[
                data["StartRow"] : data["StartRow"] + data["Limit"]
            ]
            return ok([[row.get(k) for k in keys] for row in rows])

        return [
            ("POST", KD_PATH.format("AuthService.ValidateUser"), login),
            ("POST", KD_PATH.format("DynamicFormService.Save"), save),
            ("POST", KD_PATH.format("DynamicFormService.ExecuteBillQuery"), query),
        ]

    # ------------------------------------------------------------------ 用友 YonBIP
    def _yonyou(self) -> list[tuple[str, str, Handler]]:
        def gateway(seen: Seen, _: Any) -> Reply:
            if seen.query.get("tenantId") != YS_TENANT:
                return ok({"code": "10001", "message": "租户不存在"})
            url = self.vendors["yonyou"].url
            data = {"gatewayUrl": f"{url}/iuap-api-gateway", "tokenUrl": f"{url}/iuap-api-auth"}
            return ok({"code": "00000", "message": "成功！", "data": data})

        def token(seen: Seen, _: Any) -> Reply:
            text = f"appKey{YS_KEY}timestamp{seen.query.get('timestamp', '')}".encode()
            expected = base64.b64encode(hmac.new(YS_SECRET.encode(), text, hashlib.sha256).digest()).decode()
            if seen.query.get("appKey") != YS_KEY or seen.query.get("signature") != expected:
                return ok({"code": "1090003500065", "message": "签名错误"})
            return ok({"code": "00000", "data": {"access_token": YS_TOKEN, "expire": 7200}})

        def save(seen: Seen, _: Any) -> Reply:
            if seen.query.get("access_token") != YS_TOKEN:
                return 401, {"code": "401", "message": "token 已失效"}, {}
            record = seen.json()["data"]
            made = {
                **record,
                "id": str(2291507369660000 + next(self.ids)),
                "code": f"UO-{next(self.ids):06d}",
            }
            return ok({"code": "200", "message": "操作成功", "data": made})

        return [
            ("GET", "/open-auth/dataCenter/getGatewayAddress", gateway),
            ("GET", "/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken", token),
            ("POST", r"/iuap-api-gateway/yonbip/.+", save),
        ]

    # ------------------------------------------------------------------ 纷享销客
    def _fxiaoke(self) -> list[tuple[str, str, Handler]]:
        def token(seen: Seen, _: Any) -> Reply:
            if seen.json() != {"appId": FX_APP, "appSecret": FX_SECRET, "permanentCode": FX_CODE}:
                return ok({"errorCode": 20016, "errorMessage": "appSecret错误"})
            return ok(
                {
                    "errorCode": 0,
                    "errorMessage": "success",
                    "corpAccessToken": FX_TOKEN,
                    "corpId": "FSCID_tpl",
                    "expiresIn": 7200,
                }
            )

        def crm(handle: Callable[[dict[str, Any]], Any]) -> Handler:
            def checked(seen: Seen, _: Any) -> Reply:
                sent = seen.json()
                if sent.get("corpAccessToken") != FX_TOKEN or sent.get("corpId") != "FSCID_tpl":
                    return ok({"errorCode": 20005, "errorMessage": "corpAccessToken无效"})
                return ok({"errorCode": 0, "errorMessage": "OK", **handle(sent["data"])})

            return checked

        def query(data: dict[str, Any]) -> dict[str, Any]:
            rows = self.items(f"fxiaoke.{data['dataObjectApiName']}")
            info = data["search_query_info"]
            page = rows[info["offset"] : info["offset"] + info["limit"]]
            return {"data": {"dataList": page, "total": len(rows)}}

        def create(data: dict[str, Any]) -> dict[str, Any]:
            return {"dataId": f"fx-{next(self.ids)}"}

        def update(data: dict[str, Any]) -> dict[str, Any]:
            return {"dataId": data["object_data"]["_id"]}

        return [
            ("POST", "/cgi/corpAccessToken/get/V2", token),
            ("POST", "/cgi/crm/v2/data/query", crm(query)),
            ("POST", "/cgi/crm/v2/data/create", crm(create)),
            ("POST", "/cgi/crm/v2/data/update", crm(update)),
        ]

    # ------------------------------------------------------------------ Zoho CRM
    def _zoho(self) -> list[tuple[str, str, Handler]]:
        def authed(handle: Callable[[Seen, re.Match[str]], Reply]) -> Handler:
            def checked(seen: Seen, found: re.Match[str]) -> Reply:
                if seen.headers.get("Authorization") != f"Zoho-oauthtoken {ZOHO_TOKEN}":
                    return (
                        401,
                        {"code": "INVALID_TOKEN", "message": "invalid oauth token", "status": "error"},
                        {},
                    )
                return handle(seen, found)

            return checked

        def written(record_id: str, action: str | None = None) -> Reply:
            detail = {
                "code": "SUCCESS",
                "details": {"id": record_id},
                "message": "record updated",
                "status": "success",
                **({"action": action} if action else {}),
            }
            return ok({"data": [detail]})

        def listed(rows: list[dict[str, Any]]) -> Reply:
            if not rows:
                return 204, b"", {}
            return ok({"data": rows, "info": {"count": len(rows), "more_records": False}})

        def coql(seen: Seen, _: Any) -> Reply:
            module = seen.json()["select_query"].split(" from ", 1)[1].split()[0]
            return listed(self.items(f"zoho.{module}"))

        def search(seen: Seen, found: re.Match[str]) -> Reply:
            rows = self.items(f"zoho.{found.group(1)}")
            email = seen.query.get("email")
            return listed([r for r in rows if not email or r.get("Email") == email])

        return [
            ("POST", "/crm/v7/coql", authed(coql)),
            ("GET", r"/crm/v7/(\w+)/search", authed(search)),
            (
                "POST",
                r"/crm/v7/(\w+)/upsert",
                authed(lambda s, f: written(str(5725767000000600000 + next(self.ids)), "insert")),
            ),
            ("PUT", r"/crm/v7/(\w+)/(\d+)", authed(lambda s, f: written(f.group(2)))),
            (
                "POST",
                r"/crm/v7/(\w+)/(\d+)/Notes",
                authed(lambda s, f: written(str(5725767000000700000 + next(self.ids)))),
            ),
        ]

    # ------------------------------------------------------------------ Salesforce
    def _salesforce(self) -> list[tuple[str, str, Handler]]:
        data = "/services/data/v60.0"

        def authed(handle: Callable[[Seen, re.Match[str]], Reply]) -> Handler:
            def checked(seen: Seen, found: re.Match[str]) -> Reply:
                if seen.headers.get("Authorization") != f"Bearer {SF_TOKEN}":
                    return (
                        401,
                        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                        {},
                    )
                return handle(seen, found)

            return checked

        def query(seen: Seen, _: Any) -> Reply:
            soql = seen.query["q"]
            sobject = soql.split(" FROM ", 1)[1].split()[0]
            rows = [{"attributes": {"type": sobject}, **row} for row in self.items(f"salesforce.{sobject}")]
            return ok({"totalSize": len(rows), "done": True, "records": rows})

        def create(seen: Seen, found: re.Match[str]) -> Reply:
            return ok({"id": f"00Q5g0000{next(self.ids):06d}AAB", "success": True, "errors": []}, 201)

        def upsert(seen: Seen, found: re.Match[str]) -> Reply:
            if self.failing("salesforce"):
                return (
                    400,
                    [{"message": "Account Name is required", "errorCode": "REQUIRED_FIELD_MISSING"}],
                    {},
                )
            return ok(
                {"id": f"0015g0000{next(self.ids):06d}AAB", "success": True, "created": True, "errors": []},
                201,
            )

        return [
            ("GET", f"{data}/query", authed(query)),
            ("POST", rf"{data}/sobjects/(\w+)/", authed(create)),
            ("PATCH", rf"{data}/sobjects/(\w+)/(\w+)", authed(lambda s, f: (204, b"", {}))),
            ("PATCH", rf"{data}/sobjects/(\w+)/(\w+)/([^/]+)", authed(upsert)),
        ]

    # ------------------------------------------------------------------ HubSpot
    def _hubspot(self) -> list[tuple[str, str, Handler]]:
        def authed(handle: Callable[[Seen, re.Match[str]], Any], status: int = 200) -> Handler:
            def checked(seen: Seen, found: re.Match[str]) -> Reply:
                if seen.headers.get("Authorization") != f"Bearer {HS_TOKEN}":
                    return (
                        401,
                        {
                            "status": "error",
                            "message": "Authentication credentials not found.",
                            "category": "INVALID_AUTHENTICATION",
                        },
                        {},
                    )
                return ok(handle(seen, found), status)

            return checked

        def upsert(seen: Seen, _: Any) -> dict[str, Any]:
            (item,) = seen.json()["inputs"]
            made = {
                "id": str(next(self.ids)),
                "properties": item["properties"],
                "new": True,
                "createdAt": "2026-12-05T10:00:00Z",
                "updatedAt": "2026-12-05T10:00:00Z",
            }
            return {"status": "COMPLETE", "results": [made]}

        def search(seen: Seen, found: re.Match[str]) -> dict[str, Any]:
            rows = self.items(f"hubspot.{found.group(1)}")
            return {"total": len(rows), "results": rows}

        def patch(seen: Seen, found: re.Match[str]) -> dict[str, Any]:
            return {
                "id": found.group(1),
                "properties": seen.json()["properties"],
                "updatedAt": "2026-12-05T10:00:00Z",
            }

        def deal(seen: Seen, found: re.Match[str]) -> dict[str, Any]:
            wanted = seen.query.get("properties", "").split(",")
            stored = next((d for d in self.items("hubspot.deals") if d["id"] == found.group(1)), None)
            properties = (stored or {}).get("properties", {})
            return {"id": found.group(1), "properties": {k: v for k, v in properties.items() if k in wanted}}

        def task(seen: Seen, _: Any) -> dict[str, Any]:
            return {"id": str(9000 + next(self.ids)), "properties": seen.json()["properties"]}

        return [
            ("POST", "/crm/v3/objects/contacts/batch/upsert", authed(upsert)),
            ("POST", r"/crm/v3/objects/(\w+)/search", authed(search)),
            ("PATCH", r"/crm/v3/objects/deals/(\w+)", authed(patch)),
            ("GET", r"/crm/v3/objects/deals/(\w+)", authed(deal)),
            ("POST", "/crm/v3/objects/tasks", authed(task, 201)),
        ]

    # ------------------------------------------------------------------ DocuSign
    def _docusign(self) -> list[tuple[str, str, Handler]]:
        base = f"/restapi/v2.1/accounts/{DS_ACCOUNT}/envelopes"
        envelopes: dict[str, dict[str, Any]] = {}

        def authed(handle: Callable[[Seen], Reply]) -> Handler:
            def checked(seen: Seen, _: Any) -> Reply:
                if seen.headers.get("Authorization") != f"Bearer {DS_TOKEN}":
                    return 401, {"errorCode": "AUTHORIZATION_INVALID_TOKEN", "message": "invalid token"}, {}
                return handle(seen)

            return checked

        def send(seen: Seen) -> Reply:
            envelope_id = f"4b728be4-4d4a-4c8e-9b1c-{next(self.ids):012d}"
            envelopes[envelope_id] = {**seen.json(), "envelopeId": envelope_id}
            return ok(
                {
                    "envelopeId": envelope_id,
                    "status": "sent",
                    "statusDateTime": "2026-12-05T08:30:00Z",
                    "uri": f"/envelopes/{envelope_id}",
                },
                201,
            )

        def listing(seen: Seen) -> Reply:
            done = (
                [
                    {
                        "envelopeId": eid,
                        "status": "completed",
                        "emailSubject": sent.get("emailSubject"),
                        "statusChangedDateTime": "2026-12-05T09:30:00.0000000Z",
                    }
                    for eid, sent in envelopes.items()
                ]
                if self.decided()
                else []
            )
            return ok(
                {
                    "envelopes": done,
                    "resultSetSize": str(len(done)),
                    "totalSetSize": str(len(done)),
                    "startPosition": "0",
                    "endPosition": str(max(len(done) - 1, 0)),
                    "lastQueriedDateTime": "2026-12-05T09:31:00.0000000Z",
                }
            )

        return [("POST", base, authed(send)), ("GET", base, authed(listing))]

    # ------------------------------------------------------------------ form vendors' webhook APIs
    def _typeform(self) -> list[tuple[str, str, Handler]]:
        def register(seen: Seen, found: re.Match[str]) -> Reply:
            if seen.headers.get("Authorization") != f"Bearer {TYPEFORM_TOKEN}":
                return (
                    403,
                    {"code": "AUTHENTICATION_FAILED", "description": "Authentication credentials not found"},
                    {},
                )
            sent = seen.json()
            self.typeform_secrets[found.group(1)] = sent["secret"]
            return ok({"id": "01HTPLWEBHOOK", "form_id": found.group(1), "tag": found.group(2), **sent})

        return [
            ("PUT", r"/forms/([^/]+)/webhooks/([^/]+)", register),
            ("DELETE", r"/forms/([^/]+)/webhooks/([^/]+)", lambda s, f: (204, b"", {})),
        ]

    def _google_forms(self) -> list[tuple[str, str, Handler]]:
        def responses(seen: Seen, _: Any) -> Reply:
            if seen.headers.get("Authorization") != f"Bearer {GOOGLE_TOKEN}":
                error = {
                    "code": 401,
                    "message": "Request had invalid authentication credentials.",
                    "status": "UNAUTHENTICATED",
                }
                return 401, {"error": error}, {}
            assert seen.query["filter"].startswith("timestamp > "), seen.query
            return ok({"responses": self.items("google_forms.responses")})

        return [("GET", r"/v1/forms/[^/]+/responses", responses)]

    def _jotform(self) -> list[tuple[str, str, Handler]]:
        def hooks(seen: Seen, _: Any) -> Reply:
            if seen.headers.get("APIKEY") != JOTFORM_KEY:
                return (
                    401,
                    {"responseCode": 401, "message": "You're not authorized to use (/form-id-webhooks) "},
                    {},
                )
            if seen.method == "POST":
                self.jotform_hooks.append(form(seen)["webhookURL"])
            return ok(
                {"responseCode": 200, "message": "success", "content": dict(enumerate(self.jotform_hooks))}
            )

        return [("GET", r"/form/\d+/webhooks", hooks), ("POST", r"/form/\d+/webhooks", hooks)]

    # ------------------------------------------------------------------ a generic REST system (helpdesk)
    def _http(self) -> list[tuple[str, str, Handler]]:
        def authed(handle: Callable[[Seen, re.Match[str]], Any]) -> Handler:
            def checked(seen: Seen, found: re.Match[str]) -> Reply:
                if seen.headers.get("Authorization") != f"Bearer {HTTP_TOKEN}":
                    return 401, {"error": "unauthorized"}, {}
                return ok(handle(seen, found))

            return checked

        def ticket(seen: Seen, found: re.Match[str]) -> dict[str, Any]:
            rows = {row["id"]: row for row in self.items("http.tickets")}
            return rows.get(found.group(1), {"id": found.group(1), "status": "open"})

        def report(seen: Seen, _: Any) -> Reply:
            return ok(self.poll_items.get("http.report", {}))

        def inbound(seen: Seen, _: Any) -> Reply:
            return ok({"received": True}, 201)

        return [
            ("GET", "/reports/daily", report),
            ("POST", "/hooks/inbound", inbound),
            ("GET", r"/api/v2/tickets/([^/]+)", authed(ticket)),
            ("PUT", r"/api/v2/tickets/([^/]+)", authed(lambda s, f: {"id": f.group(1), **s.json()})),
        ]


def sign_jiandaoyun(body: bytes, stamp: str, nonce: str) -> str:
    """简道云's push signature: sha1 of nonce:body:secret:timestamp."""
    return hashlib.sha1(
        b":".join([nonce.encode(), body, JDY_PUSH_SECRET.encode(), stamp.encode()])
    ).hexdigest()


def sign_typeform(secret: str, body: bytes) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
