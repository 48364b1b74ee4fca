"""How a connector is declared: metadata in class attributes, behaviour in a few methods.

Connectors only fetch and act. Retries, rate limits, token refresh, redaction, dedupe and
storage are the hub's job, so a connector module reads like the vendor's API reference.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from hub.sdk.auth import Auth
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.http import HttpResponse
from hub.sdk.i18n import localize, translate_schema
from hub.sdk.types import InboundRequest, PollResult, TriggerEvent, WebhookResponse

EMPTY_OBJECT_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": True}
# A key of the state `subscribe` or `renew` returns: the ISO-8601 time (with its offset) after which the
# hub renews the registration, for vendors that end a webhook registration after a while.
RENEW_AFTER = "renew_after"


class Trigger:
    """Something that starts a recipe (or wakes a `wait_for` step)."""

    kind: ClassVar[str] = ""
    key: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    config_schema: ClassVar[dict[str, Any]] = EMPTY_OBJECT_SCHEMA
    output_schema: ClassVar[dict[str, Any] | None] = None
    sample: ClassVar[dict[str, Any]] = {}

    def __init__(self, connector: Connector) -> None:
        self.connector = connector

    def check_config(self, config: dict[str, Any]) -> None:
        """Raise PermanentError when `config` is wrong in a way its JSON Schema cannot say."""

    def describe(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "title": self.title or self.key,
            "description": self.description,
            "config_schema": self.config_schema,
            "output_schema": self.output_schema,
            "sample": self.sample,
        }


class WebhookTrigger(Trigger):
    """An instant trigger: the vendor POSTs to the recipe's hook URL."""

    kind = "webhook"

    def handshake(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest
    ) -> WebhookResponse | None:
        """Answer a vendor's URL-verification request; None when this request is not one."""
        return None

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        """Raise SignatureError when the request is not from the vendor. Runs before parse."""

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        """Turn a verified request into events, each with the vendor's event id when it has one."""
        raise NotImplementedError

    def acknowledge(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest, event_ids: list[str]
    ) -> WebhookResponse | None:
        """The answer the vendor expects once events are stored; None for the hub's default."""
        return None

    def subscribe(self, ctx: Context, config: dict[str, Any], hook_url: str) -> dict[str, Any] | None:
        """Register `hook_url` with the vendor when the recipe is enabled; return state for unsubscribe."""
        return None

    def unsubscribe(self, ctx: Context, config: dict[str, Any], state: dict[str, Any]) -> None:
        """Remove what subscribe registered, when the recipe is disabled or deleted."""

    def renew(
        self, ctx: Context, config: dict[str, Any], hook_url: str, state: dict[str, Any]
    ) -> dict[str, Any]:
        """Extend a registration whose `renew_after` has passed; return its new state.

        The default registers anew with `subscribe`: the hub stores the new registration, then
        unsubscribes the old one, so the URL is never without one. Override it to refresh the
        registration in place where the vendor allows it (the same ids and secrets keep verifying
        notifications already on their way)."""
        fresh = self.subscribe(ctx, config, hook_url)
        if fresh is None:
            raise PermanentError(f"{self.key}: subscribe registered nothing to renew with")
        return fresh


class PollingTrigger(Trigger):
    """A scheduled trigger for systems without webhooks: returns items with stable ids."""

    kind = "polling"
    default_interval_s: ClassVar[int] = 300
    min_interval_s: ClassVar[int] = 10

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        """Fetch items newer than `cursor` (or since `ctx.since` on a backfill's first poll)."""
        raise NotImplementedError

    def reread_window_s(self, config: dict[str, Any]) -> float | None:
        """How far back a poll may read items it returned before (their seen ids must stay that long),
        or None when unknown: then retention keeps the trigger's seen ids."""
        return None


class ScheduleTrigger(Trigger):
    """A clock trigger; `job_spec` tells the scheduler when to fire."""

    kind = "schedule"

    def job_spec(self, config: dict[str, Any]) -> dict[str, Any]:
        """{"type": "interval", "seconds": n} or {"type": "cron", "expression": ..., "timezone": ...}."""
        raise NotImplementedError

    def check_config(self, config: dict[str, Any]) -> None:
        self.job_spec(config)


class CalledTrigger(Trigger):
    """A trigger the hub fires itself, with no outside system: a recipe started by another's call."""

    kind = "called"


class Action:
    """One thing a connector does in an outside system."""

    key: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    input_schema: ClassVar[dict[str, Any]] = EMPTY_OBJECT_SCHEMA
    output_schema: ClassVar[dict[str, Any] | None] = None
    sample_output: ClassVar[dict[str, Any]] = {}
    # Safe to run again after an unknown outcome: it sends the idempotency key, or it is an upsert.
    repeat_safe: ClassVar[bool] = False

    def __init__(self, connector: Connector) -> None:
        self.connector = connector

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title or self.key,
            "description": self.description,
            "input_schema": self.input_schema,
            "output_schema": self.output_schema,
            "sample_output": self.sample_output,
            "repeat_safe": self.repeat_safe,
        }


class Connector:
    """A plugin for one outside system, found through the `hub.connectors` entry-point group."""

    id: ClassVar[str] = ""
    name: ClassVar[str] = ""
    category: ClassVar[str] = "other"
    description: ClassVar[str] = ""
    icon: ClassVar[str] = ""
    docs_url: ClassVar[str] = ""
    base_url: ClassVar[str | None] = None  # the vendor's production endpoint, overridable per connection
    auth: ClassVar[Auth] = Auth()
    connection_fields: ClassVar[dict[str, dict[str, Any]]] = {}
    connection_required: ClassVar[list[str]] = []
    triggers: ClassVar[tuple[type[Trigger], ...]] = ()
    actions: ClassVar[tuple[type[Action], ...]] = ()
    # Requests per second and parallel calls a vendor tolerates per connection by default.
    default_rate_limit: ClassVar[float | None] = None
    default_concurrency: ClassVar[int | None] = None
    # Inline catalogues per locale, {"zh": {"English text": "译文"}}; usually a file instead:
    # translations/<locale>.json next to the connector's module (hub/sdk/i18n.py).
    translations: ClassVar[dict[str, dict[str, str]]] = {}
    _words: dict[str, str] = {}  # set on a localized copy: the connection schema is translated too

    def __init__(self) -> None:
        self._triggers = {cls.key: cls(self) for cls in self.triggers}
        self._actions = {cls.key: cls(self) for cls in self.actions}

    def trigger(self, key: str) -> Trigger | None:
        return self._triggers.get(key)

    def action(self, key: str) -> Action | None:
        return self._actions.get(key)

    @property
    def trigger_map(self) -> dict[str, Trigger]:
        return dict(self._triggers)

    @property
    def action_map(self) -> dict[str, Action]:
        return dict(self._actions)

    def needs_connection(self) -> bool:
        return self.auth.kind != "none" or bool(self.connection_fields)

    def connection_schema(self) -> dict[str, Any]:
        """The JSON Schema of the connection form: auth fields, the connector's own, and base_url."""
        props: dict[str, Any] = {}
        if self.base_url is not None:
            props["base_url"] = {
                "type": "string",
                "title": "Base URL",
                "format": "uri",
                "default": self.base_url,
                "description": "Override for sandbox, regional or self-hosted endpoints.",
            }
        props.update(copy.deepcopy(self._field_specs()))
        required = list(dict.fromkeys([*self.auth.required(), *self.connection_required]))
        schema = {"type": "object", "properties": props, "required": required, "additionalProperties": False}
        return translate_schema(schema, self._words) if self._words else schema

    def localized(self, locale: str) -> Connector:
        """This connector as the UI shows it in `locale`: a translated copy, made once per locale."""
        made: dict[str, Connector] = self.__dict__.setdefault("_localized", {})
        if locale not in made:
            made[locale] = localize(self, locale)
        return made[locale]

    def _field_specs(self) -> dict[str, Any]:
        """The auth's fields and the connector's own, uncopied: callers must not change them."""
        return {**self.auth.schema_properties(), **self.connection_fields}

    def secret_fields(self) -> set[str]:
        """Names of the connection fields holding secrets (asked on every action: no schema copy)."""
        specs = self._field_specs()
        return {name for name, spec in specs.items() if spec.get("x-secret") or spec.get("writeOnly")}

    def host_fields(self) -> set[str]:
        """Names of the connection fields that decide where requests (and so secrets) go: base_url
        and fields marked `x-host`. Changing one requires entering the secrets again."""
        specs = self._field_specs()
        return {name for name, spec in specs.items() if spec.get("x-host")} | (
            {"base_url"} if self.base_url is not None else set()
        )

    def test_connection(self, ctx: Context) -> str:
        """Check the credentials with a cheap vendor call; return a message, raise on failure."""
        return "no test is defined for this connector; the settings were saved"

    def error_parser(self, response: HttpResponse) -> tuple[str, str | None] | None:
        """Pull (message, vendor_code) out of a vendor's error answer; None to use the body excerpt."""
        return None

    def retry_after(self, response: HttpResponse) -> float | None:
        """Seconds to wait after a 429 or 5xx, from the vendor's own rate-limit headers or body.

        Consulted before the standard Retry-After header; None falls back to Retry-After."""
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "description": self.description,
            "icon": self.icon,
            "docs_url": self.docs_url,
            "base_url": self.base_url,
            "auth": self.auth.describe(),
            "connection_schema": self.connection_schema(),
            "triggers": [t.describe() for t in self._triggers.values()],
            "actions": [a.describe() for a in self._actions.values()],
        }
