"""Running the branches of a parallel, or the items of a for_each, some at once, on threads (the
`local` executor; under Celery only a fan-out nested in a spread branch, see `spread`).

The run's lease holder fans out to a thread pool of its own: every write of every branch still goes
through the one lease (renewed in each write), so cancelling the run or losing the lease stops every
branch at its next write. A branch that parks only notes its park (see `parks`); the others go on.

Nested fan-outs (a for_each inside a parallel branch) share one budget of threads per run
(`Threads`): a fan-out takes what is left, down to none, when it runs its tasks one after another
in the calling thread. It never waits for threads, so nesting cannot deadlock, and a run holds at
most `MAX_THREADS` extra threads (and database connections) however its flow steps nest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from hub.engine.run.outcomes import Outcome

Task = Callable[[], Outcome]
MAX_THREADS = 16  # extra threads one run may use at once, over all its nested fan-outs


class Threads:
    """One run's budget of extra threads."""

    def __init__(self, most: int = MAX_THREADS) -> None:
        self._lock = threading.Lock()
        self._left = most

    def take(self, wanted: int) -> int:
        with self._lock:
            granted = max(0, min(wanted, self._left))
            self._left -= granted
            return granted

    def give(self, granted: int) -> None:
        with self._lock:
            self._left += granted


def fan_out(
    tasks: Sequence[Task], width: int, stop: Callable[[Outcome], bool], budget: Threads | None = None
) -> list[Outcome | None]:
    """Each task's outcome, in task order (None for a task never started): at most `width` run at
    once (as many as the run's thread `budget` grants; none: one after another here), and no further
    task starts once `stop` is true of an outcome. An exception of a task is raised here once the
    running tasks have ended."""
    granted = (budget.take(width) if budget is not None else width) if width > 1 else 0
    try:
        return _run(tasks, granted, stop)
    finally:
        if budget is not None and granted:
            budget.give(granted)


def _run(tasks: Sequence[Task], width: int, stop: Callable[[Outcome], bool]) -> list[Outcome | None]:
    results: list[Outcome | None] = [None] * len(tasks)
    if width <= 1:
        for index, task in enumerate(tasks):
            results[index] = outcome = task()
            if stop(outcome):
                break
        return results
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="hub-flow") as pool:
        running: dict[Future[Outcome], int] = {}
        started = 0
        stopped = False
        while running or (started < len(tasks) and not stopped):
            while not stopped and started < len(tasks) and len(running) < width:
                running[pool.submit(tasks[started])] = started
                started += 1
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index = running.pop(future)
                error = future.exception()
                if error is not None:
                    failure, stopped = failure or error, True
                    continue
                results[index] = outcome = future.result()
                stopped = stopped or stop(outcome)
    if failure is not None:
        raise failure
    return results
