"""Vendor-side webhook registrations follow the recipe: registered when enabled, removed when not.

A recipe has one registration per hook endpoint whose trigger can subscribe: its own webhook trigger
and each `wait_for` step on a webhook trigger (with that step's hook URL and `config`). Each is stored
with the spec and hook URL it was made for, so a changed trigger or step (or a removed step, or a
deleted recipe) removes the registration made under the old settings before making a new one.

The registrations live in `TriggerState.subscription`, sealed with the vault because vendors' answers
may hold secrets (a per-webhook signing secret): `{"sealed": <vault token>}` of
`{"trigger": <registration> | None, "waits": {<step id>: <registration>}}`. A row written before
sealing (one plaintext `{"spec", "hook_url", "state"}` registration of the trigger) is still read, and
sealed at the next sync.

Syncs of one recipe run one at a time (a lease row per recipe, on SQLite and PostgreSQL alike): two
at once (two saves, a save and an enable, two processes) would each find nothing registered and each
register a webhook with the vendor, one of them orphaned.

A registration whose state carries `renew_after` (vendors that end webhook registrations after a
while) is renewed by `renew_due`, which the scheduler's leader calls: under the same lease, so a
renewal never runs beside a sync or another renewal. The earliest `renew_after` of a recipe is kept
beside the sealed value, so finding what is due opens nothing.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub import jsonutil, recipe_store
from hub.db.models import HookEndpoint, Lease, Recipe, TriggerState, utcnow
from hub.engine.contexts import build_context
from hub.recipe_index import current_version
from hub.recipe_secrets import open_document
from hub.recipes import iter_steps, step_type
from hub.sdk.connector import RENEW_AFTER, WebhookTrigger
from hub.sdk.errors import HubError, VaultError
from hub.vault import Binding

if TYPE_CHECKING:
    from hub.runtime import Runtime
    from hub.vault import Vault

log = logging.getLogger("hub.subscriptions")

Registrations = dict[str, Any]  # {"trigger": registration | None, "waits": {step id: registration}}
Slot = str | None  # None: the recipe's trigger; otherwise a wait_for step id
SEALED = "sealed"
# Longer than a sync's vendor calls take; a lease left by a crashed process lapses after it.
SYNC_LEASE_S = 300.0
SYNC_POLL_S = 0.05


def _spec_key(spec: dict[str, Any]) -> list[Any]:
    return [spec.get("connector"), spec.get("trigger"), spec.get("connection"), spec.get("config") or {}]


def _empty() -> Registrations:
    return {"trigger": None, "waits": {}}


def registrations_binding(recipe_id: int) -> Binding:
    """Bound to the recipe, not the TriggerState row: a reset trigger state carries them over."""
    return Binding("trigger_states", recipe_id, "subscription")


def open_registrations(vault: Vault, recipe_id: int, stored: dict[str, Any] | None) -> Registrations:
    """The registrations in a stored `TriggerState.subscription` value, sealed or (older rows) plain.

    Raises VaultError when the sealed value cannot be decrypted with the configured keys."""
    if not stored:
        return _empty()
    if SEALED in stored:
        opened = vault.decrypt(stored[SEALED], registrations_binding(recipe_id))
        data = jsonutil.loads(opened["registrations"])
    elif "spec" in stored:
        data = {"trigger": stored}  # written before registrations were sealed
    else:
        data = stored
    return {"trigger": data.get("trigger"), "waits": dict(data.get("waits") or {})}


def seal_registrations(vault: Vault, recipe_id: int, registrations: Registrations) -> dict[str, Any] | None:
    """The value to store; None when nothing is registered. JSON text inside keeps Decimals exact.

    The earliest `renew_after` of the registrations stays outside the seal (a time, no secret)."""
    if not registrations.get("trigger") and not registrations.get("waits"):
        return None
    sealed = vault.encrypt({"registrations": jsonutil.dumps(registrations)}, registrations_binding(recipe_id))
    stored: dict[str, Any] = {SEALED: sealed}
    due = [renew_after(r.get("state")) for r in _registered(registrations)]
    if any(due):
        stored[RENEW_AFTER] = min(d for d in due if d is not None).isoformat()
    return stored


def renew_after(state: Any) -> datetime | None:
    """When a registration's state asks to be renewed; None when it never expires (or says nothing
    readable: such a state is left as it is rather than renewed in a loop)."""
    value = state.get(RENEW_AFTER) if isinstance(state, dict) else None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        log.warning("event=renew_after_unreadable value=%r", value)
        return None
    return moment if moment.tzinfo else None


def _registered(registrations: Registrations) -> list[dict[str, Any]]:
    found = [registrations.get("trigger"), *(registrations.get("waits") or {}).values()]
    return [r for r in found if isinstance(r, dict)]


def endpoint_subscription(
    session: Session, vault: Vault, recipe_id: int, step_id: str | None
) -> dict[str, Any] | None:
    """What `subscribe` returned for one hook endpoint (the trigger, or a wait step): ctx.subscription."""
    stored = session.scalar(select(TriggerState.subscription).where(TriggerState.recipe_id == recipe_id))
    if not stored:
        return None
    try:
        registrations = open_registrations(vault, recipe_id, stored)
    except VaultError:
        log.warning("event=subscription_unreadable recipe_id=%s", recipe_id)
        return None
    found = registrations["trigger"] if step_id is None else registrations["waits"].get(step_id)
    state = found.get("state") if isinstance(found, dict) else None
    return state if isinstance(state, dict) else None


def reseal_all(session: Session, vault: Vault, *, legacy_only: bool = False) -> int:
    """Re-encrypt every stored registration under the newest vault key (and seal plaintext rows);
    with `legacy_only`, only plaintext rows and legacy Fernet tokens.

    For `hub vault rotate` (so an old key can be dropped without losing the registrations) and the
    start-up upgrade to bound tokens."""
    count = 0
    for state in session.scalars(select(TriggerState).where(TriggerState.subscription.is_not(None))):
        stored, binding = state.subscription, registrations_binding(state.recipe_id)
        if not stored:
            continue
        if SEALED in stored:
            if legacy_only and vault.is_current(stored[SEALED]):
                continue
            state.subscription = {**stored, SEALED: vault.rotate_token(stored[SEALED], binding)}
        else:
            registrations = open_registrations(vault, state.recipe_id, stored)
            state.subscription = seal_registrations(vault, state.recipe_id, registrations)
        count += 1
    return count


def _wanted(
    rt: Runtime, document: dict[str, Any], tokens: dict[Slot, str]
) -> dict[Slot, tuple[dict[str, Any], str]]:
    """(spec, hook URL) of every endpoint of an active recipe whose trigger can register webhooks."""
    specs: dict[Slot, dict[str, Any]] = {None: document["trigger"]}
    for _phase, _path, step in iter_steps(document):
        if step_type(step) == "wait_for":
            specs[step["id"]] = {
                "connector": step["connector"],
                "trigger": step["trigger"],
                "connection": step.get("connection"),
                "config": step.get("config") or {},
            }
    wanted: dict[Slot, tuple[dict[str, Any], str]] = {}
    for slot, spec in specs.items():
        _connector, trigger = _trigger(rt, spec)
        if slot in tokens and _can_subscribe(trigger):
            wanted[slot] = (spec, f"{rt.settings.base_url}/hooks/{tokens[slot]}")
    return wanted


def _can_subscribe(trigger: Any) -> bool:
    return isinstance(trigger, WebhookTrigger) and type(trigger).subscribe is not WebhookTrigger.subscribe


def _get(registrations: Registrations, slot: Slot) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (
        registrations["trigger"] if slot is None else registrations["waits"].get(slot)
    )
    return found


def _forget(registrations: Registrations, slot: Slot) -> None:
    _set(registrations, slot, None)


def _set(registrations: Registrations, slot: Slot, registration: dict[str, Any] | None) -> None:
    if slot is None:
        registrations["trigger"] = registration
    elif registration is None:
        registrations["waits"].pop(slot, None)
    else:
        registrations["waits"][slot] = registration


def _where(slot: Slot) -> str:
    return "" if slot is None else f" for wait step '{slot}'"


@contextmanager
def _one_sync_at_a_time(rt: Runtime, recipe_id: int) -> Iterator[None]:
    """Hold the recipe's sync lease; a second sync waits here, then reads what the first registered."""
    name, owner = f"subscriptions:{recipe_id}", secrets.token_hex(8)
    while not _take_lease(rt, name, owner):
        time.sleep(SYNC_POLL_S)
    try:
        yield
    finally:
        with rt.db.transaction() as session:
            session.execute(delete(Lease).where(Lease.name == name, Lease.owner == owner))


def _take_lease(rt: Runtime, name: str, owner: str) -> bool:
    """An insert only one caller wins (an expired lease is removed first)."""
    now = utcnow()
    try:
        with rt.db.transaction() as session:
            session.execute(delete(Lease).where(Lease.name == name, Lease.expires_at <= now))
            session.add(Lease(name=name, owner=owner, expires_at=now + timedelta(seconds=SYNC_LEASE_S)))
    except IntegrityError:
        return False
    return True


def sync_subscription(rt: Runtime, recipe_id: int) -> str | None:
    """Make the vendor's registrations match the recipe; returns the problems to show, or None."""
    with _one_sync_at_a_time(rt, recipe_id):
        return _sync(rt, recipe_id)


def _sync(rt: Runtime, recipe_id: int) -> str | None:
    with rt.db.transaction() as session:
        recipe = session.get(Recipe, recipe_id)
        if recipe is None:
            return None
        stored = session.scalar(select(TriggerState.subscription).where(TriggerState.recipe_id == recipe_id))
        _, _, version, stored_document = current_version(session, recipe_id)
        tokens: dict[Slot, str] = {
            e.step_id: e.token
            for e in session.scalars(select(HookEndpoint).where(HookEndpoint.recipe_id == recipe_id))
        }
        active = recipe.enabled and recipe.deleted_at is None
    problems: list[str] = []
    document = open_document(stored_document, rt.vault, rt.registry, recipe_id, version)
    try:
        existing = open_registrations(rt.vault, recipe_id, stored)
    except VaultError:
        existing = _empty()
        problems.append("the stored webhook registrations cannot be decrypted with the vault keys")
    if stored and SEALED not in stored:
        _update(rt, recipe_id, lambda registrations: None)  # an older plaintext row: seal it
    wanted = _wanted(rt, document, tokens) if active else {}
    slots = [None, *existing["waits"]] if existing["trigger"] else list(existing["waits"])
    kept: set[Slot] = set()
    for slot in slots:
        registration = _get(existing, slot)
        if registration is None:  # the slots come from what exists: never, but say so to the types
            continue
        target = wanted.get(slot)
        made_for = [registration["spec"], registration.get("hook_url")]
        if target and made_for == [_spec_key(target[0]), target[1]]:
            kept.add(slot)  # registered under the current settings already
            continue
        problem = _unsubscribe(rt, registration, _where(slot))
        if problem is None:
            _update(rt, recipe_id, partial(_forget, slot=slot))
        else:
            problems.append(problem)
            kept.add(slot)  # still registered under the old settings: tried again at the next sync
    for slot, (spec, hook_url) in wanted.items():
        if slot not in kept:
            problem = _subscribe(rt, recipe_id, slot, spec, hook_url)
            if problem is not None:
                problems.append(problem)
    return "; ".join(problems) or None


def _trigger(rt: Runtime, spec: dict[str, Any]) -> tuple[Any, Any]:
    connector = rt.registry.get(spec["connector"])
    trigger = connector.trigger(spec["trigger"]) if connector else None
    return connector, trigger


def _subscribe(rt: Runtime, recipe_id: int, slot: Slot, spec: dict[str, Any], hook_url: str) -> str | None:
    connector, trigger = _trigger(rt, spec)
    try:
        ctx = build_context(rt, connector, spec.get("connection"), hook_url=hook_url)
        result = trigger.subscribe(ctx, spec.get("config") or {}, hook_url)
    except HubError as exc:
        message = f"could not register the webhook{_where(slot)} with {connector.name}: {exc.message}"
        _update(rt, recipe_id, lambda registrations: None, error=message)
        log.warning("event=subscribe_failed connector=%s step=%s error=%s", connector.id, slot, exc.message)
        return message
    if result is not None:
        registration = {"spec": _spec_key(spec), "hook_url": hook_url, "state": result}
        _update(rt, recipe_id, lambda registrations: _set(registrations, slot, registration))
    return None


def _made_for(registration: dict[str, Any]) -> dict[str, Any]:
    """The trigger spec a stored registration was made under."""
    connector_id, trigger_key, connection, config = registration["spec"]
    return {"connector": connector_id, "trigger": trigger_key, "connection": connection, "config": config}


def _unsubscribe(rt: Runtime, existing: dict[str, Any], where: str) -> str | None:
    spec = _made_for(existing)
    connector, trigger = _trigger(rt, spec)
    if trigger is None:
        return None
    try:
        ctx = build_context(rt, connector, spec["connection"], hook_url=existing.get("hook_url"))
        trigger.unsubscribe(ctx, spec["config"], existing["state"])
    except HubError as exc:
        log.warning("event=unsubscribe_failed connector=%s error=%s", connector.id, exc.message)
        return f"could not remove the webhook{where} registered with {connector.name}: {exc.message}"
    return None


def _update(
    rt: Runtime, recipe_id: int, change: Callable[[Registrations], object], error: str | None = None
) -> None:
    """Apply `change` to the stored registrations (read and written in one transaction, sealed)."""
    with rt.db.transaction() as session:
        state = session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe_id))
        if state is None:
            return
        try:
            registrations = open_registrations(rt.vault, recipe_id, state.subscription)
        except VaultError:
            registrations = _empty()  # unreadable: replaced by what is known now
        change(registrations)
        state.subscription = seal_registrations(rt.vault, recipe_id, registrations)
        if error is not None:
            state.last_error = error
        recipe_store.mark_changed(session)  # webhook lookups cached in this process see the new state


def renew_due(rt: Runtime) -> int:
    """Renew every registration whose `renew_after` has passed; returns how many were renewed.

    Called by the scheduler's leader only. Each recipe is renewed under its sync lease and its due
    time read again there, so a leader that lost the lease mid-way and the next one renew it once."""
    now = utcnow()
    with rt.db.read() as session:
        rows = session.execute(
            select(TriggerState.recipe_id, TriggerState.subscription).where(
                TriggerState.subscription.is_not(None)
            )
        ).all()
    renewed = 0
    for recipe_id, stored in rows:
        if _stored_due(stored, now):
            with _one_sync_at_a_time(rt, recipe_id):
                renewed += _renew_recipe(rt, recipe_id, now)
    return renewed


def _stored_due(stored: Any, now: datetime) -> bool:
    due = renew_after({RENEW_AFTER: stored.get(RENEW_AFTER)}) if isinstance(stored, dict) else None
    return due is not None and due <= now


def _renew_recipe(rt: Runtime, recipe_id: int, now: datetime) -> int:
    with rt.db.read() as session:
        stored = session.scalar(select(TriggerState.subscription).where(TriggerState.recipe_id == recipe_id))
    if not _stored_due(stored, now):
        return 0  # renewed by another process while this one waited for the lease
    try:
        registrations = open_registrations(rt.vault, recipe_id, stored)
    except VaultError:
        log.warning("event=subscription_unreadable recipe_id=%s", recipe_id)
        return 0
    renewed = 0
    slots: list[Slot] = [None, *registrations["waits"]]
    for slot in slots:
        registration = _get(registrations, slot)
        due = renew_after(registration.get("state")) if registration else None
        if registration is not None and due is not None and due <= now:
            renewed += _renew(rt, recipe_id, slot, registration)
    return renewed


def _renew(rt: Runtime, recipe_id: int, slot: Slot, registration: dict[str, Any]) -> int:
    """Renew one registration: in place when the trigger can, else register anew and then remove the
    old one (a new one first, so the hook URL is never without a registration)."""
    spec = _made_for(registration)
    connector, trigger = _trigger(rt, spec)
    if not isinstance(trigger, WebhookTrigger):
        return 0
    hook_url = registration["hook_url"]
    try:
        ctx = build_context(rt, connector, spec["connection"], hook_url=hook_url)
        fresh = trigger.renew(ctx, spec["config"], hook_url, registration["state"])
    except HubError as exc:
        message = f"could not renew the webhook{_where(slot)} registered with {connector.name}: {exc.message}"
        _update(rt, recipe_id, lambda registrations: None, error=message)
        log.warning("event=renew_failed connector=%s step=%s error=%s", connector.id, slot, exc.message)
        return 0
    renewed = {**registration, "state": fresh}
    _update(rt, recipe_id, lambda registrations: _set(registrations, slot, renewed))
    log.info("event=subscription_renewed recipe_id=%s connector=%s step=%s", recipe_id, connector.id, slot)
    if type(trigger).renew is WebhookTrigger.renew:  # registered anew: the old one goes now
        problem = _unsubscribe(rt, registration, _where(slot))
        if problem is not None:
            _update(rt, recipe_id, lambda registrations: None, error=problem)
    return 1
