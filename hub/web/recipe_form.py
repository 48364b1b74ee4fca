"""The guided recipe editor's form: a recipe document drawn as fields, and submitted fields read back.

The whole draft travels in the form, so adding, moving or removing a step, or choosing a connector,
is a round trip that needs no server-side state. Steps are keyed by a form-only uid; their order is
the order of the repeated `step` (main) and `fstep` (on_failure) fields, so moving a step in the page
moves it in the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from hub import jsonutil
from hub.recipes import step_type
from hub.registry import Registry
from hub.sdk.connector import PollingTrigger
from hub.web import picker
from hub.web.schema_form import (
    EXTRA,
    Field,
    FormErrors,
    build_fields,
    extra_field,
    load_extra,
    parse_fields,
    read_number,
)

STEP_KINDS = ("action", "delay", "wait_for")
DOC_KEYS = {"name", "description", "trigger", "filter", "steps", "on_failure"}
# document list -> (repeated form field holding the order of its step uids, uid letter)
PHASES = {"steps": ("step", "s"), "on_failure": ("fstep", "f")}
Uids = dict[str, list[str]]
TRIGGER_KEYS = {"connector", "trigger", "connection", "config"}
POLL_KEYS = {"interval_s", "start"}
STEP_KEYS = {
    "action": {"id", "type", "when", "connector", "action", "connection", "input"},
    "delay": {"id", "type", "when", "seconds"},
    "wait_for": {"id", "type", "when", "connector", "trigger", "connection", "config", "match", "timeout_s"},
}
REQUIRED_MESSAGE = re.compile(r"^'([^']+)' is a required property$")


DOC_ORDER = ("name", "description", "enabled", "trigger", "filter", "steps", "on_failure")
TRIGGER_ORDER = ("connector", "trigger", "connection", "config", "start", "interval_s")
STEP_ORDER = (
    "id",
    "type",
    "when",
    "connector",
    "action",
    "trigger",
    "connection",
    "input",
    "config",
    "match",
    "seconds",
    "timeout_s",
    "retry",
    "continue_on_error",
)


def _ordered(value: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    known = {k: value[k] for k in order if k in value}
    return {**known, **{k: v for k, v in value.items() if k not in known}}


def canonical(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with its keys in one fixed order, so versions and views compare line by line."""
    out = _ordered(doc, DOC_ORDER)
    if isinstance(out.get("trigger"), dict):
        out["trigger"] = _ordered(out["trigger"], TRIGGER_ORDER)
    for key in ("steps", "on_failure"):
        if isinstance(out.get(key), list):
            out[key] = [_ordered(s, STEP_ORDER) if isinstance(s, dict) else s for s in out[key]]
    return out


def guided_problem(doc: dict[str, Any]) -> str | None:
    """Why the guided editor cannot show `doc` (its shape is not a recipe's), or None when it can."""
    trigger = doc.get("trigger", {})
    if not isinstance(trigger, dict) or not isinstance(trigger.get("config", {}), dict):
        return "$.trigger: " + _("must be an object with a config object")
    for key in PHASES:
        steps = doc.get(key, [])
        if not isinstance(steps, list):
            return f"$.{key}: " + _("must be a list of steps")
        for index, step in enumerate(steps):
            nested = step.get("input", {}) if isinstance(step, dict) else None
            config = step.get("config", {}) if isinstance(step, dict) else None
            if not isinstance(nested, dict) or not isinstance(config, dict):
                return f"$.{key}[{index}]: " + _("must be a step object (input and config are objects)")
    return None


def split_error(path: str | None, message: str) -> tuple[str, str]:
    """(JSON path, message without its path prefix); a missing property points at that property."""
    path = path or "$"
    text = message[len(path) + 2 :] if message.startswith(path + ": ") else message
    found = REQUIRED_MESSAGE.match(text)
    if found:
        return f"{path}.{found.group(1)}", _("This field is required.")
    return path, text


@dataclass
class StepView:
    uid: str
    index: int
    path: str
    kind: str
    step_id: str
    when: str
    connector: str
    key: str  # action or trigger key
    connection: str
    seconds: str = ""
    timeout_s: str = ""
    match: str = ""
    fields: list[Field] = field(default_factory=list)
    extra: str = ""
    fields_extra: str = ""
    errors: list[str] = field(default_factory=list)
    picker: list[dict[str, str]] = field(default_factory=list)
    choices: list[tuple[str, str]] = field(default_factory=list)  # actions or triggers of the connector
    field_errors: dict[str, str] = field(default_factory=dict)
    explicit_type: bool = False  # the document said "type": "action" (kept for a faithful round trip)
    list_name: str = "step"


def _uid_list(form: MultiDict[str, str], name: str, letter: str) -> list[str]:
    return [u for u in form.getlist(name) if re.fullmatch(letter + r"[0-9]{1,4}", u)]


def parse_form(form: MultiDict[str, str], registry: Registry) -> tuple[dict[str, Any], FormErrors, Uids]:
    """The draft document the form describes, errors for fields that are not valid JSON values, uids."""
    errors = FormErrors()
    doc: dict[str, Any] = {}
    try:
        doc.update(load_extra(form.get(f"doc.{EXTRA}") or ""))
    except ValueError:
        errors["$"] = _("The hidden extra fields are not valid JSON.")
    doc["name"] = (form.get("name") or "").strip()
    if (form.get("description") or "").strip():
        doc["description"] = form["description"].strip()
    trigger: dict[str, Any] = {}
    try:
        trigger.update(load_extra(form.get(f"t.{EXTRA}") or ""))
    except ValueError:
        errors["$.trigger"] = _("The hidden extra fields are not valid JSON.")
    trigger["connector"] = form.get("t.connector") or ""
    trigger["trigger"] = form.get("t.trigger") or ""
    if form.get("t.connection"):
        trigger["connection"] = form["t.connection"]
    connector = registry.get(trigger["connector"])
    found = connector.trigger(trigger["trigger"]) if connector else None
    trigger["config"] = parse_fields(
        found.config_schema if found else {"properties": {}},
        form,
        "t.config",
        "$.trigger.config",
        templatable=False,
        errors=errors,
        redacted_when_set=True,
    )
    if form.get("t.polling"):
        _parse_polling(form, trigger, errors)
    doc["trigger"] = trigger
    if (form.get("filter") or "").strip():
        doc["filter"] = form["filter"].strip()
    uids: Uids = {}
    for key, (name, letter) in PHASES.items():
        uids[key] = _uid_list(form, name, letter)
        if key == "on_failure" and not uids[key] and not form.get("has_on_failure"):
            continue
        doc[key] = [
            _parse_step(form, registry, uid, f"$.{key}[{index}]", errors)
            for index, uid in enumerate(uids[key])
        ]
    return canonical(doc), errors, uids


def _parse_polling(form: MultiDict[str, str], trigger: dict[str, Any], errors: FormErrors) -> None:
    """Polling triggers: the interval override and where the first poll starts (now or a backfill date)."""
    interval = (form.get("t.interval_s") or "").strip()
    if interval:
        if interval.isdigit() and int(interval) >= 1:
            trigger["interval_s"] = int(interval)
        else:
            errors["$.trigger.interval_s"] = _("Enter a whole number of seconds.")
    start = form.get("t.start") or ""
    if start == "now":
        trigger["start"] = "now"
    elif start == "backfill":
        since = (form.get("t.backfill_from") or "").strip()
        if not since:
            errors["$.trigger.start"] = _("Give the date and time to backfill from.")
        trigger["start"] = {"backfill_from": since}


def _parse_step(
    form: MultiDict[str, str], registry: Registry, uid: str, path: str, errors: FormErrors
) -> dict[str, Any]:
    p = f"{uid}."
    step: dict[str, Any] = {}
    try:
        step.update(load_extra(form.get(p + EXTRA) or ""))
    except ValueError:
        errors[path] = _("The hidden extra fields are not valid JSON.")
    kind = form.get(p + "type") or "action"
    step["id"] = (form.get(p + "id") or "").strip()
    if kind != "action":
        step["type"] = kind
    elif form.get(p + "explicit_type"):
        step["type"] = "action"
    if (form.get(p + "when") or "").strip():
        step["when"] = form[p + "when"].strip()
    if kind == "delay":
        seconds = (form.get(p + "seconds") or "").strip()
        step["seconds"] = _number_or_template(seconds, f"{path}.seconds", errors)
        return step
    step["connector"] = form.get(p + "connector") or ""
    if form.get(p + "connection"):
        step["connection"] = form[p + "connection"]
    connector = registry.get(step["connector"])
    if kind == "wait_for":
        step["trigger"] = form.get(p + "key") or ""
        found = connector.trigger(step["trigger"]) if connector else None
        config = parse_fields(
            found.config_schema if found else {"properties": {}},
            form,
            p + "cfg",
            f"{path}.config",
            templatable=True,
            errors=errors,
            redacted_when_set=True,
        )
        if config:
            step["config"] = config
        match = (form.get(p + "match") or "").strip()
        if match:
            try:
                step["match"] = jsonutil.strict_loads(match)
            except ValueError:
                errors[f"{path}.match"] = _("Enter a JSON object of dotted paths to values.")
        timeout = (form.get(p + "timeout_s") or "").strip()
        if timeout:
            step["timeout_s"] = _number_or_template(timeout, f"{path}.timeout_s", errors)
        return step
    step["action"] = form.get(p + "key") or ""
    action = connector.action(step["action"]) if connector else None
    step["input"] = parse_fields(
        action.input_schema if action else {"properties": {}},
        form,
        p + "in",
        f"{path}.input",
        templatable=True,
        errors=errors,
        redacted_when_set=True,
    )
    return step


def _number_or_template(text: str, path: str, errors: FormErrors) -> Any:
    if "{{" in text:
        return text
    try:
        return read_number(text)
    except ValueError:
        errors[path] = _("Enter a number of seconds or a {{ template }}.")
        return text


def next_uid(uids: list[str], letter: str = "s") -> str:
    numbers = [int(u[1:]) for u in uids]
    return f"{letter}{max(numbers, default=-1) + 1}"


def new_step(kind: str, existing: list[dict[str, Any]]) -> dict[str, Any]:
    ids = {s.get("id") for s in existing}
    n = len(existing) + 1
    while f"step_{n}" in ids:
        n += 1
    step: dict[str, Any] = {"id": f"step_{n}"}
    if kind == "delay":
        step.update(type="delay", seconds=60)
    elif kind == "wait_for":
        step.update(type="wait_for", connector="", trigger="")
    else:
        step.update(connector="", action="", input={})
    return step


@dataclass
class EditorView:
    doc: dict[str, Any]
    trigger_fields: list[Field]
    trigger_choices: list[tuple[str, str]]
    trigger_kind: str | None
    steps: list[StepView]
    failure_steps: list[StepView]
    has_on_failure: bool
    doc_extra: str
    trigger_extra: str
    config_extra: str
    event_picker: list[dict[str, str]]
    top_errors: list[str]
    polling: bool = False
    interval_s: str = ""
    default_interval_s: int | None = None
    start_mode: str = ""
    backfill_from: str = ""
    trigger_errors: dict[str, str] = field(default_factory=dict)


def build_view(
    doc: dict[str, Any],
    registry: Registry,
    errors: dict[str, str],
    uids: Uids | None,
    sample_event: Any,
) -> EditorView:
    """Everything the editor template draws for `doc`; errors are placed beside their fields."""
    errors = dict(errors)
    trigger = doc.get("trigger") or {}
    connector = registry.get(trigger.get("connector") or "")
    found = connector.trigger(trigger.get("trigger") or "") if connector else None
    config = trigger.get("config") or {}
    trigger_fields = build_fields(
        found.config_schema if found else None,
        config,
        "t.config",
        "$.trigger.config",
        templatable=False,
        errors=errors,
    )
    event = sample_event if sample_event is not None else (found.sample if found else {})
    event_picker = picker.event_entries(event) + picker.context_entries()
    polling = isinstance(found, PollingTrigger)
    handled = TRIGGER_KEYS | (POLL_KEYS if polling else set())
    start = trigger.get("start")
    trigger_errors = {
        name: errors.pop(f"$.trigger.{name}")
        for name in ("connector", "trigger", "connection", "config", "interval_s", "start")
        if f"$.trigger.{name}" in errors
    }
    available = list(event_picker)
    views: dict[str, list[StepView]] = {}
    for key, (name, letter) in PHASES.items():
        steps = doc.get(key) or []
        keys = list((uids or {}).get(key) or [])
        while len(keys) < len(steps):
            keys.append(next_uid(keys, letter))
        if key == "on_failure":
            available = available + picker.error_entries()
        views[key] = []
        for index, step in enumerate(steps):
            view = _step_view(step, keys[index], index, key, registry, errors, available)
            view.list_name = name
            views[key].append(view)
            available = available + _outputs(step, registry)
    top = [f"{path}: {message}" if path != "$" else message for path, message in errors.items()]
    return EditorView(
        doc=doc,
        trigger_fields=trigger_fields,
        trigger_choices=[(k, t.title or k) for k, t in connector.trigger_map.items()] if connector else [],
        trigger_kind=found.kind if found else None,
        steps=views["steps"],
        failure_steps=views["on_failure"],
        has_on_failure="on_failure" in doc,
        doc_extra=jsonutil.dumps({k: v for k, v in doc.items() if k not in DOC_KEYS})
        if set(doc) - DOC_KEYS
        else "",
        trigger_extra=jsonutil.dumps({k: v for k, v in trigger.items() if k not in handled})
        if set(trigger) - handled
        else "",
        config_extra=extra_field(found.config_schema if found else {"properties": {}}, config),
        event_picker=event_picker,
        top_errors=top,
        polling=polling,
        interval_s=_text(trigger.get("interval_s")),
        default_interval_s=getattr(found, "default_interval_s", None),
        start_mode="backfill" if isinstance(start, dict) else ("now" if start == "now" else ""),
        backfill_from=str(start.get("backfill_from") or "") if isinstance(start, dict) else "",
        trigger_errors=trigger_errors,
    )


def _outputs(step: dict[str, Any], registry: Registry) -> list[dict[str, str]]:
    connector = registry.get(step.get("connector") or "")
    if connector is None or not step.get("id"):
        return []
    if step_type(step) == "action" and (action := connector.action(step.get("action") or "")):
        return picker.step_entries(step["id"], action.sample_output, action.output_schema)
    if step_type(step) == "wait_for" and (found := connector.trigger(step.get("trigger") or "")):
        return picker.step_entries(step["id"], found.sample, found.output_schema)
    return []


def _step_view(
    step: dict[str, Any],
    uid: str,
    index: int,
    key: str,
    registry: Registry,
    errors: dict[str, str],
    available: list[dict[str, str]],
) -> StepView:
    path = f"$.{key}[{index}]"
    kind = step_type(step) if step.get("type") in STEP_KINDS or "type" not in step else "action"
    connector = registry.get(step.get("connector") or "")
    chosen = str(step.get("action") or step.get("trigger") or "")
    view = StepView(
        uid=uid,
        index=index,
        path=path,
        kind=kind,
        step_id=str(step.get("id") or ""),
        when=str(step.get("when") or ""),
        connector=str(step.get("connector") or ""),
        key=chosen,
        connection=str(step.get("connection") or ""),
        picker=available,
    )
    known = STEP_KEYS[kind]
    extra = {k: v for k, v in step.items() if k not in known}
    view.explicit_type = step.get("type") == "action"
    if kind == "delay":
        view.seconds = _text(step.get("seconds"))
    elif kind == "wait_for":
        found = connector.trigger(chosen) if connector else None
        view.choices = [(k, t.title or k) for k, t in connector.trigger_map.items()] if connector else []
        view.fields = build_fields(
            found.config_schema if found else None,
            step.get("config") or {},
            f"{uid}.cfg",
            f"{path}.config",
            templatable=True,
            errors=errors,
        )
        view.fields_extra = extra_field(found.config_schema if found else None, step.get("config") or {})
        view.match = jsonutil.dumps(step["match"], indent=2) if step.get("match") else ""
        view.timeout_s = _text(step.get("timeout_s"))
    else:
        action = connector.action(chosen) if connector else None
        view.choices = [(k, a.title or k) for k, a in connector.action_map.items()] if connector else []
        view.fields = build_fields(
            action.input_schema if action else None,
            step.get("input") or {},
            f"{uid}.in",
            f"{path}.input",
            templatable=True,
            errors=errors,
        )
        view.fields_extra = extra_field(action.input_schema if action else None, step.get("input") or {})
    view.extra = jsonutil.dumps(extra) if extra else ""
    for name in (
        "id",
        "when",
        "connector",
        "action",
        "trigger",
        "connection",
        "seconds",
        "match",
        "timeout_s",
    ):
        if f"{path}.{name}" in errors:
            view.field_errors[name] = errors.pop(f"{path}.{name}")
    for err_path in [p for p in errors if p == path or p.startswith(path + ".") or p.startswith(path + "[")]:
        view.errors.append(
            f"{err_path}: {errors.pop(err_path)}" if err_path != path else errors.pop(err_path)
        )
    return view


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else jsonutil.dumps(value)
