"""用友 actions: save a customer, a sales order and a receivable; query a list API page by page; any call.

Saves send `resubmitCheckKey` (the MDD idempotency key, at most 32 characters) derived from the
step's idempotency key, so a repeat after a timeout is recognised by YonBIP instead of saving twice.
"""

from __future__ import annotations

import hashlib
from typing import Any

from connectors.yonyou.api import NO_DATA, call
from hub.sdk.connector import Action
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError

CUSTOMER_SAVE = "/yonbip/digitalModel/merchant/save"
SALES_ORDER_SAVE = "/yonbip/sd/voucherorder/singleSave"
RECEIVABLE_SAVE = "/yonbip/fi/oar/save"
SALES_ORDER_LIST = "/yonbip/sd/voucherorder/list"

SAVED = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": ["string", "null"]},
        "code": {"type": ["string", "null"], "description": "The document or archive code."},
        "data": {"type": ["object", "null"], "description": "The saved record as YonBIP answered it."},
    },
}
PATH = {
    "type": "string",
    "pattern": "^/yonbip/",
    "title": "API path",
    "description": "Override when your tenant's API catalogue (开放平台 > API 目录) names another path.",
}


def resubmit_key(ctx: Context) -> str | None:
    """≤ 32 characters, the same for every attempt of one step (resubmitCheckKey's limit)."""
    if not ctx.idempotency_key:
        return None
    return hashlib.sha256(ctx.idempotency_key.encode()).hexdigest()[:32]


def saved(answer: dict[str, Any]) -> dict[str, Any]:
    data = answer.get("data")
    record = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else data
    if not isinstance(record, dict):
        return {"id": None, "code": None, "data": None}
    found = record.get("id")
    return {
        "id": None if found is None else str(found),
        "code": None if record.get("code") is None else str(record.get("code")),
        "data": record,
    }


class _Save(Action):
    """A single-document save: {"data": {...record, "_status": "Insert" | "Update", resubmitCheckKey}}."""

    default_path = ""
    record_title = ""
    output_schema = SAVED

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        record = dict(inputs["record"])
        record.setdefault("_status", "Update" if record.get("id") else "Insert")
        key = resubmit_key(ctx)
        if key:
            record.setdefault("resubmitCheckKey", key)
        return saved(call(ctx, "POST", inputs.get("path") or self.default_path, json={"data": record}))

    @classmethod
    def schema(cls, example: str) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["record"],
            "additionalProperties": False,
            "properties": {
                "record": {
                    "type": "object",
                    "title": cls.record_title,
                    "description": f"Fields as the API names them, e.g. {example}. With an `id` it updates "
                    "(_status Update), without one it inserts.",
                },
                "path": {**PATH, "default": cls.default_path},
            },
        }


class SaveCustomer(_Save):
    key = "save_customer"
    title = "Create or update a customer"
    description = "客户档案保存: creates a customer (no id) or updates one (with id)."
    default_path = CUSTOMER_SAVE
    record_title = "Customer (客户档案)"
    input_schema = _Save.schema('{"code": "C0001", "name": {"zh_CN": "某某公司"}, "createOrg": "<org code>"}')
    sample_output = {"id": "1826384729384", "code": "C0001", "data": {"id": "1826384729384", "code": "C0001"}}


class SaveSalesOrder(_Save):
    key = "save_sales_order"
    title = "Save a sales order"
    description = (
        "销售订单单个保存 (POST /yonbip/sd/voucherorder/singleSave), idempotent by resubmitCheckKey."
    )
    repeat_safe = True  # resubmitCheckKey: YonBIP recognises the repeat
    default_path = SALES_ORDER_SAVE
    record_title = "Sales order (销售订单)"
    input_schema = _Save.schema(
        '{"salesOrgId": "<org>", "transactionTypeId": "<type>", "vouchdate": "2026-11-20 00:00:00", '
        '"agentId": "<customer>", "settlementOrgId": "<org>", "orderPrices!currency": "CNY", '
        '"orderPrices!exchRate": 1, "orderDetails": [...]}'
    )
    sample_output = {
        "id": "2291507369660672",
        "code": "UO-20261120000001",
        "data": {"id": "2291507369660672"},
    }


class SaveReceivable(_Save):
    key = "save_receivable"
    title = "Save a receivable"
    description = "应收单保存: one receivable document. Check the path against your tenant's API catalogue."
    default_path = RECEIVABLE_SAVE
    record_title = "Receivable (应收单)"
    input_schema = _Save.schema(
        '{"accentity_code": "<org>", "vouchdate": "2026-11-20", "customer_code": "C0001", '
        '"currency_code": "CNY", "oriSum": 12000.50, "bodyItem": [...]}'
    )
    sample_output = {"id": "3301234567890", "code": "AR20261120001", "data": {"id": "3301234567890"}}


def page_of(answer: dict[str, Any]) -> tuple[list[dict[str, Any]], int | None]:
    """(records, page count) of a list answer: data.recordList and data.pageCount."""
    if str(answer.get("code")) == NO_DATA:
        return [], 0
    data = answer.get("data")
    if isinstance(data, list):
        return [r for r in data if isinstance(r, dict)], None
    if not isinstance(data, dict):
        raise PermanentError("用友: the list answer has no data")
    rows = data.get("recordList") or []
    count = data.get("pageCount")
    return [r for r in rows if isinstance(r, dict)], int(count) if count is not None else None


def list_page(
    ctx: Context, path: str, conditions: dict[str, Any], index: int, size: int
) -> tuple[list[dict[str, Any]], bool]:
    """One page (1-based `index`); True when more pages follow."""
    answer = call(ctx, "POST", path, json={**conditions, "pageIndex": index, "pageSize": size})
    rows, pages = page_of(answer)
    more = index < pages if pages is not None else len(rows) >= size
    return rows, more and bool(rows)


class Query(Action):
    key = "query"
    title = "Query a list"
    description = "Any list API ({pageIndex, pageSize, …conditions} → data.recordList), page by page."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "path": {**PATH, "default": SALES_ORDER_LIST, "title": "List API path"},
            "conditions": {
                "type": "object",
                "title": "Conditions",
                "description": 'The list API\'s own filters, e.g. {"code": "UO-0001", "isSum": false} or '
                '{"simpleVOs": [{"field": "pubts", "op": "egt", "value1": "2026-11-20 00:00:00"}]}.',
            },
            "page_size": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
            "start_page": {"type": "integer", "minimum": 1, "default": 1},
            "max_pages": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
        },
    }
    output_schema = {
        "type": "object",
        "required": ["records", "count"],
        "properties": {
            "records": {"type": "array", "items": {"type": "object"}},
            "count": {"type": "integer"},
            "next_page": {
                "type": ["integer", "null"],
                "description": "Set when max_pages stopped: the next pageIndex.",
            },
        },
    }
    sample_output = {
        "records": [{"id": "2291507369660672", "code": "UO-20261120000001"}],
        "count": 1,
        "next_page": None,
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        path, size = inputs.get("path") or SALES_ORDER_LIST, int(inputs.get("page_size") or 100)
        index = int(inputs.get("start_page") or 1)
        records: list[dict[str, Any]] = []
        for _ in range(int(inputs.get("max_pages") or 10)):
            rows, more = list_page(ctx, path, dict(inputs.get("conditions") or {}), index, size)
            records.extend(rows)
            index += 1
            if not more:
                return {"records": records, "count": len(records), "next_page": None}
        return {"records": records, "count": len(records), "next_page": index}


class CallApi(Action):
    key = "call_api"
    title = "Call an API"
    description = "Any /yonbip/ API of the tenant's gateway with the app's token; the whole answer."
    input_schema = {
        "type": "object",
        "required": ["path"],
        "additionalProperties": False,
        "properties": {
            "method": {"enum": ["GET", "POST"], "default": "POST"},
            "path": {**PATH, "title": "API path", "description": "e.g. /yonbip/sd/voucherorder/detail"},
            "params": {"type": "object", "title": "Query parameters"},
            "body": {"title": "JSON body (POST)"},
        },
    }
    output_schema = {"type": "object", "properties": {"code": {}, "message": {}, "data": {}}}
    sample_output = {"code": "200", "message": "操作成功", "data": {"id": "2291507369660672"}}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        method = inputs.get("method") or "POST"
        params = {str(k): v for k, v in (inputs.get("params") or {}).items()}
        body = inputs.get("body") if method == "POST" else None
        return call(ctx, method, inputs["path"], json=body, params=params)
