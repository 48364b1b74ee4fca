"""Recipes: list, the guided editor with its raw JSON/YAML view, the recipe page (webhook URL,
enable/disable, versions with diffs, test with a sample event), on the same core as /api/v1/recipes."""

from __future__ import annotations

import difflib
from decimal import Decimal
from typing import Any

import yaml
from flask import abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from hub import capture, jsonutil
from hub.connections import NotFound
from hub.current import runtime
from hub.db.models import Connection, Event, Recipe, RecipeVersion, Run
from hub.documents import parse_document
from hub.ids import parse_id
from hub.presentation import recipe_detail, recipe_summary, run_view
from hub.projects import reachable_connections
from hub.recipe_store import get_recipe, version_document
from hub.recipes import without_secrets
from hub.sdk.errors import HubError
from hub.services import recipes as service
from hub.web import web
from hub.web.auth import page
from hub.web.common import error_map, flash_error, flash_ok
from hub.web.i18n import connectors
from hub.web.outbound import private_targets
from hub.web.recipe_form import (
    STEP_KINDS,
    STOP_STATUSES,
    UID,
    UID_PATTERN,
    all_steps,
    assign_uids,
    build_view,
    canonical,
    guided_problem,
    new_step,
    next_uid,
    parse_form,
    status_text,
    step_kind_labels,
    step_lists,
    without_uids,
)
from hub.web.step_run import run_for_real
from hub.web.step_test import dry_test, find_view

BLANK: dict[str, Any] = {"name": "", "trigger": {"connector": "", "trigger": "", "config": {}}, "steps": []}


class _YamlDumper(yaml.SafeDumper):
    """YAML that writes Decimals as their digits."""


_YamlDumper.add_representer(
    Decimal, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:float", str(value))
)


def to_text(doc: dict[str, Any], fmt: str) -> str:
    if fmt == "yaml":
        return yaml.dump(doc, Dumper=_YamlDumper, allow_unicode=True, sort_keys=False)
    return jsonutil.dumps(doc, indent=2)


def from_text(text: str, fmt: str) -> Any:
    return parse_document(text, "yaml" if fmt == "yaml" else "json")


def _recipe_or_404(db: Any, recipe_id: int) -> Recipe:
    try:
        return get_recipe(db, recipe_id)
    except HubError:
        abort(404)


@web.get("/recipes")
@page("viewer")
def recipes() -> Any:
    rt = runtime()
    with rt.db.transaction() as db:
        query = select(Recipe).where(Recipe.deleted_at.is_(None), Recipe.project_id == g.project_id)
        rows = db.scalars(query.order_by(Recipe.name))
        items = [recipe_summary(db, rt, r) for r in rows]
    return render_template("recipes.html", recipes=items)


def _sample_event(db: Any, recipe_id: int | None) -> Any:
    """The recipe's latest real event (not a test one), or None to use the trigger's sample."""
    if recipe_id is None:
        return None
    return db.scalar(
        select(Event.payload)
        .where(Event.recipe_id == recipe_id, Event.source != "test")
        .order_by(Event.id.desc())
        .limit(1)
    )


def _normalise(doc: dict[str, Any]) -> None:
    """After a connector is chosen, pick its first trigger/action when the chosen one is not its own."""
    registry = runtime().registry
    trigger = doc.setdefault("trigger", {})
    connector = registry.get(trigger.get("connector") or "")
    if connector is not None and connector.trigger(trigger.get("trigger") or "") is None:
        trigger["trigger"] = next(iter(connector.trigger_map), "")
        trigger["config"] = {}
    for step in all_steps(doc):
        connector = registry.get(step.get("connector") or "")
        if connector is None:
            continue
        if step.get("type") == "wait_for":
            if connector.trigger(step.get("trigger") or "") is None:
                step["trigger"], step["config"] = next(iter(connector.trigger_map), ""), {}
        elif connector.action(step.get("action") or "") is None:
            step["action"], step["input"] = next(iter(connector.action_map), ""), {}


ADD_TARGETS = {"add": "step", "fadd": "fstep"}


def _apply_op(op: str, doc: dict[str, Any]) -> tuple[str | None, str | None]:
    """Carry out one editor button on the draft: (the step card to open, the element to focus next).

    `add:KIND[@LIST]` adds a step to a list (`step`, `fstep` or a block's `<uid>.<part>`); `up:`,
    `down:`, `remove:` and `open:` take a step uid; `addcase:`/`addbranch:`/`adddefault:` take a
    block's uid, `delcase:`/`delbranch:` a block part (`<uid>.c1`, `<uid>.b2`).
    """
    verb, _sep, arg = op.partition(":")
    assign_uids(doc)
    if verb in ADD_TARGETS:
        kind, _at, target = arg.partition("@")
        return _add_step(doc, kind, target or ADD_TARGETS[verb])
    if verb == "open" and UID_PATTERN.match(arg):
        return arg, f"step-{arg}-title"
    owner = _step_by_uid(doc, arg.partition(".")[0])
    if verb in ("addcase", "addbranch", "adddefault", "delcase", "delbranch") and owner is not None:
        return _change_block(verb, owner, arg)
    for name, steps in step_lists(doc).items():
        index = next((i for i, s in enumerate(steps) if s.get(UID) == arg), None)
        if index is None:
            continue
        if verb == "remove":
            del steps[index]
            if steps:
                return None, f"step-{steps[max(index - 1, 0)][UID]}-title"
            return None, f"add-{name}"
        other = index - 1 if verb == "up" else index + 1
        if verb in ("up", "down") and 0 <= other < len(steps):
            steps[index], steps[other] = steps[other], steps[index]
            edge = (verb == "up" and other == 0) or (verb == "down" and other == len(steps) - 1)
            return None, f"{arg}-{'down' if verb == 'up' else 'up'}" if edge else f"{arg}-{verb}"
    return None, None


def _step_by_uid(doc: dict[str, Any], uid: str) -> dict[str, Any] | None:
    return next((s for s in all_steps(doc) if s.get(UID) == uid), None)


def _add_step(doc: dict[str, Any], kind: str, target: str) -> tuple[str | None, str | None]:
    if kind not in STEP_KINDS:
        return None, None
    if target in ("step", "fstep"):
        doc.setdefault("steps" if target == "step" else "on_failure", [])
    lists = step_lists(doc)
    if target not in lists:
        return None, None
    letter = "f" if target.startswith("f") else "s"
    step = new_step(kind, all_steps(doc))
    step[UID] = next_uid([str(s.get(UID)) for s in all_steps(doc)], letter)
    lists[target].append(step)
    return step[UID], f"step-{step[UID]}-title"


def _change_block(verb: str, step: dict[str, Any], arg: str) -> tuple[str | None, str | None]:
    """Add or remove a branch case, a parallel branch or the default of a branch step."""
    uid = str(step[UID])
    part = arg.partition(".")[2]
    index = int(part[1:]) if part[1:].isdigit() else -1
    if verb == "addcase" and isinstance(step.get("cases"), list) and len(step["cases"]) < 50:
        step["cases"].append({"when": "", "steps": []})
        return None, f"{uid}-c{len(step['cases']) - 1}-when"
    if verb == "adddefault" and "default" not in step:
        step["default"] = []
        return None, f"add-{uid}.default"
    if verb == "addbranch" and isinstance(step.get("branches"), list) and len(step["branches"]) < 10:
        step["branches"].append([])
        return None, f"add-{uid}.b{len(step['branches']) - 1}"
    if verb == "delcase" and len(step.get("cases") or []) > 1 and 0 <= index < len(step["cases"]):
        del step["cases"][index]
    elif verb == "delbranch" and len(step.get("branches") or []) > 2 and 0 <= index < len(step["branches"]):
        del step["branches"][index]
    return None, f"step-{uid}-title"


def _form_sample() -> Any:
    """The sample the editor carries in its form (a captured or fetched event), if it holds one."""
    try:
        sample = jsonutil.strict_loads(request.form.get("sample") or "null")
    except ValueError:
        return None
    return sample if isinstance(sample, dict) else None


def _editor_page(
    doc: dict[str, Any],
    recipe_id: int | None,
    errors: dict[str, str],
    status: int = 200,
    open_uid: str | None = None,
    focus: str | None = None,
    listening: bool = False,
    held: Any = None,
    tested: str | None = None,
    ran: str | None = None,
) -> Any:
    """The editor, or only its form (a fragment the page swaps in) when the page's script asks."""
    rt = runtime()
    with rt.db.transaction() as db:
        if held is None and request.method == "POST":
            held = _form_sample()
        if recipe_id is not None and held is None:
            state = capture.listening(db, recipe_id)
            held, listening = state.event, listening or state.listening
        sample = held if held is not None else _sample_event(db, recipe_id)
        connections: dict[str, list[str]] = {}
        for name, connector in db.execute(
            reachable_connections(select(Connection.name, Connection.connector), g.project_id).order_by(
                Connection.name
            )
        ):
            connections.setdefault(connector, []).append(name)
        webhook_url = None
        if recipe_id is not None:
            webhook_url = recipe_summary(db, rt, _recipe_or_404(db, recipe_id)).get("webhook_url")
    view = build_view(doc, connectors(), errors, sample, open_uid)
    if tested is not None and (card := find_view([*view.steps, *view.failure_steps], tested)):
        step = next(s for s in all_steps(doc) if s.get(UID) == tested)
        context = {**view.preview_data["_base"], **view.preview_data.get(tested, {})}
        card.test = dry_test(without_uids(step), card.path, context)
    if ran is not None and (card := find_view([*view.steps, *view.failure_steps], ran)):
        step = next(s for s in all_steps(doc) if s.get(UID) == ran)
        base = view.preview_data["_base"]  # the sample event and outputs the previews and dry tests use
        card.ran = run_for_real(recipe_id, without_uids(step), card.path, base["event"], base["steps"])
    shown = sorted(connectors().all(), key=lambda c: (c.name or c.id).lower())
    fragment = request.headers.get("X-Hub-Fragment") == "1"
    page = render_template(
        "recipe_editor_form.html" if fragment else "recipe_editor.html",
        view=view,
        recipe_id=recipe_id,
        open_uid=open_uid or "",
        trigger_connectors=[(c.id, c.name or c.id) for c in shown if c.trigger_map],
        action_connectors=[(c.id, c.name or c.id) for c in shown if c.action_map],
        connections=connections,
        webhook_url=webhook_url,
        picker_data=view.picker_data,
        step_kinds=step_kind_labels(),
        held_sample=jsonutil.dumps(_without_headers(held)) if held is not None else "",
        held_pretty=jsonutil.dumps(_without_headers(held), indent=2) if held is not None else "",
        preview_json=script_json(view.preview_data),
        listening=listening,
        private_warnings=private_targets(doc, rt.settings.allow_private_network),
        stop_statuses=[(s, status_text(s)) for s in STOP_STATUSES],
        status_error=status == 422,
    )
    headers = {"X-Hub-Focus": focus} if focus else {}
    return page, status, headers


def script_json(value: Any) -> Markup:
    """JSON safe inside a <script> element, with Decimals kept exact (as the engine reads them)."""
    text = jsonutil.dumps(value)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(char, escaped)
    return Markup(text)  # noqa: S704 (every character that could end the element is escaped above)


def _without_headers(event: Any) -> Any:
    return {k: v for k, v in event.items() if k != "_headers"} if isinstance(event, dict) else event


def _raw_page(text: str, fmt: str, recipe_id: int | None, error: str | None = None, status: int = 200) -> Any:
    return render_template("recipe_raw.html", text=text, fmt=fmt, recipe_id=recipe_id, error=error), status


def _save(doc: dict[str, Any], recipe_id: int | None) -> int:
    """Save from the editor. Here only the Enable/Disable control makes a recipe live: a new recipe is
    a draft (disabled) until then, and a new version keeps the recipe live or not as it was."""
    rt = runtime()
    if recipe_id is None:
        doc = {**doc, "enabled": False}
    else:
        with rt.db.transaction() as db:
            doc = {**doc, "enabled": _recipe_or_404(db, recipe_id).enabled}
    try:
        saved = service.save_recipe(
            rt, doc, actor=g.actor, recipe_id=recipe_id, keep_enabled=True, project_id=g.project_id
        )
    except NotFound:
        abort(404)
    for problem in saved.warnings:
        flash_error(
            _("Saved, but the vendor did not accept the webhook registration: %(problem)s", problem=problem)
        )
    flash_ok(_("Recipe saved."))
    if not saved.enabled:
        flash_ok(_("This recipe is a draft: it receives no events until you enable it."))
    return saved.id


def _editor(recipe_id: int | None) -> Any:
    rt = runtime()
    if request.method == "GET":
        if recipe_id is None:
            return _editor_page(jsonutil.loads(jsonutil.dumps(BLANK)), None, {})
        with rt.db.transaction() as db:
            doc = recipe_detail(db, rt, _recipe_or_404(db, recipe_id))["document"]
        return _editor_page(doc, recipe_id, {})
    op = request.form.get("op") or "refresh"
    if op in ("apply_raw", "save_raw", "raw_format"):
        fmt = "yaml" if request.form.get("format") == "yaml" else "json"
        text = request.form.get("raw") or ""
        try:
            doc = from_text(text, request.form.get("from_format") or fmt)
        except ValueError as exc:
            return _raw_page(
                text,
                fmt,
                recipe_id,
                _("This is not valid %(format)s: %(error)s", format=fmt.upper(), error=exc),
                422,
            )
        if not isinstance(doc, dict):
            return _raw_page(text, fmt, recipe_id, _("A recipe must be an object."), 422)
        if op == "raw_format":
            return _raw_page(to_text(doc, fmt), fmt, recipe_id)
        if op == "apply_raw" and (problem := guided_problem(doc)):
            return _raw_page(text, fmt, recipe_id, problem, 422)
        if op == "save_raw":
            try:
                saved = _save(doc, recipe_id)
            except HubError as exc:
                lines = "\n".join(f"{path}: {message}" for path, message in error_map(exc).items())
                return _raw_page(text, fmt, recipe_id, lines, 422)
            return redirect(url_for("web.recipe_page", recipe_id=saved))
        return _editor_page(doc, recipe_id, {})
    doc, form_errors = parse_form(request.form, rt.registry)
    opened = request.form.get("open") or None
    if op.startswith("addkind:"):  # the "kind of step" list next to a list's Add button
        target = op.partition(":")[2]
        op = f"add:{request.form.get('kind.' + target) or 'action'}@{target}"
    new_open, focus = _apply_op(op, doc)
    _normalise(doc)
    if op == "listen":
        return _listen(doc, recipe_id, form_errors, opened)
    if op == "sample":
        return _fetch_sample(doc, recipe_id, opened)
    if op.startswith("teststep:"):
        uid = op.partition(":")[2]
        return _editor_page(doc, recipe_id, dict(form_errors), 200, uid, f"{uid}-test-result", tested=uid)
    if op.startswith("runstep:"):
        uid = op.partition(":")[2]
        return _editor_page(doc, recipe_id, dict(form_errors), 200, uid, f"{uid}-run-result", ran=uid)
    if op == "raw":
        return _raw_page(to_text(without_uids(doc), "json"), "json", recipe_id)
    if op == "save":
        if form_errors:
            return _editor_page(doc, recipe_id, dict(form_errors), 422, opened)
        try:
            saved = _save(without_uids(doc), recipe_id)
        except HubError as exc:
            return _editor_page(doc, recipe_id, error_map(exc), 422, opened)
        return redirect(url_for("web.recipe_page", recipe_id=saved))
    return _editor_page(doc, recipe_id, dict(form_errors), 200, new_open or opened, focus)


def _listen(
    doc: dict[str, Any], recipe_id: int | None, form_errors: dict[str, str], opened: str | None
) -> Any:
    """Listen for a test event at the webhook address; a new recipe is saved as a draft first (it
    needs an address), and the editor opens on it already listening."""
    if recipe_id is None:
        if form_errors:
            return _editor_page(doc, None, dict(form_errors), 422, opened)
        try:
            recipe_id = _save(without_uids(doc), None)
        except HubError as exc:
            return _editor_page(doc, None, error_map(exc), 422, opened)
        with runtime().db.transaction() as db:
            capture.start_listening(db, recipe_id)
        return redirect(url_for("web.recipe_edit", recipe_id=recipe_id))
    with runtime().db.transaction() as db:
        capture.start_listening(db, recipe_id)
    return _editor_page(doc, recipe_id, dict(form_errors), 200, opened, "listen-state", listening=True)


def _fetch_sample(doc: dict[str, Any], recipe_id: int | None, opened: str | None) -> Any:
    """Poll the draft's polling trigger once (nothing stored, no cursor moved) and hold what it found."""
    try:
        sample = capture.poll_sample(runtime(), doc.get("trigger") or {})
    except HubError as exc:
        return _editor_page(doc, recipe_id, {"$.trigger": exc.message}, 200, opened, "fetch-sample")
    return _editor_page(doc, recipe_id, {}, 200, opened, "sample-state", held=sample)


@web.route("/recipes/new", methods=["GET", "POST"])
@page("editor")
def recipe_new() -> Any:
    return _editor(None)


@web.route("/recipes/<int:recipe_id>/edit", methods=["GET", "POST"])
@page("editor")
def recipe_edit(recipe_id: int) -> Any:
    return _editor(recipe_id)


@web.get("/recipes/<int:recipe_id>")
@page("viewer")
def recipe_page(recipe_id: int) -> Any:
    rt = runtime()
    with rt.db.transaction() as db:
        recipe = _recipe_or_404(db, recipe_id)
        detail = recipe_detail(db, rt, recipe)
        versions = list(
            db.execute(
                select(RecipeVersion.version, RecipeVersion.created_at, RecipeVersion.created_by)
                .where(RecipeVersion.recipe_id == recipe_id)
                .order_by(RecipeVersion.version.desc())
            )
        )
        recent = [
            run_view(db, r, with_steps=False)
            for r in db.scalars(
                select(Run).where(Run.recipe_id == recipe_id).order_by(Run.id.desc()).limit(10)
            )
        ]
        sample = _sample_event(db, recipe_id)
    connector = connectors().get(detail["document"]["trigger"]["connector"])
    trigger = connector.trigger(detail["document"]["trigger"]["trigger"]) if connector else None
    if sample is None:
        sample = trigger.sample if trigger else {}
    if isinstance(sample, dict):
        sample = {k: v for k, v in sample.items() if k != "_headers"}
    return render_template(
        "recipe_page.html",
        recipe=detail,
        versions=versions,
        runs=recent,
        sample=jsonutil.dumps(sample, indent=2),
        trigger_kind=trigger.kind if trigger else None,
    )


def _toggle(recipe_id: int, enabled: bool) -> Any:
    try:
        saved = service.set_enabled(runtime(), recipe_id, enabled, actor=g.actor)
    except NotFound:
        abort(404)
    for problem in saved.warnings:
        flash_error(problem)
    flash_ok(_("Recipe enabled.") if enabled else _("Recipe disabled."))
    return redirect(url_for("web.recipe_page", recipe_id=recipe_id))


@web.post("/recipes/<int:recipe_id>/enable")
@page("operator")
def recipe_enable(recipe_id: int) -> Any:
    return _toggle(recipe_id, True)


@web.post("/recipes/<int:recipe_id>/disable")
@page("operator")
def recipe_disable(recipe_id: int) -> Any:
    return _toggle(recipe_id, False)


@web.post("/recipes/<int:recipe_id>/delete")
@page("editor")
def recipe_delete(recipe_id: int) -> Any:
    try:
        service.delete_recipe(runtime(), recipe_id, actor=g.actor)
    except NotFound:
        abort(404)
    flash_ok(_("Recipe deleted."))
    return redirect(url_for("web.recipes"))


def _version_doc(db: Any, recipe_id: int, version: int) -> dict[str, Any]:
    try:
        return without_secrets(version_document(db, recipe_id, version), runtime().registry)
    except NotFound:
        abort(404)


@web.get("/recipes/<int:recipe_id>/versions/<int:version>")
@page("viewer")
def recipe_version(recipe_id: int, version: int) -> Any:
    """One version, and its differences from another (the previous one unless `against` is given)."""
    against = request.args.get("against", type=parse_id) or max(version - 1, 1)
    with runtime().db.transaction() as db:
        recipe = _recipe_or_404(db, recipe_id)
        name, current = recipe.name, recipe.current_version
        new = _version_doc(db, recipe_id, version)
        old = _version_doc(db, recipe_id, against)
    lines = list(
        difflib.unified_diff(
            to_text(canonical(old), "json").splitlines(),
            to_text(canonical(new), "json").splitlines(),
            fromfile=f"v{against}",
            tofile=f"v{version}",
            lineterm="",
            n=3,
        )
    )
    return render_template(
        "recipe_version.html",
        recipe_id=recipe_id,
        name=name,
        version=version,
        against=against,
        current=current,
        diff=lines,
        text=to_text(new, "json"),
    )


@web.post("/recipes/<int:recipe_id>/test")
@page("editor")
def recipe_test(recipe_id: int) -> Any:
    """As POST /api/v1/recipes/{id}/test: run the current version on an event now, dry or live."""
    dry_run = request.form.get("mode") != "live"
    try:
        event = jsonutil.strict_loads(request.form.get("event") or "{}")
    except ValueError as exc:
        flash_error(_("The sample event is not valid JSON: %(error)s", error=exc))
        return redirect(url_for("web.recipe_page", recipe_id=recipe_id))
    if not isinstance(event, dict):
        flash_error(_("The sample event must be a JSON object."))
        return redirect(url_for("web.recipe_page", recipe_id=recipe_id))
    try:
        run_id = service.run_test(runtime(), recipe_id, event, dry_run=dry_run, actor=g.actor)
    except NotFound:
        abort(404)
    return redirect(url_for("web.run_page", run_id=run_id))
