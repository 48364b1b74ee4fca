"""法大大 actions: create a sign task from uploaded files, read it, cancel it, get its download link."""

from __future__ import annotations

from typing import Any

from connectors.fadada.api import call
from connectors.fadada.poll import OWNER_PROPERTIES, owner_id
from connectors.fadada.tasks import SAMPLE, TASK_SCHEMA, from_api
from hub.sdk.connector import Action
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError

TASK_ID = {"type": "string", "title": "Sign task id", "pattern": "^[A-Za-z0-9_-]+$"}
ACTOR = {
    "type": "object",
    "required": ["actor_id", "actor_type", "actor_name"],
    "properties": {
        "actor_id": {"type": "string", "title": "Actor id (your label, unique in the task)"},
        "actor_type": {"enum": ["corp", "person"]},
        "actor_name": {"type": "string", "title": "Company or person name"},
        "permissions": {"type": "array", "items": {"type": "string"}, "default": ["sign"]},
        "actor_open_id": {"type": "string", "title": "OpenId (when the actor authorised the app)"},
        "account_name": {"type": "string", "title": "Mobile or email to notify"},
        "sign_fields": {"type": "array", "items": {"type": "object"}, "title": "signFields (FASC objects)"},
    },
}


def actor(row: dict[str, Any]) -> dict[str, Any]:
    inner: dict[str, Any] = {
        "actorId": row["actor_id"],
        "actorType": row["actor_type"],
        "actorName": row["actor_name"],
        "permissions": list(row.get("permissions") or ["sign"]),
    }
    if row.get("actor_open_id"):
        inner["actorOpenId"] = row["actor_open_id"]
    if row.get("account_name"):
        inner["accountName"] = row["account_name"]
        inner["sendNotification"] = True
    out: dict[str, Any] = {"actor": inner}
    if row.get("sign_fields"):
        out["signFields"] = row["sign_fields"]
    return out


class CreateSignTask(Action):
    key = "create_sign_task"
    title = "Create a sign task"
    description = (
        "Creates (and by default starts) a sign task on uploaded files with its signers (/sign-task/create)."
    )
    repeat_safe = False  # FASC takes no idempotency key: a blind retry could create a second task
    input_schema = {
        "type": "object",
        "required": ["subject", "docs", "actors"],
        "additionalProperties": False,
        "properties": {
            "subject": {"type": "string", "title": "Subject (signTaskSubject)"},
            "initiator_open_id": {
                "type": "string",
                "title": "Initiator OpenCorpId (default: the connection's)",
            },
            "docs": {
                "type": "array",
                "minItems": 1,
                "title": "Documents (fileId from /file/process)",
                "items": {
                    "type": "object",
                    "required": ["doc_id", "doc_name", "file_id"],
                    "properties": {
                        "doc_id": {"type": "string"},
                        "doc_name": {"type": "string"},
                        "file_id": {"type": "string"},
                    },
                },
            },
            "actors": {"type": "array", "minItems": 1, "items": ACTOR, "title": "Signers and others"},
            "auto_start": {"type": "boolean", "default": True, "title": "Start at once"},
            "auto_finish": {"type": "boolean", "default": True, "title": "Finish when everyone signed"},
            "sign_in_order": {"type": "boolean", "default": False},
            "trans_reference_id": {"type": "string", "title": "Your reference (transReferenceId)"},
            "expires_time": {"type": "string", "title": "Deadline (epoch ms)"},
        },
    }
    output_schema = {"type": "object", "properties": {"sign_task_id": {"type": "string"}}}
    sample_output = {"sign_task_id": "1681234567890123456"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        initiator = inputs.get("initiator_open_id") or ctx.connection.get("open_corp_id")
        if not initiator:
            raise PermanentError("give initiator_open_id, or set the connection's OpenCorpId")
        biz: dict[str, Any] = {
            "signTaskSubject": inputs["subject"],
            "initiator": {"idType": "corp", "openId": initiator},
            "docs": [
                {"docId": d["doc_id"], "docName": d["doc_name"], "docFileId": d["file_id"]}
                for d in inputs["docs"]
            ],
            "actors": [actor(row) for row in inputs["actors"]],
            "autoStart": bool(inputs.get("auto_start", True)),
            "autoFinish": bool(inputs.get("auto_finish", True)),
            "signInOrder": bool(inputs.get("sign_in_order", False)),
        }
        for name, field in (("trans_reference_id", "transReferenceId"), ("expires_time", "expiresTime")):
            if inputs.get(name):
                biz[field] = str(inputs[name])
        task_id = call(ctx, "/sign-task/create", biz).get("signTaskId")
        if not task_id:
            raise PermanentError("法大大: the answer to /sign-task/create carries no signTaskId")
        return {"sign_task_id": str(task_id)}


class GetSignTask(Action):
    key = "get_sign_task"
    title = "Get a sign task"
    description = "Reads a sign task's status and details (/sign-task/app/get-detail)."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["sign_task_id"],
        "additionalProperties": False,
        "properties": {"sign_task_id": TASK_ID},
    }
    output_schema = TASK_SCHEMA
    sample_output = {**SAMPLE, "event": None, "source": "api"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        data = call(ctx, "/sign-task/app/get-detail", {"signTaskId": inputs["sign_task_id"]})
        return from_api({"signTaskId": inputs["sign_task_id"], **data})


class CancelSignTask(Action):
    key = "cancel_sign_task"
    title = "Cancel a sign task"
    description = "Cancels (撤销) a sign task in progress (/sign-task/cancel)."
    repeat_safe = True  # cancelling twice leaves it cancelled (the repeat answers an error we accept)
    input_schema = {
        "type": "object",
        "required": ["sign_task_id"],
        "additionalProperties": False,
        "properties": {
            "sign_task_id": TASK_ID,
            "note": {"type": "string", "title": "Reason (terminationNote)"},
        },
    }
    output_schema = {"type": "object", "properties": {"sign_task_id": {"type": "string"}}}
    sample_output = {"sign_task_id": "1681234567890123456"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        biz = {"signTaskId": inputs["sign_task_id"]}
        if inputs.get("note"):
            biz["terminationNote"] = inputs["note"]
        call(ctx, "/sign-task/cancel", biz)
        return {"sign_task_id": inputs["sign_task_id"]}


class GetDownloadUrl(Action):
    key = "get_download_url"
    title = "Get the signed documents' download link"
    description = "A link (valid 1 hour) to the task's signed files (/sign-task/owner/get-download-url)."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["sign_task_id"],
        "additionalProperties": False,
        "properties": {
            "sign_task_id": TASK_ID,
            **OWNER_PROPERTIES,
        },
    }
    output_schema = {
        "type": "object",
        "properties": {"sign_task_id": {"type": "string"}, "download_url": {"type": "string"}},
    }
    sample_output = {"sign_task_id": "1681234567890123456", "download_url": "https://.../download?..."}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        biz = {
            "ownerId": owner_id(ctx, inputs),
            "signTaskId": inputs["sign_task_id"],
            "downloadMode": "download",
        }
        url = call(ctx, "/sign-task/owner/get-download-url", biz).get("downloadUrl")
        if not url:
            raise PermanentError("法大大: the answer carries no downloadUrl")
        return {"sign_task_id": inputs["sign_task_id"], "download_url": str(url)}
