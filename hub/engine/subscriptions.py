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
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
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
from hub.sdk.connector import WebhookTrigger
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
    """The value to store; None when nothing is registered. JSON text inside keeps Decimals exact."""
    if not registrations.get("trigger") and not registrations.get("waits"):
        return None
    sealed = vault.encrypt({"registrations": jsonutil.dumps(registrations)}, registrations_binding(recipe_id))
    return {SEALED: sealed}


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
            state.subscription = {SEALED: vault.rotate_token(stored[SEALED], binding)}
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


def _unsubscribe(rt: Runtime, existing: dict[str, Any], where: str) -> str | None:
    connector_id, trigger_key, connection, config = existing["spec"]
    spec = {"connector": connector_id, "trigger": trigger_key, "connection": connection, "config": config}
    connector, trigger = _trigger(rt, spec)
    if trigger is None:
        return None
    try:
        ctx = build_context(rt, connector, connection, hook_url=existing.get("hook_url"))
        trigger.unsubscribe(ctx, config, existing["state"])
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
