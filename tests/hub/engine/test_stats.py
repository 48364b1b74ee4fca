"""Recipe statistics: hand-counted seeded runs, runs through the real engine (a wait_for resumed and one
timed out), roll-ups after pruning, and the API's parameters and roles."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from hub import sketch
from hub.app import create_app
from hub.db.models import Run, StepRun, Wait, utcnow
from hub.engine.runner import Runner
from hub.engine.sweeper import expire_waits
from hub.metrics import Metrics
from hub.recipe_store import save_recipe
from hub.retention import prune
from hub.runtime import Runtime
from hub.stats import Period, recipe_stats
from hub.users import create_token, create_user
from tests.hub.api.conftest import ROLES
from tests.hub.engine.kit import EngineKit
from tests.hub.engine.test_wait_events import Hub, approval_doc

Kit = tuple[Runtime, EngineKit]
DAY = datetime(2026, 10, 1, tzinfo=UTC)  # seeded runs are long past retention unless moved


def expected(values: list[float], fraction: float, exact: bool) -> float:
    """percentile_cont when exact; otherwise the nearest-rank value the sketch approximates."""
    ordered = sorted(values)
    if exact:
        position = fraction * (len(ordered) - 1)
        low, high = math.floor(position), math.ceil(position)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def close(found: float | None, values: list[float], fraction: float, exact: bool) -> bool:
    """Exact (to rounding) on PostgreSQL's live rows, within the sketch's error otherwise."""
    assert found is not None
    wanted = expected(values, fraction, exact)
    if exact:
        return abs(found - wanted) < 0.01
    return abs(found - wanted) <= wanted * sketch.RELATIVE_ERROR + 0.001


def recipe(rt: Runtime, versions: int = 2) -> int:
    """A recipe saved `versions` times: steps a (action), approved (wait_for), b (action)."""
    document = approval_doc()
    with rt.db.transaction() as session:
        saved = save_recipe(session, rt, document)
        for _ in range(versions - 1):
            saved = save_recipe(session, rt, document, recipe=saved)
        return saved.id


class Seeder:
    """Rows written directly, with every figure the test later counts by hand."""

    def __init__(self, rt: Runtime, recipe_id: int) -> None:
        self.rt, self.recipe_id = rt, recipe_id
        self.runs: list[dict[str, Any]] = []
        self.steps: list[dict[str, Any]] = []

    def run(
        self,
        version: int,
        status: str,
        created: datetime,
        ms: float | None,
        steps: tuple[tuple[str, str, float, int], ...] = (),
        timeout: bool = False,
    ) -> None:
        finished = created + timedelta(milliseconds=ms) if ms is not None else None
        self.runs.append(
            {
                "recipe_id": self.recipe_id,
                "recipe_version": version,
                "status": status,
                "created_at": created,
                "finished_at": finished,
            }
        )
        for position, (step_id, step_status, step_ms, attempts) in enumerate(steps):
            error = {"code": "timeout"} if timeout and step_id == "approved" else None
            self.steps.append(
                {
                    "run": len(self.runs) - 1,
                    "step_id": step_id,
                    "position": position,
                    "status": step_status,
                    "attempts": attempts,
                    "started_at": created,
                    "finished_at": created + timedelta(milliseconds=step_ms),
                    "error": error,
                }
            )

    def write(self) -> None:
        with self.rt.db.transaction() as session:
            ids = [session.scalar(insert(Run).values(**row).returning(Run.id)) for row in self.runs]
            rows = [
                {**{k: v for k, v in s.items() if k != "run"}, "run_id": ids[s["run"]]} for s in self.steps
            ]
            if rows:
                session.execute(insert(StepRun), rows)


def seed(rt: Runtime, recipe_id: int, start: datetime = DAY) -> Seeder:
    """Two versions over three days: successes, failures, a filtered and a waiting run."""
    seeder = Seeder(rt, recipe_id)
    for i in range(12):
        day = start + timedelta(days=i % 3, hours=i)
        wait_ms = 60_000.0 * (i + 1)
        timeout = i % 4 == 3
        steps = (
            ("ask", "succeeded", 100.0 + 10 * i, 1),
            ("approved", "failed" if timeout else "succeeded", wait_ms, 0),
        )
        if timeout:
            seeder.run(1 + i % 2, "failed", day, 500.0 + wait_ms, steps, timeout=True)
        else:
            steps += (("done", "failed" if i == 4 else "succeeded", 40.0 + i, 3 if i == 4 else 1),)
            seeder.run(1 + i % 2, "failed" if i == 4 else "succeeded", day, 1000.0 * (i + 1) + wait_ms, steps)
    seeder.run(1, "filtered", start + timedelta(hours=5), 3.0)
    seeder.run(2, "waiting", start + timedelta(hours=6), None, (("ask", "succeeded", 90.0, 1),))
    seeder.write()
    return seeder


def hand_count(seeder: Seeder, version: int | None, dialect: str) -> dict[str, Any]:
    """The figures counted in Python from the seeded rows."""
    runs = [r for r in seeder.runs if version is None or r["recipe_version"] == version]
    mine = {i for i, r in enumerate(seeder.runs) if r in runs}
    steps = [s for s in seeder.steps if s["run"] in mine]
    statuses: dict[str, int] = {}
    for r in runs:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    finished = [r for r in runs if r["finished_at"] is not None]
    durations = [(r["finished_at"] - r["created_at"]).total_seconds() * 1000 for r in finished]
    figures: dict[str, Any] = {"runs": statuses, "durations": durations, "steps": {}}
    for step_id in ("ask", "approved", "done"):
        rows = [s for s in steps if s["step_id"] == step_id]
        figures["steps"][step_id] = {
            "succeeded": sum(s["status"] == "succeeded" for s in rows),
            "failed": sum(s["status"] == "failed" for s in rows),
            "attempts": sum(s["attempts"] for s in rows),
            "timed_out": sum(s["error"] is not None for s in rows),
            "ms": [(s["finished_at"] - s["started_at"]).total_seconds() * 1000 for s in rows],
        }
    return figures


def check(found: dict[str, Any], wanted: dict[str, Any], dialect: str, exact: bool | None = None) -> None:
    """`exact`: percentile_cont figures (PostgreSQL's live rows, the default there), else a sketch's."""
    exact = dialect == "postgresql" if exact is None else exact
    assert found["runs"] == wanted["runs"]
    finished = sum(
        n for s, n in wanted["runs"].items() if s in ("succeeded", "failed", "filtered", "cancelled")
    )
    assert found["completion_rate"] == round(wanted["runs"].get("succeeded", 0) / finished, 4)
    for name, fraction in (("p50", 0.5), ("p95", 0.95)):
        assert close(found["duration_ms"][name], wanted["durations"], fraction, exact)
    for step_id, step in wanted["steps"].items():
        if not step["ms"]:
            assert step_id not in found["steps"]
            continue
        shown = found["steps"][step_id]
        assert (shown["succeeded"], shown["failed"], shown["attempts"]) == (
            step["succeeded"],
            step["failed"],
            step["attempts"],
        )
        for name, fraction in (("p50", 0.5), ("p95", 0.95)):
            assert close(shown["duration_ms"][name], step["ms"], fraction, exact)
    wait = wanted["steps"]["approved"]
    shown = found["waits"]["approved"]
    assert (shown["resumed"], shown["timed_out"]) == (wait["succeeded"], wait["timed_out"])
    seconds = [ms / 1000 for ms in wait["ms"]]
    for name, fraction in (("p50", 0.5), ("p95", 0.95)):
        assert close(shown["wait_s"][name], seconds, fraction, exact)
    assert set(found["waits"]) == {"approved"}  # only wait_for steps


def stats_of(rt: Runtime, recipe_id: int, period: Period | None = None) -> dict[str, Any]:
    with rt.db.read() as session:
        return recipe_stats(session, recipe_id, period or Period())


@pytest.fixture
def runtime(kit_rt: Kit) -> Runtime:
    """The engine kit's runtime: the recipe's steps use its connector."""
    return kit_rt[0]


@pytest.fixture
def client(runtime: Runtime) -> Any:
    return create_app(runtime).test_client()


def test_stats_match_a_hand_count_overall_and_per_version(runtime: Runtime) -> None:
    recipe_id = recipe(runtime)
    seeder = seed(runtime, recipe_id)
    dialect = runtime.db.dialect
    found = stats_of(runtime, recipe_id)
    check(found, hand_count(seeder, None, dialect), dialect)
    assert set(found["by_version"]) == {"1", "2"}
    for version in (1, 2):
        check(found["by_version"][str(version)], hand_count(seeder, version, dialect), dialect)
    assert found["runs"]["waiting"] == 1 and found["runs"]["filtered"] == 1


def test_a_period_counts_only_runs_created_in_it(runtime: Runtime) -> None:
    recipe_id = recipe(runtime)
    seeder = seed(runtime, recipe_id)
    since, until = DAY + timedelta(days=1), DAY + timedelta(days=2)
    found = stats_of(runtime, recipe_id, Period(since, until))
    wanted = sum(since <= r["created_at"] < until for r in seeder.runs)
    assert sum(found["runs"].values()) == wanted > 0


def test_stats_are_the_same_before_and_after_pruning(runtime: Runtime) -> None:
    recipe_id = recipe(runtime)
    seeder = seed(runtime, recipe_id)  # October: older than 30 days, all but the waiting run prunable
    seed(runtime, recipe_id, start=utcnow() - timedelta(days=2))  # recent: kept live
    dialect = runtime.db.dialect
    before = stats_of(runtime, recipe_id)
    october = Period(DAY, DAY + timedelta(days=3))
    before_october = stats_of(runtime, recipe_id, october)
    pruned = prune(runtime)
    assert pruned.runs == len(seeder.runs) - 1
    with runtime.db.read() as session:
        left = session.scalars(select(Run.status).where(Run.created_at < DAY + timedelta(days=4))).all()
    assert left == ["waiting"]
    after = stats_of(runtime, recipe_id)
    after_october = stats_of(runtime, recipe_id, october)
    if dialect == "sqlite":  # the same sketch either way: equal to the last digit
        assert after == before and after_october == before_october
    else:  # exact figures of live rows become the sketch's once some are rolled up
        check(after_october, hand_count(seeder, None, dialect), dialect, exact=False)
        assert after["runs"] == before["runs"] and after["steps"].keys() == before["steps"].keys()
    assert prune(runtime).runs == 0  # nothing twice
    assert stats_of(runtime, recipe_id) == after


def test_runs_through_the_engine_count_a_resumed_and_a_timed_out_wait(kit_rt: Kit) -> None:
    rt, _kit = kit_rt
    hub = Hub(rt)
    resumed, timing_out = hub.queue("I-1"), hub.queue("I-2")
    for run_id in (resumed, timing_out):
        Runner(rt).execute(run_id)
    hub.call_back("I-1")
    with rt.db.transaction() as session:
        session.execute(update(Wait).where(Wait.run_id == timing_out).values(expires_at=utcnow()))
    for run_id in expire_waits(rt):
        Runner(rt).execute(run_id)
    assert hub.run(resumed)[0] == "succeeded" and hub.run(timing_out)[0] == "failed"
    found = stats_of(rt, hub.recipe_id)
    assert found["runs"] == {"failed": 1, "succeeded": 1}
    assert found["completion_rate"] == 0.5
    assert found["waits"]["approved"]["resumed"] == 1
    assert found["waits"]["approved"]["timed_out"] == 1
    assert found["steps"]["ask"] == {**found["steps"]["ask"], "succeeded": 2, "failed": 0, "attempts": 2}
    assert found["steps"]["done"]["succeeded"] == 1
    assert found["by_version"][str(hub.version)]["runs"] == found["runs"]
    assert found["duration_ms"]["p95"] is not None and found["waits"]["approved"]["wait_s"]["p50"] >= 0
    scrape = rt.metrics.render().decode()
    label = f'recipe="{hub.recipe_id}"'
    assert f'hub_recipe_runs_total{{{label},status="succeeded"}} 1.0' in scrape
    assert f'hub_recipe_runs_total{{{label},status="failed"}} 1.0' in scrape
    assert f"hub_recipe_run_duration_seconds_count{{{label}}} 2.0" in scrape


def test_recipes_past_the_cap_are_labelled_other() -> None:
    metrics = Metrics(max_recipes=2)
    for recipe_id in (7, 8, 9, 7, 10):
        metrics.recipe_run(recipe_id, "succeeded", 1.5)
    scrape = metrics.render().decode()
    assert 'hub_recipe_runs_total{recipe="7",status="succeeded"} 2.0' in scrape
    assert 'hub_recipe_runs_total{recipe="8",status="succeeded"} 1.0' in scrape
    assert 'hub_recipe_runs_total{recipe="other",status="succeeded"} 2.0' in scrape
    assert 'recipe="9"' not in scrape and 'recipe="10"' not in scrape


@pytest.fixture
def tokens(runtime: Runtime) -> dict[str, dict[str, str]]:
    found = {}
    with runtime.db.transaction() as session:
        for role in ROLES:
            user = create_user(session, f"{role}@example.com", role, password="a long passphrase")
            found[role] = {"Authorization": f"Bearer {create_token(session, user, 'tests')[1]}"}
    return found


def test_the_api_serves_stats_and_names_a_bad_parameter(runtime: Runtime, client: Any, tokens: Any) -> None:
    recipe_id = recipe(runtime)
    seed(runtime, recipe_id)
    viewer = tokens["viewer"]
    answer = client.get(f"/api/v1/recipes/{recipe_id}/stats", headers=viewer)
    assert answer.status_code == 200
    assert answer.get_json() == stats_of(runtime, recipe_id)
    ranged = client.get(
        f"/api/v1/recipes/{recipe_id}/stats?since=2026-10-02&until=2026-10-03T00:00:00Z", headers=viewer
    ).get_json()
    assert ranged == stats_of(runtime, recipe_id, Period(DAY + timedelta(days=1), DAY + timedelta(days=2)))
    every = client.get("/api/v1/stats", headers=viewer).get_json()["recipes"]
    assert every[str(recipe_id)]["runs"] == answer.get_json()["runs"]
    for query, name in (
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
        ("since=2026-10-01T00:00", "since"),
    ):
        bad = client.get(f"/api/v1/recipes/{recipe_id}/stats?{query}", headers=viewer)
        assert bad.status_code == 400 and f"'{name}'" in bad.get_json()["error"]["message"]
    backwards = client.get(
        f"/api/v1/recipes/{recipe_id}/stats?since=2026-10-03&until=2026-10-01", headers=viewer
    )
    assert backwards.status_code == 200 and backwards.get_json()["runs"] == {}  # an empty period
    lower = client.get(f"/api/v1/recipes/{recipe_id}/stats?since=2026-10-02t00:00:00z", headers=viewer)
    assert lower.get_json() == stats_of(runtime, recipe_id, Period(DAY + timedelta(days=1)))
    assert client.get(f"/api/v1/recipes/{recipe_id}/stats").status_code == 401
    assert client.get("/api/v1/recipes/999999/stats", headers=viewer).status_code == 404


def test_a_run_finishing_after_its_day_was_rolled_up_is_counted_once(runtime: Runtime) -> None:
    recipe_id = recipe(runtime)
    seed(runtime, recipe_id)
    runtime.settings.retention_days = 0  # roll up only, delete nothing
    before = stats_of(runtime, recipe_id)
    assert prune(runtime).rolled_up == sum(before["runs"].values()) - 1  # all but the waiting run
    rolled = stats_of(runtime, recipe_id)
    assert rolled == before if runtime.db.dialect == "sqlite" else rolled["runs"] == before["runs"]
    with runtime.db.transaction() as session:  # the waiting run finishes weeks later
        session.execute(
            update(Run).where(Run.status == "waiting").values(status="succeeded", finished_at=utcnow())
        )
    finished = stats_of(runtime, recipe_id)
    assert (
        finished["runs"]["succeeded"] == before["runs"]["succeeded"] + 1 and "waiting" not in finished["runs"]
    )
    assert prune(runtime).rolled_up == 1
    again = stats_of(runtime, recipe_id)
    assert again["runs"] == finished["runs"] and again["by_version"].keys() == finished["by_version"].keys()
    with runtime.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == sum(before["runs"].values())
