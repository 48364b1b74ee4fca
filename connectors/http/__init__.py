"""The `http` connector: call any HTTP API, and poll any JSON endpoint for new items."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

import requests

from connectors.webhook import dotted
from hub.sdk.auth import Auth, secret_field
from hub.sdk.connector import Action, Connector, PollingTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.http import HttpClient
from hub.sdk.types import PollResult, TriggerEvent

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class ChosenAuth(Auth):
    """The connection picks its kind: none, basic, bearer or an API key header."""

    kind = "choice"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {
            "auth_type": {"enum": ["none", "basic", "bearer", "api_key"], "default": "none", "title": "Auth"},
            "username": {"type": "string", "title": "Username (basic)"},
            "password": secret_field("Password (basic)"),
            "token": secret_field("Bearer token"),
            "api_key_header": {"type": "string", "title": "API key header", "default": "X-API-Key"},
            "api_key": secret_field("API key"),
        }

    def apply(self, request: requests.PreparedRequest, connection: dict[str, Any]) -> None:
        kind = connection.get("auth_type") or "none"
        if kind == "basic" and connection.get("username") is not None:
            raw = f"{connection['username']}:{connection.get('password') or ''}".encode()
            request.headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        elif kind == "bearer" and connection.get("token"):
            request.headers["Authorization"] = f"Bearer {connection['token']}"
        elif kind == "api_key" and connection.get("api_key"):
            request.headers[connection.get("api_key_header") or "X-API-Key"] = str(connection["api_key"])

    @staticmethod
    def has_credentials(connection: dict[str, Any]) -> bool:
        """Whether `apply` would add anything: only then are requests bound to the allowed hosts."""
        kind = connection.get("auth_type") or "none"
        return (
            (kind == "basic" and connection.get("username") is not None)
            or (kind == "bearer" and bool(connection.get("token")))
            or (kind == "api_key" and bool(connection.get("api_key")))
        )


def client_for(ctx: Context) -> HttpClient:
    """The client for one call: with credentials, bound to the connection's allowed hosts (by default
    its base URL's host), so a step naming another URL cannot carry them off."""
    if not ChosenAuth.has_credentials(ctx.connection):
        return ctx.http_client(authenticate=False)
    hosts = list(ctx.connection.get("allowed_hosts") or [])
    if not hosts and ctx.base_url:
        hosts = [urlsplit(ctx.base_url).hostname or ""]
    if not any(hosts):
        raise PermanentError(
            "the connection has credentials but neither allowed_hosts nor a base_url: "
            "name the hosts its credentials may be sent to"
        )
    return ctx.http_client(allowed_hosts=hosts)


REQUEST_INPUT = {
    "type": "object",
    "required": ["url"],
    "additionalProperties": False,
    "properties": {
        "method": {"enum": METHODS, "default": "GET", "title": "Method"},
        "url": {
            "type": "string",
            "title": "URL",
            "description": "Absolute, or relative to the connection's base URL.",
        },
        "headers": {"type": "object", "additionalProperties": {"type": "string"}, "title": "Headers"},
        "query": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "title": "Query",
        },
        "json": {"title": "JSON body"},
        "form": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "title": "Form body",
        },
        "body": {"type": "string", "title": "Raw body"},
        "timeout_s": {
            "type": "number",
            "minimum": 0.1,
            "maximum": 300,
            "default": 30,
            "title": "Timeout (s)",
        },
        "raise_for_status": {"type": "boolean", "default": True, "title": "Fail on HTTP 400 and above"},
    },
}


def send(ctx: Context, inputs: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
    bodies = [name for name in ("json", "form", "body") if inputs.get(name) is not None]
    if len(bodies) > 1:
        raise PermanentError(f"give only one of json, form or body (got {', '.join(bodies)})")
    response = client_for(ctx).request(
        (inputs.get("method") or "GET").upper(),
        inputs["url"],
        params=inputs.get("query") or None,
        json=inputs.get("json"),
        data=inputs.get("form"),
        content=inputs["body"].encode("utf-8") if inputs.get("body") is not None else None,
        headers=inputs.get("headers") or None,
        timeout=float(inputs.get("timeout_s") or ctx.timeout_s),
        raise_for_status=inputs.get("raise_for_status", True),
        idempotency_key=idempotency_key,
    )
    return {
        "status": response.status,
        "headers": dict(response.headers),
        "json": response.json() if response.is_json and response.content else None,
        "text": response.text[:262144],
    }


class Request(Action):
    key = "request"
    title = "Make an HTTP request"
    description = "Any method, URL, headers, query and JSON/form/raw body; sends the step's Idempotency-Key."
    repeat_safe = True
    input_schema = REQUEST_INPUT
    output_schema = {
        "type": "object",
        "properties": {
            "status": {"type": "integer"},
            "headers": {"type": "object"},
            "json": {},
            "text": {"type": "string"},
        },
    }
    sample_output = {
        "status": 200,
        "headers": {"Content-Type": "application/json"},
        "json": {"id": 1},
        "text": '{"id": 1}',
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        return send(ctx, inputs, ctx.idempotency_key)


class PollJson(PollingTrigger):
    key = "poll_json"
    title = "New items in a JSON endpoint"
    description = (
        "Polls a URL, takes the list at `items_path` and starts a run for each item not seen before."
    )
    default_interval_s = 300
    config_schema = {
        "type": "object",
        "required": ["url", "id_field"],
        "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "title": "URL"},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "query": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
            "items_path": {
                "type": "string",
                "default": "",
                "title": "Path to the list (empty: the answer itself)",
            },
            "id_field": {"type": "string", "title": "Item id field (dotted path)"},
        },
    }
    sample = {"id": 42, "name": "Example item"}

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        """No cursor shape: the whole list is read each time and the hub's seen-ids pick the new items."""
        answer = send(
            ctx, {"url": config["url"], "headers": config.get("headers"), "query": config.get("query")}, None
        )
        data = answer["json"]
        items = dotted(data, config["items_path"]) if config.get("items_path") else data
        if not isinstance(items, list):
            raise PermanentError(
                f"no list at '{config.get('items_path') or '(root)'}' in the answer of {config['url']}"
            )
        events = []
        for item in items:
            item_id = dotted(item, config["id_field"]) if isinstance(item, dict) else None
            if item_id is None:
                raise PermanentError(f"an item has no '{config['id_field']}' field")
            events.append(TriggerEvent(data=item, id=str(item_id)))
        return PollResult(items=events, cursor=cursor)


class HttpConnector(Connector):
    id = "http"
    name = "HTTP"
    category = "developer"
    description = "Call any HTTP API, with credentials kept in a connection."
    icon = "http"
    docs_url = "docs/connectors/http.md"
    base_url = ""
    auth = ChosenAuth()
    connection_fields = {
        "allowed_hosts": {
            "type": "array",
            "items": {"type": "string", "pattern": r"^(\*\.)?[A-Za-z0-9.:\-]+$"},
            "title": "Allowed hosts",
            "description": (
                'Hosts the credentials may be sent to ("*.example.com" for any subdomain); '
                "the base URL's host when empty. Requests with credentials to other hosts are refused."
            ),
            "x-host": True,
        }
    }
    triggers = (PollJson,)
    actions = (Request,)

    def needs_connection(self) -> bool:
        return False


connector = HttpConnector()
