"""DocuSign actions: send an envelope (template or document), read it, void it."""

from __future__ import annotations

from typing import Any

from connectors.docusign.api import account_path, call
from hub.sdk.connector import Action
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError

ENVELOPE_EVENTS = [
    "envelope-sent",
    "envelope-delivered",
    "envelope-completed",
    "envelope-declined",
    "envelope-voided",
]
TAB_LIST = {"type": "object", "title": "Tabs, as DocuSign's tabs object (signHereTabs, textTabs, ...)"}

RECIPIENT = {
    "type": "object",
    "required": ["name", "email"],
    "properties": {
        "name": {"type": "string"},
        "email": {"type": "string"},
        "role_name": {"type": "string", "title": "Template role (templates only)"},
        "recipient_id": {"type": "string"},
        "routing_order": {"type": "string"},
        "client_user_id": {"type": "string", "title": "Embedded signing id"},
        "tabs": TAB_LIST,
    },
}


def recipient(spec: dict[str, Any], index: int, template: bool) -> dict[str, Any]:
    """Our snake_case recipient as DocuSign's templateRole or signer."""
    out: dict[str, Any] = {"name": spec["name"], "email": spec["email"]}
    if template:
        if not spec.get("role_name"):
            raise PermanentError(f"DocuSign: template role {index + 1} needs role_name")
        out["roleName"] = spec["role_name"]
    else:
        out["recipientId"] = str(spec.get("recipient_id") or index + 1)
        out["routingOrder"] = str(spec.get("routing_order") or 1)
    if spec.get("routing_order") and template:
        out["routingOrder"] = str(spec["routing_order"])
    if spec.get("client_user_id"):
        out["clientUserId"] = spec["client_user_id"]
    if spec.get("tabs"):
        out["tabs"] = spec["tabs"]
    return out


def event_notification(url: str, events: list[str]) -> dict[str, Any]:
    """Per-envelope Connect: JSON (restv2.1) messages to `url`, HMAC-signed, retried until acknowledged."""
    return {
        "url": url,
        "requireAcknowledgment": "true",
        "includeHMAC": "true",
        "loggingEnabled": "true",
        "deliveryMode": "SIM",
        "eventData": {"version": "restv2.1", "format": "json", "includeData": ["recipients"]},
        "events": events,
    }


class SendEnvelope(Action):
    key = "send_envelope"
    title = "Send an envelope"
    description = "Sends a template with its roles filled in, or documents with signers and tabs."
    # No idempotency key in the Envelopes API: an unknown outcome is held for a person.
    repeat_safe = False
    input_schema = {
        "type": "object",
        "required": ["email_subject"],
        "additionalProperties": False,
        "properties": {
            "email_subject": {"type": "string", "maxLength": 100},
            "email_blurb": {"type": "string", "maxLength": 10000},
            "template_id": {"type": "string", "title": "Template id"},
            "template_roles": {"type": "array", "items": RECIPIENT, "title": "Template roles"},
            "documents": {
                "type": "array",
                "title": "Documents",
                "items": {
                    "type": "object",
                    "required": ["name", "document_base64"],
                    "properties": {
                        "name": {"type": "string"},
                        "document_base64": {"type": "string", "writeOnly": True},
                        "file_extension": {"type": "string", "default": "pdf"},
                        "document_id": {"type": "string"},
                    },
                },
            },
            "signers": {"type": "array", "items": RECIPIENT, "title": "Signers (with documents)"},
            "status": {"enum": ["sent", "created"], "default": "sent", "title": "sent, or created (draft)"},
            "custom_fields": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "title": "Envelope custom text fields",
            },
            "status_webhook_url": {
                "type": "string",
                "format": "uri",
                "title": "Status webhook URL",
                "description": "Adds an eventNotification so DocuSign posts this envelope's status "
                "changes there (e.g. an envelope_status recipe's or wait step's hook URL).",
            },
            "status_events": {
                "type": "array",
                "items": {"enum": ENVELOPE_EVENTS},
                "default": ENVELOPE_EVENTS,
            },
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "envelope_id": {"type": "string"},
            "status": {"type": "string"},
            "status_date_time": {"type": ["string", "null"]},
            "uri": {"type": ["string", "null"]},
        },
    }
    sample_output = {
        "envelope_id": "4b728be4-4d4a-4c8e-9b1c-3f5a4f2b9d11",
        "status": "sent",
        "status_date_time": "2026-11-23T08:30:00.0000000Z",
        "uri": "/envelopes/4b728be4-4d4a-4c8e-9b1c-3f5a4f2b9d11",
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        definition = build_definition(inputs)
        answer = call(ctx, "POST", account_path(ctx, "envelopes"), json=definition).json()
        if not answer.get("envelopeId"):
            raise PermanentError("DocuSign: the answer has no envelopeId")
        return {
            "envelope_id": answer["envelopeId"],
            "status": answer.get("status"),
            "status_date_time": answer.get("statusDateTime"),
            "uri": answer.get("uri"),
        }


def build_definition(inputs: dict[str, Any]) -> dict[str, Any]:
    template, documents = inputs.get("template_id"), inputs.get("documents")
    if bool(template) == bool(documents):
        raise PermanentError(
            "DocuSign: give either template_id (with template_roles) or documents (with signers)"
        )
    definition: dict[str, Any] = {
        "emailSubject": inputs["email_subject"],
        "status": inputs.get("status") or "sent",
    }
    if inputs.get("email_blurb"):
        definition["emailBlurb"] = inputs["email_blurb"]
    if template:
        roles = inputs.get("template_roles") or []
        definition["templateId"] = template
        definition["templateRoles"] = [recipient(r, i, template=True) for i, r in enumerate(roles)]
    else:
        signers = inputs.get("signers") or []
        if not signers:
            raise PermanentError("DocuSign: documents need at least one signer")
        definition["documents"] = [
            {
                "documentBase64": doc["document_base64"],
                "name": doc["name"],
                "fileExtension": doc.get("file_extension") or "pdf",
                "documentId": str(doc.get("document_id") or i + 1),
            }
            for i, doc in enumerate(documents or [])
        ]
        definition["recipients"] = {
            "signers": [recipient(s, i, template=False) for i, s in enumerate(signers)]
        }
    if inputs.get("custom_fields"):
        definition["customFields"] = {
            "textCustomFields": [
                {"name": k, "value": str(v), "show": "false", "required": "false"}
                for k, v in inputs["custom_fields"].items()
            ]
        }
    if inputs.get("status_webhook_url"):
        events = inputs.get("status_events") or ENVELOPE_EVENTS
        definition["eventNotification"] = event_notification(inputs["status_webhook_url"], events)
    return definition


class GetEnvelope(Action):
    key = "get_envelope"
    title = "Get an envelope"
    description = "Reads an envelope's status and dates (and recipients when asked)."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["envelope_id"],
        "additionalProperties": False,
        "properties": {
            "envelope_id": {"type": "string"},
            "include": {
                "type": "array",
                "items": {"enum": ["recipients", "tabs", "documents", "custom_fields", "extensions"]},
            },
        },
    }
    output_schema = {
        "type": "object",
        "properties": {"envelope_id": {"type": "string"}, "status": {"type": "string"}, "envelope": {}},
    }
    sample_output = {
        "envelope_id": "4b728be4-4d4a-4c8e-9b1c-3f5a4f2b9d11",
        "status": "completed",
        "completed_date_time": "2026-11-24T02:11:09.0000000Z",
        "voided_reason": None,
        "envelope": {"envelopeId": "4b728be4-…", "status": "completed"},
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        params = {"include": ",".join(inputs["include"])} if inputs.get("include") else None
        envelope = call(
            ctx, "GET", account_path(ctx, f"envelopes/{inputs['envelope_id']}"), params=params
        ).json()
        return summary(envelope)


def summary(envelope: dict[str, Any]) -> dict[str, Any]:
    return {
        "envelope_id": envelope.get("envelopeId"),
        "status": envelope.get("status"),
        "email_subject": envelope.get("emailSubject"),
        "sent_date_time": envelope.get("sentDateTime"),
        "completed_date_time": envelope.get("completedDateTime"),
        "status_changed_date_time": envelope.get("statusChangedDateTime"),
        "voided_reason": envelope.get("voidedReason"),
        "envelope": envelope,
    }


class VoidEnvelope(Action):
    key = "void_envelope"
    title = "Void an envelope"
    description = "Voids an envelope in progress; recipients are told the reason."
    repeat_safe = True  # voiding a voided envelope is answered as done
    input_schema = {
        "type": "object",
        "required": ["envelope_id", "voided_reason"],
        "additionalProperties": False,
        "properties": {
            "envelope_id": {"type": "string"},
            "voided_reason": {"type": "string", "minLength": 1, "maxLength": 200},
        },
    }
    output_schema = {
        "type": "object",
        "properties": {"envelope_id": {"type": "string"}, "status": {"type": "string"}},
    }
    sample_output = {"envelope_id": "4b728be4-4d4a-4c8e-9b1c-3f5a4f2b9d11", "status": "voided"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        path = account_path(ctx, f"envelopes/{inputs['envelope_id']}")
        try:
            call(ctx, "PUT", path, json={"status": "voided", "voidedReason": inputs["voided_reason"]})
        except PermanentError as exc:
            if exc.vendor_code != "ENVELOPE_CANNOT_VOID_INVALID_STATE":
                raise
            current = call(ctx, "GET", path).json()
            if current.get("status") != "voided":
                raise PermanentError(
                    f"{exc.message}; the envelope is {current.get('status')}, which cannot be voided",
                    vendor_code=exc.vendor_code,
                    status=exc.status,
                ) from exc
        return {"envelope_id": inputs["envelope_id"], "status": "voided"}
