"""Round-robin turns: a weighted cycle, and where the next turn falls after the last one taken.

The cycle is smooth weighted round robin (the order nginx uses for weighted upstreams): with
weights a=2, b=1, c=1 one cycle is a, b, c, a, so a member's extra turns are spread through the
cycle rather than bunched together. Equal weights give the members in list order.

Where the rotation continues is found from the last assignee, not from a bare counter, so a
changed member list goes on after the person assigned last: a member added later in the list gets
their turn in this pass, and a removed member's place passes to whoever now holds it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class Position:
    """The last turn taken: who, at which slot of the cycle, and which of their turns it was."""

    assignee: str | None = None
    slot: int = -1
    turn: int = 0


class NobodyAvailable(Exception):
    """Every member of the rotation is on the skip list."""


def cycle(ids: list[str], weights: dict[str, int]) -> list[str]:
    """One cycle of turns: each id appears its weight's number of times, smoothly interleaved."""
    weight = [weights.get(i, 1) for i in ids]
    if len(set(weight)) <= 1:
        return list(ids) * (weight[0] if weight else 0)
    total = sum(weight)
    current = [0] * len(ids)
    order = []
    for _ in range(total):
        for n, w in enumerate(weight):
            current[n] += w
        best = max(range(len(ids)), key=lambda n: (current[n], -n))  # ties go to the earlier member
        current[best] -= total
        order.append(ids[best])
    return order


def next_turn(turns: list[str], last: Position, skip: Collection[str]) -> Position:
    """The turn after `last` in `turns`, passing over skipped members (they lose that turn)."""
    if not turns:
        raise NobodyAvailable("the rotation has no members")
    if last.assignee is None:
        start = 0
    else:
        slots = [n for n, member in enumerate(turns) if member == last.assignee]
        # after the last assignee's turn; if they left, whoever now holds their place is next
        start = slots[min(last.turn, len(slots) - 1)] + 1 if slots else max(last.slot, 0)
    for step in range(len(turns)):
        slot = (start + step) % len(turns)
        member = turns[slot]
        if member not in skip:
            return Position(member, slot, turns[:slot].count(member))
    raise NobodyAvailable("every member of the rotation is on the skip list")
