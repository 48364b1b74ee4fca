"""The `assign` utility: `round_robin` hands out turns fairly across concurrent runs and restarts.

A rotation is a row in the hub's database, named by the recipe and shared by every recipe that
names it. Each assignment reads and advances that row under a lock (`SELECT ... FOR UPDATE` on
PostgreSQL; SQLite's single writer lock, held from the transaction's first statement), so two
runs, threads, processes or Celery workers never take the same turn. Applied once per attempt, so
a repeated attempt answers the same assignee.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.db.core import table
from hub.db.models import Rotation, utcnow
from hub.sdk.connector import Action, Connector
from hub.sdk.context import Context
from hub.utilities import store
from hub.utilities.common import database, step_errors
from hub.utilities.once import apply_once
from hub.utilities.rotation import NobodyAvailable, Position, cycle, next_turn
from hub.utilities.values import MAX_KEY, InvalidValue

MAX_MEMBERS = 200
MAX_WEIGHT = 100
MAX_CYCLE = 1000  # turns in one weighted cycle: computing it stays well under a millisecond a member
R = table(Rotation).c
MEMBER_ID = {"type": "string", "minLength": 1, "maxLength": MAX_KEY}


def member_ids(members: list[Any]) -> list[str]:
    """The members' ids (a string member is its own id), each once."""
    ids = []
    for n, member in enumerate(members):
        raw = member.get("id") if isinstance(member, dict) else member
        if isinstance(raw, bool) or not isinstance(raw, str | int) or str(raw) == "":
            raise InvalidValue(f"members[{n}]", "must be a string or an object with an 'id'")
        ids.append(str(raw))
        if len(ids[-1]) > MAX_KEY:
            raise InvalidValue(f"members[{n}]", f"id is longer than {MAX_KEY} characters")
    seen: set[str] = set()
    for n, member_id in enumerate(ids):
        if member_id in seen:
            raise InvalidValue(f"members[{n}]", f"id '{member_id}' appears twice")
        seen.add(member_id)
    return ids


def checked_weights(weights: dict[str, Any] | None, ids: list[str]) -> dict[str, int]:
    known = set(ids)
    for member_id, weight in (weights or {}).items():
        if member_id not in known:
            raise InvalidValue(f"weights.{member_id}", "is not the id of a member")
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= MAX_WEIGHT:
            raise InvalidValue(f"weights.{member_id}", f"must be a whole number from 1 to {MAX_WEIGHT}")
    total = sum((weights or {}).get(member_id, 1) for member_id in ids)
    if total > MAX_CYCLE:
        raise InvalidValue("weights", f"give a cycle of {total} turns; at most {MAX_CYCLE} are allowed")
    return dict(weights or {})


def take_turn(session: Session, rotation: str, turns: list[str], skip: set[str]) -> tuple[str, int]:
    """Advance `rotation` by one turn, holding its row; (assignee id, assignments made so far)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(Rotation).values(name=rotation, count=0, updated_at=utcnow()).on_conflict_do_nothing()
    )
    done, assignee, slot, turn = session.execute(
        select(R.count, R.last_assignee, R.last_slot, R.last_turn).where(R.name == rotation).with_for_update()
    ).one()
    chosen = next_turn(turns, Position(assignee, -1 if slot is None else slot, turn or 0), skip)
    count = done + 1
    session.execute(
        table(Rotation)
        .update()
        .where(R.name == rotation)
        .values(
            count=count,
            last_assignee=chosen.assignee,
            last_slot=chosen.slot,
            last_turn=chosen.turn,
            updated_at=utcnow(),
        )
    )
    assert chosen.assignee is not None
    return chosen.assignee, count


class RoundRobin(Action):
    key = "round_robin"
    title = "Assign round-robin"
    description = (
        "Give the next turn of a named rotation to one of `members` (weighted, skipping `skip`), "
        "fairly across concurrent runs; the rotation continues after the last one assigned."
    )
    input_schema = {
        "type": "object",
        "required": ["rotation", "members"],
        "additionalProperties": False,
        "properties": {
            "rotation": {**MEMBER_ID, "title": "Rotation name", "description": "shared by every recipe"},
            "members": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_MEMBERS,
                "items": {
                    "anyOf": [
                        MEMBER_ID,
                        {
                            "type": "object",
                            "required": ["id"],
                            "properties": {"id": {"type": ["string", "integer"]}},
                        },
                    ]
                },
            },
            "weights": {
                "type": ["object", "null"],
                "additionalProperties": {"type": "integer", "minimum": 1, "maximum": MAX_WEIGHT},
                "description": "turns per cycle by member id (default 1)",
            },
            "skip": {
                "type": ["array", "null"],
                "items": {"type": ["string", "integer"]},
                "description": "member ids passed over this time (they lose the turn)",
            },
        },
    }
    output_schema = {
        "type": "object",
        "required": ["assignee", "index", "count"],
        "properties": {
            "assignee": {"description": "the member as given: a string, or the object"},
            "index": {"type": "integer", "description": "the assignee's position in members (0-based)"},
            "count": {
                "type": "integer",
                "description": "assignments this rotation has made, this one included",
            },
        },
    }
    sample_output = {"assignee": "alice@example.com", "index": 0, "count": 1}
    repeat_safe = True

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        db = database(ctx)
        members = inputs["members"]
        rotation = inputs["rotation"]
        with step_errors(NobodyAvailable):
            ids = member_ids(members)
            turns = cycle(ids, checked_weights(inputs.get("weights"), ids))
            skip = {str(member_id) for member_id in inputs.get("skip") or []}

            def assign(session: Session) -> dict[str, Any]:
                assignee, count = take_turn(session, rotation, turns, skip)
                index = ids.index(assignee)
                return {"assignee": members[index], "index": index, "count": count}

            output = apply_once(db, ctx.idempotency_key, f"assign.round_robin\n{rotation}", assign)
        store.maybe_purge(db)
        return output


class AssignConnector(Connector):
    id = "assign"
    name = "Assign"
    category = "utility"
    description = "Share work out fairly: round-robin assignment of leads, tickets or tasks to a team."
    icon = "users"
    docs_url = "docs/utilities/assign.md"
    actions = (RoundRobin,)


connector = AssignConnector()
