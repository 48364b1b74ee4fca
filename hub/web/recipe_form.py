"""The guided recipe editor's form: a recipe document drawn as fields, and submitted fields read back.

The whole draft travels in the form, so adding, moving or removing a step, or choosing a connector,
is a round trip that needs no server-side state. Steps are keyed by a form-only uid; their order is
the order of the repeated `step` (main) and `fstep` (on_failure) fields, so moving a step in the page
moves it in the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from hub import jsonutil, templating
from hub.recipes import step_type
from hub.registry import Registry
from hub.sdk.connector import PollingTrigger
from hub.sdk.errors import HubError
from hub.sdk.i18n import ENUM_TITLES
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
from hub.web.schema_messages import translated

STEP_KINDS = ("action", "delay", "wait_for", "set", "branch", "parallel", "for_each", "stop")
BLOCK_KINDS = ("branch", "parallel", "for_each")
STOP_STATUSES = ("succeeded", "failed", "filtered")
DOC_KEYS = {"name", "description", "trigger", "filter", "steps", "on_failure"}
# document list -> (repeated form field holding the order of its step uids, uid letter)
PHASES = {"steps": ("step", "s"), "on_failure": ("fstep", "f")}
UID = "__uid"  # a step's form-only key while the draft is edited; never saved
TRIGGER_KEYS = {"connector", "trigger", "connection", "config"}
POLL_KEYS = {"interval_s", "start"}
COMMON_KEYS = {"id", "type", "when"}
STEP_KEYS = {
    "action": COMMON_KEYS | {"connector", "action", "connection", "input"},
    "delay": COMMON_KEYS | {"seconds"},
    "wait_for": COMMON_KEYS | {"connector", "trigger", "connection", "config", "match", "timeout_s"},
    "set": COMMON_KEYS | {"values"},
    "branch": COMMON_KEYS | {"cases", "default"},
    "parallel": COMMON_KEYS | {"branches"},
    "for_each": COMMON_KEYS | {"items", "as", "steps", "concurrency", "max_items"},
    "stop": COMMON_KEYS | {"status", "message"},
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
    "values",
    "items",
    "as",
    "concurrency",
    "max_items",
    "steps",
    "cases",
    "default",
    "branches",
    "status",
    "message",
    "retry",
    "continue_on_error",
)
KIND_MARKS = {"delay": "…", "set": "=", "branch": "?", "parallel": "‖", "for_each": "↻", "stop": "■"}
UID_PATTERN = re.compile(r"^[sf][0-9]{1,4}$")
MAX_DEPTH = 6  # the schema allows 4 levels of nesting; deeper form input is not read at all


def _ordered(value: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    known = {k: value[k] for k in order if k in value}
    return {**known, **{k: v for k, v in value.items() if k not in known}}


def _ordered_step(step: Any) -> Any:
    if not isinstance(step, dict):
        return step
    out = _ordered(step, STEP_ORDER)
    for suffix, items, _path in child_lists(out):
        items[:] = [_ordered_step(s) for s in items]
        del suffix
    return out


def canonical(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with its keys in one fixed order, so versions and views compare line by line."""
    out = _ordered(doc, DOC_ORDER)
    if isinstance(out.get("trigger"), dict):
        out["trigger"] = _ordered(out["trigger"], TRIGGER_ORDER)
    for key in ("steps", "on_failure"):
        if isinstance(out.get(key), list):
            out[key] = [_ordered_step(s) for s in out[key]]
    return out


def child_lists(step: dict[str, Any]) -> list[tuple[str, list[Any], str]]:
    """(form suffix, inner step list, JSON path suffix) for each block of a branch/parallel/for_each."""
    kind = step.get("type")
    found: list[tuple[str, list[Any], str]] = []
    if kind == "for_each" and isinstance(step.get("steps"), list):
        found.append(("body", step["steps"], ".steps"))
    elif kind == "branch":
        for index, case in enumerate(step.get("cases") or []):
            if isinstance(case, dict) and isinstance(case.get("steps"), list):
                found.append((f"c{index}", case["steps"], f".cases[{index}].steps"))
        if isinstance(step.get("default"), list):
            found.append(("default", step["default"], ".default"))
    elif kind == "parallel":
        for index, branch in enumerate(step.get("branches") or []):
            if isinstance(branch, list):
                found.append((f"b{index}", branch, f".branches[{index}]"))
    return found


def iter_all(steps: list[Any]) -> Iterator[dict[str, Any]]:
    """Every step of a list, inner steps of blocks included, in document order."""
    for step in steps:
        if isinstance(step, dict):
            yield step
            for _suffix, items, _path in child_lists(step):
                yield from iter_all(items)


def all_steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [*iter_all(doc.get("steps") or []), *iter_all(doc.get("on_failure") or [])]


def assign_uids(doc: dict[str, Any]) -> None:
    """Give every step a form uid of its own (`s…` in the main steps, `f…` in on_failure); a missing,
    malformed or repeated one (say, typed into the raw view) is replaced."""
    taken = [s[UID] for s in all_steps(doc) if UID_PATTERN.match(str(s.get(UID) or ""))]
    kept: set[str] = set()
    for key, (_name, letter) in PHASES.items():
        for step in iter_all(doc.get(key) or []):
            uid = str(step.get(UID) or "")
            if not UID_PATTERN.match(uid) or uid in kept:
                step[UID] = uid = next_uid(taken, letter)
                taken.append(uid)
            kept.add(uid)


def step_lists(doc: dict[str, Any]) -> dict[str, list[Any]]:
    """Form list name -> the step list it orders: `step`, `fstep`, and `<uid>.<block>` for blocks."""
    found: dict[str, list[Any]] = {}
    for key, (name, _letter) in PHASES.items():
        if isinstance(doc.get(key), list):
            found[name] = doc[key]
    for step in all_steps(doc):
        for suffix, items, _path in child_lists(step):
            found[f"{step.get(UID)}.{suffix}"] = items
    return found


def without_uids(value: Any) -> Any:
    """A copy of the draft with the form-only uids removed: what is saved or shown as JSON."""
    if isinstance(value, dict):
        return {k: without_uids(v) for k, v in value.items() if k != UID}
    if isinstance(value, list):
        return [without_uids(v) for v in value]
    return value


def guided_problem(doc: dict[str, Any]) -> str | None:
    """Why the guided editor cannot show `doc` (its shape is not a recipe's), or None when it can."""
    trigger = doc.get("trigger", {})
    if not isinstance(trigger, dict) or not isinstance(trigger.get("config", {}), dict):
        return "$.trigger: " + _("must be an object with a config object")
    for key in PHASES:
        steps = doc.get(key, [])
        if not isinstance(steps, list):
            return f"$.{key}: " + _("must be a list of steps")
        problem = _list_problem(steps, f"$.{key}", 0)
        if problem:
            return problem
    return None


def _list_problem(steps: list[Any], path: str, depth: int) -> str | None:
    if depth > MAX_DEPTH:
        return f"{path}: " + _("blocks are nested too deeply")
    for index, step in enumerate(steps):
        here = f"{path}[{index}]"
        if not isinstance(step, dict) or not all(
            isinstance(step.get(name, {}), dict) for name in ("input", "config", "values")
        ):
            return f"{here}: " + _("must be a step object (input and config are objects)")
        problem = _block_problem(step, here)
        if problem:
            return problem
        for _suffix, items, suffix_path in child_lists(step):
            problem = _list_problem(items, here + suffix_path, depth + 1)
            if problem:
                return problem
    return None


def _block_problem(step: dict[str, Any], path: str) -> str | None:
    """A block whose parts are not lists (or cases not objects with a list of steps)."""
    kind = step.get("type")
    shapes = {"for_each": ("steps",), "branch": ("cases",), "parallel": ("branches",)}
    for name in shapes.get(str(kind), ()):
        if not isinstance(step.get(name, []), list):
            return f"{path}.{name}: " + _("must be a list")
    if kind == "branch":
        if not isinstance(step.get("default", []), list):
            return f"{path}.default: " + _("must be a list")
        for index, case in enumerate(step.get("cases") or []):
            if not isinstance(case, dict) or not isinstance(case.get("steps", []), list):
                return f"{path}.cases[{index}]: " + _("must be an object with a list of steps")
    if kind == "parallel" and not all(isinstance(b, list) for b in step.get("branches") or []):
        return f"{path}.branches: " + _("each branch must be a list of steps")
    return None


def split_error(path: str | None, message: str) -> tuple[str, str]:
    """(JSON path, message without its path prefix, in the user's language where it is a common schema
    message); a missing property points at that property."""
    path = path or "$"
    text = message[len(path) + 2 :] if message.startswith(path + ": ") else message
    found = REQUIRED_MESSAGE.match(text)
    if found:
        return f"{path}.{found.group(1)}", _("This field is required.")
    return path, translated(text)


@dataclass
class Block:
    """One list of inner steps of a block: a branch case, the default, a parallel branch, a loop body."""

    list_name: str
    label: str
    path: str
    steps: list[StepView]
    kind: str  # case, default, branch, body
    index: int = 0
    when: str = ""
    when_error: str = ""
    removable: bool = False


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
    title: str = ""
    summary: str = ""
    inputs_shown: list[tuple[str, str]] = field(
        default_factory=list
    )  # (field title, value) the summary names
    initial: str = ""
    open: bool = False
    has_error: bool = False
    blocks: list[Block] = field(default_factory=list)
    items: str = ""
    as_name: str = ""
    concurrency: str = ""
    max_items: str = ""
    status: str = ""
    message: str = ""
    values: list[tuple[str, str, bool]] = field(default_factory=list)  # name, text, was JSON
    has_default: bool = False
    test: Any = None  # the outcome of "Test this step", when it was just asked for
    ran: Any = None  # the outcome of "Run this step for real", when it was just asked for


def _uid_list(form: MultiDict[str, str], name: str) -> list[str]:
    return [u for u in form.getlist(name) if UID_PATTERN.match(u)]


def parse_form(form: MultiDict[str, str], registry: Registry) -> tuple[dict[str, Any], FormErrors]:
    """The draft document the form describes (steps carry their uid) and errors for unreadable values."""
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
    reader = _StepReader(form, registry, errors)
    for key, (name, _letter) in PHASES.items():
        if key == "on_failure" and not form.getlist(name) and not form.get("has_on_failure"):
            continue
        doc[key] = reader.read_list(name, f"$.{key}", 0)
    return canonical(doc), errors


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


@dataclass
class _StepReader:
    """Reads the steps of one submitted form, blocks and their inner steps included."""

    form: MultiDict[str, str]
    registry: Registry
    errors: FormErrors
    seen: set[str] = field(default_factory=set)

    def read_list(self, name: str, path: str, depth: int) -> list[dict[str, Any]]:
        if depth > MAX_DEPTH:
            return []
        steps: list[dict[str, Any]] = []
        for uid in _uid_list(self.form, name):
            if uid in self.seen:  # a uid listed twice would nest a step inside itself
                continue
            self.seen.add(uid)
            steps.append(self.read_step(uid, f"{path}[{len(steps)}]", depth))
        return steps

    def text(self, name: str) -> str:
        return (self.form.get(name) or "").strip()

    def read_step(self, uid: str, path: str, depth: int) -> dict[str, Any]:
        form, p = self.form, f"{uid}."
        step: dict[str, Any] = {}
        try:
            step.update(load_extra(form.get(p + EXTRA) or ""))
        except ValueError:
            self.errors[path] = _("The hidden extra fields are not valid JSON.")
        kind = form.get(p + "type") or "action"
        kind = kind if kind in STEP_KINDS else "action"
        step["id"] = self.text(p + "id")
        if kind != "action":
            step["type"] = kind
        elif form.get(p + "explicit_type"):
            step["type"] = "action"
        if self.text(p + "when"):
            step["when"] = self.text(p + "when")
        step[UID] = uid
        reader = getattr(self, "_read_" + kind)
        reader(step, uid, path, depth)
        return step

    def _read_delay(self, step: dict[str, Any], uid: str, path: str, depth: int) -> None:
        step["seconds"] = _number_or_template(self.text(f"{uid}.seconds"), f"{path}.seconds", self.errors)

    def _read_wait_for(self, step: dict[str, Any], uid: str, path: str, depth: int) -> None:
        p = f"{uid}."
        step["connector"] = self.form.get(p + "connector") or ""
        if self.form.get(p + "connection"):
            step["connection"] = self.form[p + "connection"]
        connector = self.registry.get(step["connector"])
        step["trigger"] = self.form.get(p + "key") or ""
        found = connector.trigger(step["trigger"]) if connector else None
        config = parse_fields(
            found.config_schema if found else {"properties": {}},
            self.form,
            p + "cfg",
            f"{path}.config",
            templatable=True,
            errors=self.errors,
            redacted_when_set=True,
        )
        if config:
            step["config"] = config
        match = self.text(p + "match")
        if match:
            try:
                step["match"] = jsonutil.strict_loads(match)
            except ValueError:
                self.errors[f"{path}.match"] = _("Enter a JSON object of dotted paths to values.")
        timeout = self.text(p + "timeout_s")
        if timeout:
            step["timeout_s"] = _number_or_template(timeout, f"{path}.timeout_s", self.errors)

    def _read_action(self, step: dict[str, Any], uid: str, path: str, depth: int) -> None:
        p = f"{uid}."
        step["connector"] = self.form.get(p + "connector") or ""
        if self.form.get(p + "connection"):
            step["connection"] = self.form[p + "connection"]
        connector = self.registry.get(step["connector"])
        step["action"] = self.form.get(p + "key") or ""
        action = connector.action(step["action"]) if connector else None
        step["input"] = parse_fields(
            action.input_schema if action else {"properties": {}},
            self.form,
            p + "in",
            f"{path}.input",
            templatable=True,
            errors=self.errors,
            redacted_when_set=True,
        )

    def _read_set(self, step: dict[str, Any], uid: str, path: str, depth: int) -> None:
        """Name/value rows; a row that held a JSON value (not text) is read back as JSON."""
        as_json = set(self.form.getlist(f"{uid}.vjson"))
        values: dict[str, Any] = {}
        names, texts = self.form.getlist(f"{uid}.vname"), self.form.getlist(f"{uid}.vvalue")
        for name, text in zip(names, texts, strict=False):
            name = name.strip()
            if not name:
                continue
            values[name] = text
            if name in as_json:
                try:
                    values[name] = jsonutil.strict_loads(text)
                except ValueError:
                    self.errors[f"{path}.values.{name}"] = _("Enter valid JSON (or a {{ template }}).")
        step["values"] = values

    def _read_stop(self, step: dict[str, Any], uid: str, path: str, depth: int) -> None:
        step["status"] = self.form.get(f"{uid}.status") or "succeeded"
        if self.text(f"{uid}.message"):
            step["message"] = self.text(f"{uid}.message")

    def _read_for_each(self, step: dict[str, Any], uid: str, path: str, depth: int) -> None:
        step["items"] = self.text(f"{uid}.items")
        if self.text(f"{uid}.as"):
            step["as"] = self.text(f"{uid}.as")
        for name in ("concurrency", "max_items"):
            text = self.text(f"{uid}.{name}")
            if text:
                step[name] = _whole_number(text, f"{path}.{name}", self.errors)
        step["steps"] = self.read_list(f"{uid}.body", f"{path}.steps", depth + 1)

    def _read_branch(self, step: dict[str, Any], uid: str, path: str, depth: int) -> None:
        count = _count(self.form.get(f"{uid}.cases"), 50)
        step["cases"] = [
            {
                "when": self.text(f"{uid}.c{i}.when"),
                "steps": self.read_list(f"{uid}.c{i}", f"{path}.cases[{i}].steps", depth + 1),
            }
            for i in range(count)
        ]
        default = self.read_list(f"{uid}.default", f"{path}.default", depth + 1)
        if default or self.form.get(f"{uid}.has_default"):
            step["default"] = default

    def _read_parallel(self, step: dict[str, Any], uid: str, path: str, depth: int) -> None:
        count = _count(self.form.get(f"{uid}.branches"), 10)
        step["branches"] = [
            self.read_list(f"{uid}.b{i}", f"{path}.branches[{i}]", depth + 1) for i in range(count)
        ]


def _count(text: str | None, most: int) -> int:
    return min(int(text), most) if text and text.isdigit() else 0


def _whole_number(text: str, path: str, errors: FormErrors) -> Any:
    """An integer setting; anything else is kept as typed (so it is shown again) with a clear error."""
    try:
        value = read_number(text)
    except ValueError:
        errors[path] = _("Enter a whole number.")
        return text
    if value != int(value):
        errors[path] = _("Enter a whole number (no decimals): %(value)s is not one.", value=text)
        return text
    return int(value)


def _number_or_template(text: str, path: str, errors: FormErrors) -> Any:
    if "{{" in text:
        return text
    try:
        return read_number(text)
    except ValueError:
        errors[path] = _("Enter a number of seconds or a {{ template }}.")
        return text


def next_uid(uids: list[str], letter: str = "s") -> str:
    numbers = [int(u[1:]) for u in uids if UID_PATTERN.match(u) and u[0] == letter]
    return f"{letter}{max(numbers, default=-1) + 1}"


def new_step(kind: str, existing: list[dict[str, Any]]) -> dict[str, Any]:
    """A fresh step of `kind` with an id no step of the document (inner ones included) has."""
    ids = {s.get("id") for s in existing}
    n = len(existing) + 1
    while f"step_{n}" in ids:
        n += 1
    step: dict[str, Any] = {"id": f"step_{n}"}
    blanks: dict[str, dict[str, Any]] = {
        "delay": {"type": "delay", "seconds": 60},
        "wait_for": {"type": "wait_for", "connector": "", "trigger": ""},
        "set": {"type": "set", "values": {}},
        "branch": {"type": "branch", "cases": [{"when": "", "steps": []}]},
        "parallel": {"type": "parallel", "branches": [[], []]},
        "for_each": {"type": "for_each", "items": "", "steps": []},
        "stop": {"type": "stop", "status": "succeeded"},
    }
    step.update(blanks.get(kind, {"connector": "", "action": "", "input": {}}))
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
    picker_data: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    preview_data: dict[str, Any] = field(default_factory=dict)


def build_view(
    doc: dict[str, Any],
    registry: Registry,
    errors: dict[str, str],
    sample_event: Any,
    open_uid: str | None = None,
) -> EditorView:
    """Everything the editor template draws for `doc`; errors are placed beside their fields."""
    errors = dict(errors)
    assign_uids(doc)
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
    drawer = _StepDrawer(registry, errors, event, open_uid)
    views = {}
    scope = list(event_picker)
    for key, (name, _letter) in PHASES.items():
        if key == "on_failure":
            scope = scope + picker.error_entries()
        views[key] = drawer.draw_list(doc.get(key) or [], name, f"$.{key}", scope)
        scope = scope + drawer.added
        drawer.added = []
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
        picker_data=drawer.picker_data,
        preview_data={"_base": _preview_base(doc, event, drawer.outputs), **drawer.loops},
    )


def _preview_base(doc: dict[str, Any], event: Any, outputs: dict[str, Any]) -> dict[str, Any]:
    """What every template sees in a preview: the sample event, sample outputs, stand-in run data."""
    return {
        "event": event,
        "steps": outputs,
        "run": {"id": 0, "started_at": "2026-01-01T08:00:00+00:00"},
        "recipe": {"id": 0, "name": doc.get("name") or "", "version": 1},
        "error": {"message": "HTTP 500 from the vendor", "code": "http_error", "step": ""},
    }


BLOCK_OUTPUTS: dict[str, dict[str, Any]] = {
    "for_each": {"count": 1, "failed": 0, "items": []},
    "branch": {"case": 0},
    "parallel": {"branches": 2},
}


def sample_output(step: dict[str, Any], registry: Registry) -> tuple[Any, dict[str, Any] | None]:
    """(what the step's output looks like, its output schema) for the picker and the previews."""
    kind = step_type(step)
    if kind == "set" and isinstance(step.get("values"), dict):
        return dict.fromkeys(step["values"], ""), None
    if kind in BLOCK_OUTPUTS:
        return BLOCK_OUTPUTS[kind], None
    connector = registry.get(step.get("connector") or "")
    if connector is None:
        return None, None
    if kind == "action" and (action := connector.action(step.get("action") or "")):
        return action.sample_output, action.output_schema
    if kind == "wait_for" and (found := connector.trigger(step.get("trigger") or "")):
        return found.sample, found.output_schema
    return None, None


@dataclass
class _StepDrawer:
    """Builds the step cards of a draft, block by block, with what each step's picker can offer."""

    registry: Registry
    errors: dict[str, str]
    event: Any
    open_uid: str | None
    added: list[dict[str, str]] = field(default_factory=list)  # outputs of the steps drawn so far
    picker_data: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)  # step id -> sample output, for previews
    loop: dict[str, Any] = field(default_factory=dict)  # the loop names in scope, for previews
    loops: dict[str, dict[str, Any]] = field(default_factory=dict)  # step uid -> its loop names

    def draw_list(
        self, steps: list[Any], list_name: str, path: str, scope: list[dict[str, str]]
    ) -> list[StepView]:
        views = []
        for index, step in enumerate(steps):
            available = scope + self.added
            view = self.draw_step(step, index, f"{path}[{index}]", available)
            view.list_name = list_name
            views.append(view)
            sample, schema = sample_output(step, self.registry)
            if view.step_id and sample is not None:
                self.added.extend(picker.step_entries(view.step_id, sample, schema))
                self.outputs.setdefault(view.step_id, sample)
        return views

    def draw_step(
        self, step: dict[str, Any], index: int, path: str, available: list[dict[str, str]]
    ) -> StepView:
        kind = step_type(step) if step.get("type") in STEP_KINDS or "type" not in step else "action"
        uid = str(step.get(UID))
        view = StepView(
            uid=uid,
            index=index,
            path=path,
            kind=kind,
            step_id=str(step.get("id") or ""),
            when=str(step.get("when") or ""),
            connector=str(step.get("connector") or ""),
            key=str(step.get("action") or step.get("trigger") or ""),
            connection=str(step.get("connection") or ""),
            picker=available,
        )
        self.picker_data[uid] = available
        if self.loop:
            self.loops[uid] = self.loop
        view.explicit_type = step.get("type") == "action"
        self._draw_blocks(view, step, available)
        before = len(self.errors)
        getattr(self, "_draw_" + kind)(view, step)
        extra = {k: v for k, v in step.items() if k not in STEP_KEYS[kind] and k != UID}
        view.extra = jsonutil.dumps(extra) if extra else ""
        for name in sorted(STEP_KEYS[kind] | {"values", "status", "message"}):
            if f"{path}.{name}" in self.errors:
                view.field_errors[name] = self.errors.pop(f"{path}.{name}")
        for err_path in [p for p in self.errors if p == path or p.startswith((path + ".", path + "["))]:
            message = self.errors.pop(err_path)
            view.errors.append(f"{err_path}: {message}" if err_path != path else message)
        view.has_error = len(self.errors) < before or bool(view.errors)
        view.open = view.has_error or uid == self.open_uid
        self._describe(view, step)
        return view

    def _draw_blocks(self, view: StepView, step: dict[str, Any], available: list[dict[str, str]]) -> None:
        """Inner step lists first, so their errors go to their own fields before the block takes the rest."""
        blocks = child_lists(step)
        inner_scope = list(available)
        outer_loop = self.loop
        if view.kind == "for_each":
            name, first = str(step.get("as") or "item"), self._first_item(step)
            inner_scope += picker.loop_entries(name, first)
            self.loop = {**outer_loop, name: first, "loop": {"index": 0, "length": 1}}
        cases = [c for c in step.get("cases") or [] if isinstance(c, dict)]
        for suffix, items, suffix_path in blocks:
            block_path = view.path + suffix_path
            saved, self.added = self.added, []
            steps = self.draw_list(items, f"{view.uid}.{suffix}", block_path, inner_scope)
            inner, self.added = self.added, saved
            self.added.extend(inner)  # after the block, inner outputs stay addressable
            block = Block(list_name=f"{view.uid}.{suffix}", label="", path=block_path, steps=steps, kind="")
            if suffix == "body":
                block.kind, block.label = "body", _("For each item, do")
            elif suffix == "default":
                block.kind, block.label = "default", _("Otherwise (no case matched)")
            elif suffix.startswith("c"):
                number = int(suffix[1:])
                case_path = f"{view.path}.cases[{number}]"
                block.kind, block.index, block.removable = "case", number, len(cases) > 1
                block.label = _("Case %(n)s", n=number + 1)
                block.when = str(cases[number].get("when") or "")
                block.when_error = self.errors.pop(f"{case_path}.when", "")
            else:
                number = int(suffix[1:])
                block.kind, block.index = "branch", number
                block.removable = len(step.get("branches") or []) > 2
                block.label = _("Branch %(n)s", n=number + 1)
            view.blocks.append(block)
        self.loop = outer_loop

    def _first_item(self, step: dict[str, Any]) -> Any:
        """The first item the loop would take from the sample event, to offer its fields in the picker."""
        items = step.get("items")
        if not isinstance(items, str) or not templating.is_template(items):
            return None
        try:
            value = templating.render_value(items, {"event": self.event, "steps": {}}, "$.items")
        except HubError:
            return None
        return value[0] if isinstance(value, list) and value else None

    def _draw_action(self, view: StepView, step: dict[str, Any]) -> None:
        connector = self.registry.get(view.connector)
        action = connector.action(view.key) if connector else None
        view.choices = [(k, a.title or k) for k, a in connector.action_map.items()] if connector else []
        view.fields = build_fields(
            action.input_schema if action else None,
            step.get("input") or {},
            f"{view.uid}.in",
            f"{view.path}.input",
            templatable=True,
            errors=self.errors,
        )
        view.fields_extra = extra_field(action.input_schema if action else None, step.get("input") or {})

    def _draw_wait_for(self, view: StepView, step: dict[str, Any]) -> None:
        connector = self.registry.get(view.connector)
        found = connector.trigger(view.key) if connector else None
        view.choices = [(k, t.title or k) for k, t in connector.trigger_map.items()] if connector else []
        view.fields = build_fields(
            found.config_schema if found else None,
            step.get("config") or {},
            f"{view.uid}.cfg",
            f"{view.path}.config",
            templatable=True,
            errors=self.errors,
        )
        view.fields_extra = extra_field(found.config_schema if found else None, step.get("config") or {})
        view.match = jsonutil.dumps(step["match"], indent=2) if step.get("match") else ""
        view.timeout_s = _text(step.get("timeout_s"))

    def _draw_delay(self, view: StepView, step: dict[str, Any]) -> None:
        view.seconds = _text(step.get("seconds"))

    def _draw_set(self, view: StepView, step: dict[str, Any]) -> None:
        values: dict[str, Any] = step["values"] if isinstance(step.get("values"), dict) else {}
        view.values = [(str(k), _text(v), not isinstance(v, str)) for k, v in values.items()]
        for name in values:
            if f"{view.path}.values.{name}" in self.errors:
                view.field_errors[f"values.{name}"] = self.errors.pop(f"{view.path}.values.{name}")

    def _draw_for_each(self, view: StepView, step: dict[str, Any]) -> None:
        view.items = _text(step.get("items"))
        view.as_name = _text(step.get("as"))
        view.concurrency = _text(step.get("concurrency"))
        view.max_items = _text(step.get("max_items"))

    def _draw_branch(self, view: StepView, step: dict[str, Any]) -> None:
        view.has_default = "default" in step

    def _draw_parallel(self, view: StepView, step: dict[str, Any]) -> None:
        """A parallel step has nothing of its own to edit besides its branches."""

    def _draw_stop(self, view: StepView, step: dict[str, Any]) -> None:
        view.status = str(step.get("status") or "succeeded")
        view.message = _text(step.get("message"))

    def _describe(self, view: StepView, step: dict[str, Any]) -> None:
        """The card's title, one-line summary and initial, shown while the card is closed."""
        connector = self.registry.get(view.connector)
        app = (connector.name or connector.id) if connector else ""
        if view.kind in ("action", "wait_for"):
            found = (
                (connector.action(view.key) if view.kind == "action" else connector.trigger(view.key))
                if connector
                else None
            )
            view.title = f"{app}: {found.title or found.key}" if found else (app or _("Choose an app"))
            inputs = step.get("input" if view.kind == "action" else "config") or {}
            schema = getattr(found, "input_schema" if view.kind == "action" else "config_schema", None)
            fields = (schema or {}).get("properties") or {}
            view.inputs_shown = [
                (str((fields.get(k) or {}).get("title") or k), _option_text(fields.get(k) or {}, v))
                for k, v in inputs.items()
                if v not in ("", None)
            ][:2]  # titles and option labels are in the page's language
            view.summary = "; ".join(f"{title} = {value}" for title, value in view.inputs_shown)
            view.initial = (app or "?")[:1].upper()
            return
        titles = {
            "delay": _("Delay"),
            "set": _("Set values"),
            "branch": _("Branch"),
            "parallel": _("In parallel"),
            "for_each": _("For each"),
            "stop": _("Stop the run"),
        }
        view.title = titles[view.kind]
        view.initial = KIND_MARKS[view.kind]
        if view.kind == "delay":
            view.summary = _("wait %(seconds)s s", seconds=view.seconds)
        elif view.kind == "set":
            view.summary = ", ".join(name for name, _text_, _json in view.values)
        elif view.kind == "branch":
            view.summary = _("%(n)s cases", n=len(step.get("cases") or []))
        elif view.kind == "parallel":
            view.summary = _("%(n)s branches", n=len(step.get("branches") or []))
        elif view.kind == "for_each":
            view.summary = _("%(name)s in %(items)s", name=view.as_name or "item", items=view.items)
        else:
            view.summary = f"{status_text(view.status)}" + (f": {view.message}" if view.message else "")
        view.summary = view.summary[:120]


def step_kind_labels() -> list[tuple[str, str]]:
    """The kinds of step the add menu offers besides an action, in the user's language."""
    return [
        ("delay", _("a delay")),
        ("wait_for", _("a wait for an event")),
        ("set", _("set values")),
        ("branch", _("a branch (if / otherwise)")),
        ("parallel", _("steps in parallel")),
        ("for_each", _("a loop over a list (for each)")),
        ("stop", _("stop the run")),
        ("action", _("an action")),
    ]


def status_text(status: str) -> str:
    labels = {"succeeded": _("succeeded"), "failed": _("failed"), "filtered": _("filtered")}
    return labels.get(status, status)


def _option_text(spec: dict[str, Any], value: Any) -> str:
    """A value as its field shows it: a listed option by its label (translated), else as text."""
    options, labels = spec.get("enum"), spec.get(ENUM_TITLES)
    if isinstance(options, list) and isinstance(labels, list) and value in options:
        return str(labels[options.index(value)])
    return _text(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else jsonutil.dumps(value)
