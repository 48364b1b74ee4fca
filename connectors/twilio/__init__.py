"""The `twilio` connector: send SMS, and receive incoming messages and delivery statuses."""

from __future__ import annotations

import base64
from typing import Any

import requests

from connectors.twilio.signing import check_signature
from hub.sdk.auth import Auth, secret_field
from hub.sdk.connector import Action, Connector, WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError, SignatureError
from hub.sdk.http import HttpResponse
from hub.sdk.types import InboundRequest, TriggerEvent, WebhookResponse

API_VERSION = "2010-04-01"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MESSAGE_STATUSES = [
    "queued",
    "sending",
    "sent",
    "failed",
    "delivered",
    "undelivered",
    "receiving",
    "received",
    "accepted",
    "scheduled",
    "read",
    "partially_delivered",
    "canceled",
]


class TwilioAuth(Auth):
    """HTTP Basic with the Account SID and Auth Token, or with an API key SID and secret.

    The Auth Token is also the key of Twilio's webhook signatures, so webhook triggers need it
    even when API calls use an API key.
    """

    kind = "basic"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {
            "account_sid": {"type": "string", "title": "Account SID", "pattern": "^AC[0-9a-fA-F]{32}$"},
            "auth_token": secret_field(
                "Auth Token", "Signs webhooks; also used for API calls without a key."
            ),
            "api_key_sid": {"type": "string", "title": "API key SID (optional)", "pattern": "^SK"},
            "api_key_secret": secret_field("API key secret (optional)"),
        }

    def required(self) -> list[str]:
        return ["account_sid"]

    def apply(self, request: requests.PreparedRequest, connection: dict[str, Any]) -> None:
        if connection.get("api_key_sid") and connection.get("api_key_secret"):
            user, password = connection["api_key_sid"], connection["api_key_secret"]
        elif connection.get("auth_token"):
            user, password = connection.get("account_sid"), connection["auth_token"]
        else:
            return
        raw = f"{user}:{password}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")


def account_path(ctx: Context, tail: str) -> str:
    sid = ctx.connection.get("account_sid")
    if not sid:
        raise PermanentError("Twilio: the connection has no account_sid")
    return f"/{API_VERSION}/Accounts/{sid}/{tail}"


class SendSms(Action):
    key = "send_sms"
    title = "Send an SMS"
    description = "Creates a Message: from a phone number or through a Messaging Service."
    # Twilio's Messages API has no idempotency key: a repeat after an unknown outcome may double-send.
    repeat_safe = False
    input_schema = {
        "type": "object",
        "required": ["to"],
        "additionalProperties": False,
        "properties": {
            "to": {"type": "string", "title": "To (E.164, e.g. +8613800000000)"},
            "body": {"type": "string", "title": "Text", "maxLength": 1600},
            "from": {"type": "string", "title": "From (a Twilio number or sender id)"},
            "messaging_service_sid": {"type": "string", "title": "Messaging Service SID", "pattern": "^MG"},
            "status_callback": {"type": "string", "format": "uri", "title": "Status callback URL"},
            "media_url": {
                "type": "array",
                "items": {"type": "string"},
                "maxItems": 10,
                "title": "Media URLs",
            },
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "sid": {"type": "string"},
            "status": {"enum": MESSAGE_STATUSES},
            "to": {"type": "string"},
            "from": {"type": ["string", "null"]},
            "num_segments": {"type": ["string", "null"]},
            "price": {"type": ["string", "null"]},
            "error_code": {"type": ["integer", "null"]},
            "error_message": {"type": ["string", "null"]},
            "date_created": {"type": ["string", "null"]},
        },
    }
    sample_output = {
        "sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        "status": "queued",
        "to": "+15558675310",
        "from": "+15557122661",
        "messaging_service_sid": None,
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "error_code": None,
        "error_message": None,
        "date_created": "Fri, 24 May 2019 17:18:27 +0000",
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        if not inputs.get("from") and not inputs.get("messaging_service_sid"):
            raise PermanentError("Twilio: give `from` or `messaging_service_sid`")
        if not inputs.get("body") and not inputs.get("media_url"):
            raise PermanentError("Twilio: give `body` or `media_url`")
        form: list[tuple[str, str]] = [("To", inputs["to"])]
        for name, field in (
            ("From", "from"),
            ("MessagingServiceSid", "messaging_service_sid"),
            ("Body", "body"),
            ("StatusCallback", "status_callback"),
        ):
            if inputs.get(field):
                form.append((name, str(inputs[field])))
        form.extend(("MediaUrl", str(url)) for url in inputs.get("media_url") or [])
        answer = ctx.http.post(account_path(ctx, "Messages.json"), data=form).json()
        keys = ("sid", "status", "to", "from", "messaging_service_sid", "num_segments", "price")
        out = {k: answer.get(k) for k in keys}
        out.update(
            price_unit=answer.get("price_unit"),
            error_code=answer.get("error_code"),
            error_message=answer.get("error_message"),
            date_created=answer.get("date_created"),
        )
        return out


class TwilioWebhook(WebhookTrigger):
    """Form-encoded POSTs signed with the account's Auth Token."""

    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "public_url": {
                "type": "string",
                "format": "uri",
                "title": "Public URL as configured in Twilio",
                "description": "Twilio signs the exact URL it calls. Leave empty to use the hook URL the "
                "hub shows; set it when a proxy changes scheme, host, port or path.",
            },
        },
    }

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        token = ctx.connection.get("auth_token")
        if not token:
            raise SignatureError("the Twilio connection needs its Auth Token to check webhook signatures")
        urls = [request.url]
        public = config.get("public_url")
        if public:
            query = request.url.partition("?")[2]
            urls = [public if "?" in public or not query else f"{public}?{query}"]
        signature = request.header("X-Twilio-Signature")
        if request.content_type == "application/x-www-form-urlencoded":
            check_signature(str(token), urls, request.form(), signature)
        else:  # JSON webhooks: the URL carries the body's hash (bodySHA256) and is signed alone
            check_signature(str(token), urls, {}, signature, body=request.body)

    def fields(self, ctx: Context, request: InboundRequest) -> dict[str, Any]:
        data = request.form()
        account = ctx.connection.get("account_sid")
        if account and data.get("AccountSid") and data["AccountSid"] != account:
            raise PermanentError(f"Twilio: the request is for account {data['AccountSid']}, not {account}")
        if not data.get("MessageSid"):
            raise PermanentError("Twilio: the request has no MessageSid")
        return data


class IncomingSms(TwilioWebhook):
    key = "incoming_sms"
    title = "Incoming SMS"
    description = (
        "A message arrives at one of your Twilio numbers (set the number's 'A message comes in' "
        "webhook to the hook URL, HTTP POST). Answered with empty TwiML, so Twilio sends no reply."
    )
    sample = {
        "MessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": "+15558675310",
        "To": "+15557122661",
        "Body": "YES",
        "NumMedia": "0",
    }

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        data = self.fields(ctx, request)
        return [TriggerEvent(data=data, id=str(data["MessageSid"]))]

    def acknowledge(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest, event_ids: list[str]
    ) -> WebhookResponse | None:
        return WebhookResponse(status=200, body=EMPTY_TWIML, headers={"Content-Type": "text/xml"})


class MessageStatus(TwilioWebhook):
    key = "message_status"
    title = "Message status changed"
    description = (
        "Twilio reports a sent message's new status (the StatusCallback of send_sms, or the "
        "Messaging Service's status callback). Twilio sends no callback for the initial status."
    )
    sample = {
        "MessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        "MessageStatus": "delivered",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": "+15557122661",
        "To": "+15558675310",
        "ErrorCode": None,
    }

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        data = self.fields(ctx, request)
        status = data.get("MessageStatus") or data.get("SmsStatus")
        if not status:
            raise PermanentError("Twilio: the status callback has no MessageStatus")
        data["MessageStatus"] = status
        data.setdefault("ErrorCode", None)
        return [TriggerEvent(data=data, id=f"{data['MessageSid']}:{status}")]


class TwilioConnector(Connector):
    id = "twilio"
    name = "Twilio"
    category = "messaging"
    description = "Send SMS through Twilio, and react to incoming messages and delivery statuses."
    icon = "twilio"
    docs_url = "docs/connectors/twilio.md"
    base_url = "https://api.twilio.com"
    auth = TwilioAuth()
    triggers = (IncomingSms, MessageStatus)
    actions = (SendSms,)
    default_concurrency = 10

    def test_connection(self, ctx: Context) -> str:
        answer = ctx.http.get(account_path(ctx, "").rstrip("/") + ".json").json()
        return f"connected to Twilio account {answer.get('friendly_name') or answer.get('sid')}"

    def error_parser(self, response: HttpResponse) -> tuple[str, str | None] | None:
        """Twilio errors: {code, message, more_info, status}."""
        if not response.is_json:
            return None
        body = response.json()
        if not isinstance(body, dict) or not body.get("message"):
            return None
        message = str(body["message"])
        if body.get("more_info"):
            message += f" (see {body['more_info']})"
        code = body.get("code")
        return message, None if code is None else str(code)


connector = TwilioConnector()
