"""The flow tests again with every fan-out spread as tasks of its own (the Celery executor's way):
each execution of a run is followed by the branch tasks it sent, drained one at a time, in one
process. Two flow tests are not repeated, being about threads: how many items run at once (the
Celery tests measure it over real workers) and a worker dying holding the run's lease (a spread
branch dies holding its own sub-lease: test_flow_spread covers it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.engine.run.runner import Runner
from hub.runtime import Runtime
from tests.hub.engine.kit import EngineKit
from tests.hub.engine.test_flow import (  # the same tests, collected again here
    test_a_branch_parked_on_a_wait_lets_the_others_go_on,
    test_a_delay_inside_a_loop_parks_and_resumes_at_that_item,
    test_a_failed_item_fails_the_loop_unless_it_continues,
    test_a_loop_failing_beside_a_parked_item_fails_and_forgets_the_park,
    test_a_nested_wait_takes_a_kept_event_and_records_its_path,
    test_a_retry_inside_a_loop_resumes_without_repeating_items,
    test_a_wait_that_ends_while_the_run_is_held_is_seen_before_it_parks,
    test_a_worker_dying_mid_item_resumes_there_and_holds_an_unsafe_repeat,
    test_branch_default_and_no_match,
    test_branch_takes_the_first_true_case_and_keeps_its_outputs,
    test_cancel_stops_every_item_at_its_next_write,
    test_dry_run_walks_the_first_three_items_and_counts_them,
    test_for_each_over_max_items_fails_before_any_item,
    test_for_each_runs_inner_steps_per_item_with_paths_and_keys,
    test_nested_fan_outs_share_one_budget_of_threads,
    test_outputs_reach_later_steps_unredacted_but_are_stored_redacted,
    test_parallel_runs_every_branch_and_fails_if_one_failed,
    test_replay_from_an_inner_path_keeps_what_came_before,
    test_run_time_bounds_on_depth_and_step_count,
    test_set_renders_values_as_its_output,
    test_stop_ends_the_run_with_its_status,
)
from tests.hub.engine.test_flow_spread import QueuedTasks


@pytest.fixture
def kit_rt(
    kit_rt: tuple[Runtime, EngineKit], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Runtime, EngineKit]]:
    """The engine kit's runtime with a spreading executor; executing a run (as the tests do) also
    executes every task it sent, and the tasks those sent, until none is left."""
    rt, kit = kit_rt
    tasks = QueuedTasks(rt)
    rt.executor = tasks
    execute = Runner.execute
    draining: list[bool] = []

    def execute_then_drain(self: Runner, run_id: int) -> None:
        execute(self, run_id)
        if not draining:
            draining.append(True)
            try:
                tasks.drain()
            finally:
                draining.clear()

    monkeypatch.setattr(Runner, "execute", execute_then_drain)
    yield rt, kit


__all__ = [
    "test_a_branch_parked_on_a_wait_lets_the_others_go_on",
    "test_a_delay_inside_a_loop_parks_and_resumes_at_that_item",
    "test_a_failed_item_fails_the_loop_unless_it_continues",
    "test_a_loop_failing_beside_a_parked_item_fails_and_forgets_the_park",
    "test_a_nested_wait_takes_a_kept_event_and_records_its_path",
    "test_a_retry_inside_a_loop_resumes_without_repeating_items",
    "test_a_wait_that_ends_while_the_run_is_held_is_seen_before_it_parks",
    "test_a_worker_dying_mid_item_resumes_there_and_holds_an_unsafe_repeat",
    "test_branch_default_and_no_match",
    "test_branch_takes_the_first_true_case_and_keeps_its_outputs",
    "test_cancel_stops_every_item_at_its_next_write",
    "test_dry_run_walks_the_first_three_items_and_counts_them",
    "test_for_each_over_max_items_fails_before_any_item",
    "test_for_each_runs_inner_steps_per_item_with_paths_and_keys",
    "test_nested_fan_outs_share_one_budget_of_threads",
    "test_outputs_reach_later_steps_unredacted_but_are_stored_redacted",
    "test_parallel_runs_every_branch_and_fails_if_one_failed",
    "test_replay_from_an_inner_path_keeps_what_came_before",
    "test_run_time_bounds_on_depth_and_step_count",
    "test_set_renders_values_as_its_output",
    "test_stop_ends_the_run_with_its_status",
]
