"""Sign flows: the create-by-file request body and one shape for flow details and callbacks."""

from __future__ import annotations

from typing import Any

from hub.sdk.errors import PermanentError

# signFlowStatus of GET /v3/sign-flow/{id}/detail and of the SIGN_FLOW_COMPLETE callback.
FLOW_STATUS = {0: "draft", 1: "signing", 2: "completed", 3: "revoked", 5: "expired", 7: "rejected"}


def status_name(value: Any) -> str | None:
    try:
        return FLOW_STATUS.get(int(value), "unknown")
    except (TypeError, ValueError):
        return None


def _field(signer: dict[str, Any], field: dict[str, Any], default_file: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "autoSign": bool(signer.get("auto_sign", False)),
        "freeMode": bool(field.get("free_mode", False)),
    }
    if not config["freeMode"]:
        if field.get("page") is None or field.get("x") is None or field.get("y") is None:
            raise PermanentError("a sign field needs page, x and y (or free_mode: true)")
        config["signFieldStyle"] = int(field.get("style") or 1)
        config["signFieldPosition"] = {
            "positionPage": str(field["page"]),
            "positionX": field["x"],
            "positionY": field["y"],
        }
    if signer.get("seal_id"):
        config["assignedSealId"] = signer["seal_id"]
    out: dict[str, Any] = {"fileId": field.get("file_id") or default_file, "normalSignFieldConfig": config}
    if field.get("custom_biz_num"):
        out["customBizNum"] = str(field["custom_biz_num"])
    return out


def signer_body(signer: dict[str, Any], order: int, default_file: str) -> dict[str, Any]:
    fields = signer.get("fields") or [{"free_mode": True}]
    body: dict[str, Any] = {
        "signConfig": {"signOrder": int(signer.get("sign_order") or order)},
        "signFields": [_field(signer, f, default_file) for f in fields],
    }
    if signer.get("type", "person") == "org":
        body["signerType"] = 1
        org: dict[str, Any] = {}
        if signer.get("org_id"):
            org["orgId"] = signer["org_id"]
        if signer.get("org_name"):
            org["orgName"] = signer["org_name"]
        if not org:
            raise PermanentError("an organisation signer needs org_id or org_name")
        if signer.get("auto_sign"):
            body["orgSignerInfo"] = org  # the app's own organisation seals in the background
        else:
            if not signer.get("psn_account"):
                raise PermanentError("an organisation signer needs the transactor's psn_account")
            transactor: dict[str, Any] = {"psnAccount": signer["psn_account"]}
            if signer.get("psn_name"):
                transactor["psnInfo"] = {"psnName": signer["psn_name"]}
            body["orgSignerInfo"] = {**org, "transactorInfo": transactor}
    else:
        body["signerType"] = 0
        person: dict[str, Any] = {}
        if signer.get("psn_id"):
            person["psnId"] = signer["psn_id"]
        if signer.get("psn_account"):
            person["psnAccount"] = signer["psn_account"]
        if not person and not signer.get("auto_sign"):
            raise PermanentError("a person signer needs psn_account (mobile or email) or psn_id")
        if signer.get("psn_name"):
            person["psnInfo"] = {"psnName": signer["psn_name"]}
        body["psnSignerInfo"] = person
    return body


def create_body(inputs: dict[str, Any], notify_url: str | None) -> dict[str, Any]:
    files = [f if isinstance(f, dict) else {"file_id": f} for f in inputs.get("files") or []]
    if not files:
        raise PermanentError("files is empty: upload the PDF first and pass its fileId")
    signers = inputs.get("signers") or []
    if not signers:
        raise PermanentError("signers is empty")
    docs = []
    for f in files:
        doc = {"fileId": f["file_id"]}
        if f.get("file_name"):
            doc["fileName"] = f["file_name"]
        docs.append(doc)
    config: dict[str, Any] = {
        "signFlowTitle": inputs["title"],
        "autoStart": bool(inputs.get("auto_start", True)),
        "autoFinish": bool(inputs.get("auto_finish", True)),
    }
    if notify_url:
        config["notifyUrl"] = notify_url
    if inputs.get("notice_types"):
        config["noticeConfig"] = {"noticeTypes": str(inputs["notice_types"])}
    if inputs.get("redirect_url"):
        config["redirectConfig"] = {"redirectUrl": inputs["redirect_url"]}
    if inputs.get("expire_time_ms"):
        config["signFlowExpireTime"] = int(inputs["expire_time_ms"])
    default_file = docs[0]["fileId"]
    return {
        "docs": docs,
        "signFlowConfig": config,
        "signers": [signer_body(s, i + 1, default_file) for i, s in enumerate(signers)],
    }


def flow_detail(sign_flow_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "sign_flow_id": sign_flow_id,
        "status_code": data.get("signFlowStatus"),
        "status": status_name(data.get("signFlowStatus")),
        "description": data.get("signFlowDescription"),
        "title": (data.get("signFlowConfig") or {}).get("signFlowTitle"),
        "create_time": data.get("signFlowCreateTime"),
        "start_time": data.get("signFlowStartTime"),
        "finish_time": data.get("signFlowFinishTime"),
        "signers": data.get("signers") or [],
        "docs": data.get("docs") or [],
    }
