"""Running the branches of a parallel, or the items of a for_each, some at once.

The run's lease holder fans out to a thread pool of its own: every write of every branch still goes
through the one lease (renewed in each write), so cancelling the run or losing the lease stops every
branch at its next write. A branch that parks only notes its park (see `parks`); the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from hub.engine.run.outcomes import Outcome

Task = Callable[[], Outcome]


def fan_out(tasks: Sequence[Task], width: int, stop: Callable[[Outcome], bool]) -> list[Outcome | None]:
    """Each task's outcome, in task order (None for a task never started): at most `width` run at
    once, and no further task starts once `stop` is true of an outcome. An exception of a task is
    raised here once the running tasks have ended."""
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
