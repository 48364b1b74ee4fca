"""Recipe statistics: run counts by status, completion rate, duration percentiles, per-step and per-wait
figures, overall and per version, over a period.

Everything is aggregated in the database. Runs of closed days are counted into the daily roll-ups
and marked `rolled_up` (hub/retention.py, one transaction per batch), so a query adds the roll-ups of
the period to the runs not rolled up (today's, and late finishers), read from the covering index
ix_runs_stats and grouped down to one row per status and duration bucket: the work in Python is
bounded by buckets and days, never by runs. Percentiles come from log-bucket sketches (hub/sketch.py,
within about 1 %); on PostgreSQL, figures made of live rows only are exact `percentile_cont` values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from hub import sketch
from hub.db.models import RecipeVersion, Run, RunRollup, StepRollup, StepRun

FINISHED = ("succeeded", "failed", "filtered", "cancelled")
# The key of a step's figures: its id, unique across the document, nested steps included. A nested
# step's rows also carry a path with the loop item (`lines.3.post`); keying by it would give every
# item of a 10,000-item loop figures of its own, so all items of a step are counted together.
STEP_KEY: Any = StepRun.step_id
PERCENTILES = (("p50", 0.5), ("p95", 0.95))


@dataclass(frozen=True)
class Period:
    """Runs created in [since, until); either end open. Pruned days count when their UTC day starts
    in the period (roll-ups keep whole days)."""

    since: datetime | None = None
    until: datetime | None = None

    def runs(self) -> list[ColumnElement[bool]]:
        conditions = []
        if self.since is not None:
            conditions.append(Run.created_at >= self.since)
        if self.until is not None:
            conditions.append(Run.created_at < self.until)
        return conditions

    def days(self, column: Any) -> list[ColumnElement[bool]]:
        conditions = []
        if self.since is not None:
            conditions.append(column >= _day_from(self.since))
        if self.until is not None:
            conditions.append(column < _day_from(self.until))
        return conditions


def _day_from(moment: datetime) -> date:
    """The first UTC day that starts at or after `moment`."""
    moment = moment.astimezone(UTC)
    day = moment.date()
    return day if datetime.combine(day, time(), UTC) == moment else date.fromordinal(day.toordinal() + 1)


# -- SQL pieces ------------------------------------------------------------------------------------
def duration_ms(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    """Milliseconds from `start` to `end`, computed by the database."""
    if dialect == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86_400_000.0
    return func.extract("epoch", end - start) * 1000.0


def bucket(dialect: str, ms: ColumnElement[Any]) -> ColumnElement[Any]:
    """The sketch bucket of a duration (hub/sketch.py), NULL when the duration is. The duration is
    read once (clamped at half a millisecond, so anything under one lands in a negative bucket)."""
    if dialect == "sqlite":
        # CAST truncates, which is floor for the buckets that count; SQLAlchemy gives SQLite a Python
        # floor(), a call per row that fails on NULL.
        return cast(func.ln(func.max(ms, 0.5)) / sketch.LN_GAMMA, Integer)
    return cast(func.floor(func.ln(func.greatest(ms, 0.5)) / sketch.LN_GAMMA), Integer)


def timed_out() -> ColumnElement[int]:
    """1 for a wait_for step that ended at its timeout (hub/engine/sweeper.py marks it code `timeout`);
    the error is only read for failed steps."""
    code = StepRun.error["code"].as_string()
    return case((StepRun.status == "failed", case((code == "timeout", 1), else_=0)), else_=0)


def day_of(dialect: str, moment: Any) -> ColumnElement[Any]:
    """The UTC day of a stored time (SQLite keeps UTC text; PostgreSQL a timestamptz)."""
    if dialect == "sqlite":
        return func.date(moment)
    return func.date(func.timezone("UTC", moment))


def as_day(value: Any) -> date:
    """A day as the database returned it (SQLite's date() gives text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _grouped(rows: Any, keys: list[str], *totals: Any) -> Any:
    """`rows` (a select computing each row's keys once) grouped by `keys` with `totals`."""
    sub = rows.subquery()
    columns = [sub.c[key] for key in keys]
    return select(*columns, *(total(sub) for total in totals)).group_by(*columns)


def run_buckets(dialect: str, runs: list[ColumnElement[bool]], *, by_day: bool = False) -> Any:
    """([day,] recipe, version, status, bucket, runs) of the runs matching `runs`."""
    b = bucket(dialect, duration_ms(dialect, Run.created_at, Run.finished_at)).label("bucket")
    columns = [Run.recipe_id, Run.recipe_version, Run.status, b]
    if by_day:
        columns.insert(0, day_of(dialect, Run.created_at).label("day"))
    rows = select(*columns).where(Run.dry_run.is_(False), *runs)
    keys = ["day"] * by_day + ["recipe_id", "recipe_version", "status", "bucket"]
    return _grouped(rows, keys, lambda sub: func.count())


def step_buckets(dialect: str, runs: list[ColumnElement[bool]], *, by_day: bool = False) -> Any:
    """([day,] recipe, version, path, step id, status, timed out, bucket, rows, attempts) of the
    steps of the runs matching `runs`."""
    b = bucket(dialect, duration_ms(dialect, StepRun.started_at, StepRun.finished_at)).label("bucket")
    columns = [
        Run.recipe_id,
        Run.recipe_version,
        STEP_KEY.label("path"),
        StepRun.step_id,
        StepRun.status,
        timed_out().label("timed_out"),
        b,
        StepRun.attempts,
    ]
    if by_day:
        columns.insert(0, day_of(dialect, Run.created_at).label("day"))
    rows = (
        select(*columns)
        .join(Run, Run.id == StepRun.run_id)
        .where(Run.dry_run.is_(False), StepRun.phase == "main", *runs)
    )
    keys = ["day"] * by_day + [
        "recipe_id",
        "recipe_version",
        "path",
        "step_id",
        "status",
        "timed_out",
        "bucket",
    ]
    return _grouped(
        rows, keys, lambda sub: func.count(), lambda sub: func.coalesce(func.sum(sub.c.attempts), 0)
    )


# -- figures -----------------------------------------------------------------------------------------
@dataclass
class StepFigures:
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    attempts: int = 0
    sketch: dict[int, int] = field(default_factory=dict)
    exact: dict[str, float | None] | None = None

    def add(self, status: str, out: int, bucket_: int | None, rows: int, attempts: int) -> None:
        self.succeeded += rows if status == "succeeded" else 0
        self.failed += rows if status == "failed" else 0
        self.timed_out += rows if out else 0
        self.attempts += int(attempts)
        if bucket_ is not None and status in ("succeeded", "failed"):
            sketch.merge(self.sketch, [(bucket_, rows)])

    def absorb(self, other: StepFigures) -> None:
        self.succeeded += other.succeeded
        self.failed += other.failed
        self.timed_out += other.timed_out
        self.attempts += other.attempts
        sketch.merge(self.sketch, other.sketch)


@dataclass
class Figures:
    """One recipe's (or one version's) numbers as they are gathered."""

    runs: dict[str, int] = field(default_factory=dict)
    sketch: dict[int, int] = field(default_factory=dict)
    steps: dict[str, StepFigures] = field(default_factory=dict)
    waits: dict[str, StepFigures] = field(default_factory=dict)  # by step id, every path of it
    rolled_up: bool = False  # some figures come from roll-ups: percentiles stay the sketch's
    exact: dict[str, float | None] | None = None

    def add_run(self, status: str, bucket_: int | None, count: int) -> None:
        self.runs[status] = self.runs.get(status, 0) + count
        if bucket_ is not None and status in FINISHED:
            sketch.merge(self.sketch, [(bucket_, count)])

    def step(self, path: str) -> StepFigures:
        return self.steps.setdefault(path, StepFigures())

    def wait(self, step_id: str) -> StepFigures:
        return self.waits.setdefault(step_id, StepFigures())

    def absorb(self, other: Figures) -> None:
        for status, count in other.runs.items():
            self.runs[status] = self.runs.get(status, 0) + count
        sketch.merge(self.sketch, other.sketch)
        for path, figures in other.steps.items():
            self.step(path).absorb(figures)
        for step_id, figures in other.waits.items():
            self.wait(step_id).absorb(figures)
        self.rolled_up = self.rolled_up or other.rolled_up

    def view(self, wait_ids: set[str]) -> dict[str, Any]:
        """The figures as the API shows them; `waits` lists the wait_for steps among `wait_ids`."""
        succeeded = self.runs.get("succeeded", 0)
        finished = sum(self.runs.get(status, 0) for status in FINISHED)
        return {
            "runs": dict(sorted(self.runs.items())),
            "completion_rate": round(succeeded / finished, 4) if finished else None,
            "duration_ms": _percentiles(self.sketch, None if self.rolled_up else self.exact),
            "steps": {
                path: {
                    "succeeded": fig.succeeded,
                    "failed": fig.failed,
                    "attempts": fig.attempts,
                    "duration_ms": _percentiles(fig.sketch, None if self.rolled_up else fig.exact),
                }
                for path, fig in sorted(self.steps.items())
            },
            "waits": {
                step_id: {
                    "resumed": fig.succeeded,
                    "timed_out": fig.timed_out,
                    "wait_s": _seconds(_percentiles(fig.sketch, None if self.rolled_up else fig.exact)),
                }
                for step_id, fig in sorted(self.waits.items())
                if step_id in wait_ids
            },
        }


def _percentiles(counts: dict[int, int], exact: dict[str, float | None] | None) -> dict[str, float | None]:
    if exact is not None:
        return {name: None if value is None else round(value, 3) for name, value in exact.items()}
    values = {name: sketch.percentile(counts, fraction) for name, fraction in PERCENTILES}
    return {name: None if value is None else round(value, 3) for name, value in values.items()}


def _seconds(millis: dict[str, float | None]) -> dict[str, float | None]:
    return {name: None if value is None else round(value / 1000, 3) for name, value in millis.items()}


class Gathered:
    """Figures by (recipe id, version), filled from live rows and roll-ups."""

    def __init__(self) -> None:
        self.groups: dict[tuple[int, int], Figures] = {}

    def __getitem__(self, key: tuple[int, int]) -> Figures:
        return self.groups.setdefault(key, Figures())

    def add_run_rows(self, rows: Iterable[Any]) -> None:
        for recipe_id, version, status, bucket_, count in rows:
            self[recipe_id, version].add_run(status, bucket_, count)

    def add_step_rows(self, rows: Iterable[Any]) -> None:
        for recipe_id, version, path, step_id, status, out, bucket_, count, attempts in rows:
            figures = self[recipe_id, version]
            figures.step(str(path)).add(status, out, bucket_, count, attempts)
            figures.wait(step_id).add(status, out, bucket_, count, 0)

    def add_rollups(self, session: Session, recipe_ids: list[int] | None, period: Period) -> None:
        run_columns = (RunRollup.recipe_id, RunRollup.recipe_version, RunRollup.status, RunRollup.runs)
        runs = select(*run_columns, RunRollup.sketch).where(*period.days(RunRollup.day))
        step_counts = (StepRollup.succeeded, StepRollup.failed, StepRollup.timed_out, StepRollup.attempts)
        steps = select(
            StepRollup.recipe_id, StepRollup.recipe_version, StepRollup.path, StepRollup.step_id, *step_counts
        ).add_columns(StepRollup.sketch)
        steps = steps.where(*period.days(StepRollup.day))
        if recipe_ids is not None:
            runs = runs.where(RunRollup.recipe_id.in_(recipe_ids))
            steps = steps.where(StepRollup.recipe_id.in_(recipe_ids))
        for recipe_id, version, status, count, counts in session.execute(runs):
            figures = self[recipe_id, version]
            figures.rolled_up = True
            figures.runs[status] = figures.runs.get(status, 0) + count
            sketch.merge(figures.sketch, counts)
        for recipe_id, version, path, step_id, succeeded, failed, out, attempts, counts in session.execute(
            steps
        ):
            figures = self[recipe_id, version]
            figures.rolled_up = True
            rolled = StepFigures(succeeded, failed, out, attempts)
            sketch.merge(rolled.sketch, counts)
            figures.step(path).absorb(rolled)
            rolled.attempts = 0
            figures.wait(step_id).absorb(rolled)

    def by_recipe(self) -> Iterator[tuple[int, dict[int, Figures]]]:
        recipes: dict[int, dict[int, Figures]] = {}
        for (recipe_id, version), figures in self.groups.items():
            recipes.setdefault(recipe_id, {})[version] = figures
        yield from sorted(recipes.items())


# -- exact percentiles on PostgreSQL -------------------------------------------------------------------
def _exact(session: Session, keys: list[str], query: Any) -> dict[Any, Any]:
    """{key tuple: {"p50", "p95"}} by percentile_cont over the rows of `query` (which selects `ms`)."""
    sub = query.subquery()
    columns = [sub.c[key] for key in keys]
    wanted = [func.percentile_cont(fraction).within_group(sub.c.ms) for _, fraction in PERCENTILES]
    result = {}
    for row in session.execute(select(*columns, *wanted).group_by(*columns)):
        result[tuple(row[: len(keys)])] = {
            name: None if value is None else float(value)
            for (name, _), value in zip(PERCENTILES, row[len(keys) :], strict=True)
        }
    return result


def _add_exact(session: Session, gathered: Gathered, runs: list[ColumnElement[bool]]) -> dict[int, Figures]:
    """Exact percentiles of live rows into `gathered` by version; those over all versions returned."""
    run_ms = duration_ms("postgresql", Run.created_at, Run.finished_at).label("ms")
    live_runs = select(Run.recipe_id, Run.recipe_version, run_ms).where(
        Run.dry_run.is_(False), Run.status.in_(FINISHED), Run.finished_at.is_not(None), *runs
    )
    step_ms = duration_ms("postgresql", StepRun.started_at, StepRun.finished_at).label("ms")
    live_steps = (
        select(Run.recipe_id, Run.recipe_version, STEP_KEY.label("path"), StepRun.step_id, step_ms)
        .join(Run, Run.id == StepRun.run_id)
        .where(
            Run.dry_run.is_(False),
            StepRun.phase == "main",
            StepRun.status.in_(("succeeded", "failed")),
            StepRun.finished_at.is_not(None),
            *runs,
        )
    )
    recipes: dict[int, Figures] = {}

    def overall(recipe_id: int) -> Figures:
        return recipes.setdefault(recipe_id, Figures())

    for (recipe_id, version), values in _exact(session, ["recipe_id", "recipe_version"], live_runs).items():
        gathered[recipe_id, version].exact = values
    for (recipe_id,), values in _exact(session, ["recipe_id"], live_runs).items():
        overall(recipe_id).exact = values
    for (recipe_id, version, path), values in _exact(
        session, ["recipe_id", "recipe_version", "path"], live_steps
    ).items():
        gathered[recipe_id, version].step(str(path)).exact = values
    for (recipe_id, version, step), values in _exact(
        session, ["recipe_id", "recipe_version", "step_id"], live_steps
    ).items():
        gathered[recipe_id, version].wait(step).exact = values
    for (recipe_id, path), values in _exact(session, ["recipe_id", "path"], live_steps).items():
        overall(recipe_id).step(str(path)).exact = values
    for (recipe_id, step), values in _exact(session, ["recipe_id", "step_id"], live_steps).items():
        overall(recipe_id).wait(step).exact = values
    return recipes


# -- the answer --------------------------------------------------------------------------------------------
def wait_for_ids(document: Any) -> set[str]:
    """Ids of the document's wait_for steps, nested ones included (any list or object holding steps)."""
    found: set[str] = set()
    if isinstance(document, dict):
        if document.get("type") == "wait_for" and isinstance(document.get("id"), str):
            found.add(document["id"])
        for key, value in document.items():
            if key not in ("input", "match", "config", "values"):
                found |= wait_for_ids(value)
    elif isinstance(document, list):
        for item in document:
            found |= wait_for_ids(item)
    return found


def _wait_ids(session: Session, recipe_id: int, versions: Iterable[int]) -> dict[int, set[str]]:
    rows = session.execute(
        select(RecipeVersion.version, RecipeVersion.document).where(
            RecipeVersion.recipe_id == recipe_id, RecipeVersion.version.in_(list(versions))
        )
    )
    return {version: wait_for_ids(document.get("steps")) for version, document in rows}


def gather(session: Session, recipe_ids: list[int] | None, period: Period) -> dict[int, dict[str, Any]]:
    """{recipe id: figures with by_version} for the given recipes (None: every recipe with runs)."""
    dialect = session.get_bind().dialect.name
    conditions = [Run.rolled_up.is_(False), *period.runs()]
    if recipe_ids is not None:
        conditions.append(Run.recipe_id.in_(recipe_ids))
    gathered = Gathered()
    gathered.add_run_rows(session.execute(run_buckets(dialect, conditions)))
    gathered.add_step_rows(session.execute(step_buckets(dialect, conditions)))
    gathered.add_rollups(session, recipe_ids, period)
    overall_exact: dict[int, Figures] = {}
    if dialect == "postgresql":
        overall_exact = _add_exact(session, gathered, conditions)
    answer: dict[int, dict[str, Any]] = {}
    for recipe_id, versions in gathered.by_recipe():
        wait_ids = _wait_ids(session, recipe_id, versions)
        overall = Figures()
        for figures in versions.values():
            overall.absorb(figures)
        _take_exact(overall, overall_exact.get(recipe_id))
        view = overall.view(set().union(*wait_ids.values()) if wait_ids else set())
        view["by_version"] = {
            str(version): figures.view(wait_ids.get(version, set()))
            for version, figures in sorted(versions.items())
        }
        answer[recipe_id] = view
    return answer


def _take_exact(overall: Figures, exact: Figures | None) -> None:
    """Give a recipe's merged figures the exact percentiles computed over all its versions."""
    if exact is None:
        return
    overall.exact = exact.exact
    for path, figures in exact.steps.items():
        overall.step(path).exact = figures.exact
    for step_id, figures in exact.waits.items():
        overall.wait(step_id).exact = figures.exact


def empty() -> dict[str, Any]:
    """The figures of a recipe without runs in the period."""
    view = Figures().view(set())
    view["by_version"] = {}
    return view


def recipe_stats(session: Session, recipe_id: int, period: Period) -> dict[str, Any]:
    return gather(session, [recipe_id], period).get(recipe_id) or empty()


def daily_runs(session: Session, recipe_id: int, period: Period) -> dict[date, dict[str, int]]:
    """{UTC day: {status: runs}} of the recipe in the period, live and rolled up (for charts)."""
    dialect = session.get_bind().dialect.name
    day = day_of(dialect, Run.created_at).label("day")
    live = (
        select(day, Run.status, func.count())
        .where(Run.rolled_up.is_(False), Run.recipe_id == recipe_id, Run.dry_run.is_(False), *period.runs())
        .group_by(day, Run.status)
    )
    rolled = select(RunRollup.day, RunRollup.status, func.sum(RunRollup.runs)).where(
        RunRollup.recipe_id == recipe_id, *period.days(RunRollup.day)
    )
    counts: dict[date, dict[str, int]] = {}
    for when, status, count in [
        *session.execute(live),
        *session.execute(rolled.group_by(RunRollup.day, RunRollup.status)),
    ]:
        on = as_day(when)
        counts.setdefault(on, {})[status] = counts.get(on, {}).get(status, 0) + int(count)
    return counts
