"""Every table the hub keeps. The database is the source of truth at every step of an event's path."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeDecorator

ID = BigInteger().with_variant(Integer, "sqlite")
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str | None] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A token scoped to one project (hub.access) acts there only, with at most `role`; None: as its user
    project_id: Mapped[int | None] = mapped_column(BigInteger)
    role: Mapped[str | None] = mapped_column(String(16))
    user: Mapped[User] = relationship()


class WebSession(Base):
    """A browser session: the cookie holds a random id, only its SHA-256 is stored (hub/web_sessions.py)."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship()


class LoginFailure(Base):
    """One failed sign-in, counted against a client address or an (address, email) pair by every web
    process alike (hub/login_limits.py). Only the key's HMAC-SHA256 under the session key is kept:
    no address or email at rest."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    __table_args__ = (Index("ix_login_failures_key_at", "key_hash", "at"),)


class Connection(Base):
    __tablename__ = "connections"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    connector: Mapped[str] = mapped_column(String(100), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # fields that are not secret
    secrets: Mapped[str | None] = mapped_column(Text)  # vault token of the secret fields
    concurrency_limit: Mapped[int | None] = mapped_column(Integer)
    rate_limit: Mapped[float | None] = mapped_column(Float)  # requests per second
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    project_id: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1", index=True)


class CacheEntry(Base):
    """Values shared by all workers until they expire (vendor access tokens)."""

    __tablename__ = "cache_entries"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # vault token: cached tokens are secrets too
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Recipe(Base):
    __tablename__ = "recipes"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An A/B split of new runs between versions, {"3": 50, "4": 50} (hub.recipe_split); None: current only
    split: Mapped[dict[str, int] | None] = mapped_column(JSONType)
    project_id: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1", index=True)
    versions: Mapped[list[RecipeVersion]] = relationship(
        back_populates="recipe", order_by="RecipeVersion.version", cascade="all, delete-orphan"
    )


class RecipeVersion(Base):
    """An immutable saved document; runs point at the version they ran."""

    __tablename__ = "recipe_versions"
    __table_args__ = (UniqueConstraint("recipe_id", "version"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipes.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(320))
    recipe: Mapped[Recipe] = relationship(back_populates="versions")


class HookEndpoint(Base):
    """An unguessable /hooks/<token> address: a recipe's trigger, or one of its wait_for steps."""

    __tablename__ = "hook_endpoints"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipes.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[str | None] = mapped_column(String(100))


class TriggerState(Base):
    """A recipe's polling/schedule/subscription state: cursor, health, pause."""

    __tablename__ = "trigger_states"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipes.id", ondelete="CASCADE"), unique=True)
    signature: Mapped[str] = mapped_column(String(64))  # hash of connector/trigger/connection/config
    cursor: Mapped[str | None] = mapped_column(Text)
    primed: Mapped[bool] = mapped_column(Boolean, default=False)
    backfill_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    auth_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    items_taken: Mapped[int] = mapped_column(BigInteger, default=0)
    subscription: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class SeenItem(Base):
    __tablename__ = "seen_items"
    __table_args__ = (UniqueConstraint("trigger_state_id", "item_id"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    trigger_state_id: Mapped[int] = mapped_column(ForeignKey("trigger_states.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(255))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def _where_not_null(column: str) -> dict[str, Any]:
    """A partial index's condition, for both dialects: rows where `column` is set."""
    condition = text(f"{column} IS NOT NULL")
    return {"sqlite_where": condition, "postgresql_where": condition}


class Event(Base):
    """An inbound item (webhook, poll, schedule, test), stored before it is acknowledged."""

    __tablename__ = "events"
    # its index also finds a recipe's events (the cascade when a recipe is deleted): no other on recipe_id
    __table_args__ = (UniqueConstraint("recipe_id", "dedupe_key"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipes.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_due", "status", "wake_at"),
        Index("ix_runs_recipe_created", "recipe_id", "created_at"),
        # one child run per call step of a parent run (`recipe.call` is idempotent across a crash)
        UniqueConstraint("parent_run_id", "parent_path", name="uq_runs_parent_path"),
        # statistics read the runs not yet rolled up (a recipe's, in a period) from this index alone
        Index(
            "ix_runs_stats",
            "rolled_up",
            "recipe_id",
            "created_at",
            "recipe_version",
            "status",
            "finished_at",
            "dry_run",
        ),
        # Retention finds old finished runs; deleting a run looks up its replays (ON DELETE SET NULL).
        # Partial: a run is written (and claimed) with neither, so its INSERT and first UPDATE leave
        # these two indexes alone; `finished_at < x` and `replay_of = x` imply IS NOT NULL.
        Index("ix_runs_finished", "finished_at", **_where_not_null("finished_at")),
        Index("ix_runs_replay_of", "replay_of", **_where_not_null("replay_of")),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipes.id", ondelete="CASCADE"))
    recipe_version: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    phase: Mapped[str] = mapped_column(String(16), default="main")  # main | on_failure
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    wake_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a sweeper last sent the run to the executor (the dispatch at creation is `created_at`),
    # so a stale run is sent again once per HUB_REDISPATCH_S, not at every sweep.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    replay_of: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    from_step: Mapped[str | None] = mapped_column(String(300))  # a step id or an inner step's path
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A run started by a `recipe.call` step: the calling run and the path of that step in it.
    parent_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    parent_path: Mapped[str | None] = mapped_column(String(300))
    output: Mapped[Any] = mapped_column(JSONType, nullable=True)  # the recipe's rendered `output`
    # Counted in the daily roll-ups (hub/retention.py): statistics read it from there, not from here.
    rolled_up: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    steps: Mapped[list[StepRun]] = relationship(
        back_populates="run", order_by="StepRun.position", cascade="all, delete-orphan"
    )
    event: Mapped[Event | None] = relationship()


def _top_level_path(context: Any) -> str:
    """A step row written without a path is a top-level step's: its path is its id."""
    return str(context.get_current_parameters()["step_id"])


class StepRun(Base):
    __tablename__ = "step_runs"
    # its index also finds a run's steps (run_id first): no other on run_id
    __table_args__ = (UniqueConstraint("run_id", "phase", "path", name="uq_step_runs_run_phase_path"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(100))
    # Where the step ran: its id at the top level, `lines.3.post` for step `post` of item 3 of the
    # for_each `lines` (a branch or parallel adds its id and the case or branch index the same way).
    path: Mapped[str] = mapped_column(String(300), default=_top_level_path)
    item: Mapped[int | None] = mapped_column(Integer)  # the innermost for_each item it ran for
    phase: Mapped[str] = mapped_column(String(16), default="main")
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    input: Mapped[Any] = mapped_column(JSONType, nullable=True)
    output: Mapped[Any] = mapped_column(JSONType, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    run: Mapped[Run] = relationship(back_populates="steps")
    attempt_log: Mapped[list[StepAttempt]] = relationship(
        back_populates="step_run", order_by="StepAttempt.number", cascade="all, delete-orphan"
    )


class RunBranch(Base):
    """A parallel branch or for_each item executed as a task of its own (HUB_EXECUTOR=celery): its
    sub-lease, and what it came to once settled, for the run's lease holder to join."""

    __tablename__ = "run_branches"
    __table_args__ = (
        UniqueConstraint("run_id", "phase", "fanout", "label", name="uq_run_branches_run_fanout_label"),
        Index("ix_run_branches_status", "status", "lease_expires_at"),  # the sweeper's look
        Index("ix_run_branches_run_status", "run_id", "status"),  # a run's branches in flight
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    phase: Mapped[str] = mapped_column(String(16), default="main")
    fanout: Mapped[str] = mapped_column(String(300))  # the run path of the parallel or for_each step
    label: Mapped[int] = mapped_column(Integer)  # the branch or item index
    # pending (not started: over the concurrency) | queued | running | done | failed | parked | cancelled
    status: Mapped[str] = mapped_column(String(16), default="pending")
    width: Mapped[int] = mapped_column(Integer)  # how many of the fan-out's branches may run at once
    keep_going: Mapped[bool] = mapped_column(Boolean, default=False)  # a failure starts no further one
    parks: Mapped[Any] = mapped_column(JSONType, nullable=True)  # a parked branch's parks (parks.Park)
    lease_owner: Mapped[str | None] = mapped_column(String(100))  # kept once settled: who ran it
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StepAttempt(Base):
    """One try of an action; a row left `started` after a crash marks an unknown outcome."""

    __tablename__ = "step_attempts"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    step_run_id: Mapped[int] = mapped_column(ForeignKey("step_runs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="started")
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    step_run: Mapped[StepRun] = relationship(back_populates="attempt_log")


class Wait(Base):
    """A run parked on a wait_for step until a matching event arrives or it times out."""

    __tablename__ = "waits"
    __table_args__ = (
        Index("ix_waits_trigger", "connector", "trigger"),
        UniqueConstraint("run_id", "path", name="uq_waits_run_path"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(300))  # the waiting step's path (parallel branches wait apart)
    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipes.id", ondelete="CASCADE"))
    connector: Mapped[str] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(String(100))
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("connections.id", ondelete="SET NULL"))
    match: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Set when the trigger is a polling one: the hub polls it on behalf of this wait.
    config: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    cursor: Mapped[str | None] = mapped_column(Text)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PendingWaitEvent(Base):
    """An event sent to a wait_for step's hook URL that no parked run matched yet: an approval callback
    can beat its run to the wait, so it is kept for a while and matched when a run parks."""

    __tablename__ = "pending_wait_events"
    __table_args__ = (Index("ix_pending_wait_events_trigger", "connector", "trigger"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    connector: Mapped[str] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(String(100))
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("connections.id", ondelete="SET NULL"))
    # the hook endpoint it came in at: a wait_for step of a recipe
    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipes.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # the run whose wait took it; no foreign key, so a deleted run never makes it takeable again
    consumed_by: Mapped[int | None] = mapped_column(BigInteger)
    consumed_path: Mapped[str | None] = mapped_column(String(300))  # the step path of that run


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    project_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # the project it changed


class Lease(Base):
    """A named lease (the scheduler's leadership) held by one process until it expires."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScheduleState(Base):
    """Where a recipe's schedule stands, shared by every scheduler: a slot due while none leads is
    fired late by the next leader, and intervals count from the stored anchor (one phase for all)."""

    __tablename__ = "schedule_states"
    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipes.id", ondelete="CASCADE"), primary_key=True)
    signature: Mapped[str] = mapped_column(String(64))  # hash of the schedule it was set up for
    anchor_at: Mapped[datetime] = mapped_column(UTCDateTime)  # an interval's first slot
    last_slot_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the latest slot fired or passed over
    next_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class Meta(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class JSONText(TypeDecorator):
    """JSON kept as TEXT on SQLite (a JSON column's numeric affinity would turn a bare 0.10 into a
    float and lose its digits), so SQL can compare and add stored values exactly."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str:
        from hub import jsonutil

        return jsonutil.dumps(value, compact=True)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        from hub import jsonutil

        return None if value is None else jsonutil.loads(value)


StoredJSON = JSONText().with_variant(JSONB(), "postgresql")


class StorageEntry(Base):
    """One key of the `storage` utility: a JSON value in a scope (`global` or `recipe:<id>`)."""

    __tablename__ = "storage_entries"
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(StoredJSON)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UtilityWrite(Base):
    """The output of a utility write applied under an idempotency key, so a repeated attempt (after
    an unknown outcome) answers it again instead of counting or assigning twice."""

    __tablename__ = "utility_writes"
    write_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of key and target
    output: Mapped[Any] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Rotation(Base):
    """Where an `assign.round_robin` rotation stands: assignments made and the last turn taken."""

    __tablename__ = "assign_rotations"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_assignee: Mapped[str | None] = mapped_column(String(200))
    last_slot: Mapped[int | None] = mapped_column(Integer)  # position in the weighted cycle
    last_turn: Mapped[int | None] = mapped_column(Integer)  # which of the assignee's turns in the cycle
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NamedSecret(Base):
    """A secret recipes use by name (`{{ secrets.NAME }}`): its value is a vault token bound to the
    name, so it is never stored in clear nor readable under another name."""

    __tablename__ = "named_secrets"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # only recipes of this project open it (hub.projects); names stay unique across the hub
    project_id: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1", index=True)


class LookupTable(Base):
    """A lookup table's definition: its columns (in order) and the column whose value keys a row."""

    __tablename__ = "lookup_tables"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    columns: Mapped[list[str]] = mapped_column(JSONType)
    key_column: Mapped[str] = mapped_column(String(100))
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # only this project's users and recipes read it (hub.projects); names stay unique across the hub
    project_id: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1", index=True)


class LookupRow(Base):
    """One row, whole, as JSON; found by its key through the (table, key) unique index."""

    __tablename__ = "lookup_rows"
    __table_args__ = (UniqueConstraint("table_id", "key", name="uq_lookup_rows_key"),)
    table_id: Mapped[int] = mapped_column(
        ForeignKey("lookup_tables.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)


class LookupValue(Base):
    """The index of every cell (its text, cut to 200 characters): a `where` on any column is a search
    of this primary key, then an exact check of the few rows it names."""

    __tablename__ = "lookup_values"
    table_id: Mapped[int] = mapped_column(
        ForeignKey("lookup_tables.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    column_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class RunRollup(Base):
    """Runs of one recipe version, created on one UTC day, that ended with one status and were then
    pruned: the history that outlives retention (hub/retention.py moves runs here, hub/stats.py reads
    it beside the live rows). `sketch` is a log-bucket histogram of durations (hub/sketch.py)."""

    __tablename__ = "run_rollups"
    __table_args__ = (UniqueConstraint("recipe_id", "recipe_version", "day", "status"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipes.id", ondelete="CASCADE"))
    recipe_version: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    runs: Mapped[int] = mapped_column(BigInteger, default=0)
    sketch: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)


class StepRollup(Base):
    """Step rows of pruned runs by recipe version, UTC day and step path: counts, attempts, and a
    duration sketch (for a wait_for step, the wait from parking to resume or timeout)."""

    __tablename__ = "step_rollups"
    __table_args__ = (UniqueConstraint("recipe_id", "recipe_version", "day", "path"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipes.id", ondelete="CASCADE"))
    recipe_version: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    path: Mapped[str] = mapped_column(String(255))
    step_id: Mapped[str] = mapped_column(String(100))
    succeeded: Mapped[int] = mapped_column(BigInteger, default=0)
    failed: Mapped[int] = mapped_column(BigInteger, default=0)
    timed_out: Mapped[int] = mapped_column(BigInteger, default=0)
    attempts: Mapped[int] = mapped_column(BigInteger, default=0)
    sketch: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)


class HookCapture(Base):
    """A recipe's editor listening for one test event at the recipe's webhook address: while a draft
    listens, the first event that arrives is kept here (and starts no run) for the editor to offer."""

    __tablename__ = "hook_captures"
    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipes.id", ondelete="CASCADE"), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    listen_until: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Project(Base):
    """A team's recipes, connections and storage (hub.projects). Projects are archived, never deleted,
    so the project_id columns of other tables need no foreign key (adding one on SQLite would mean
    rebuilding tables whose cascades would empty their children)."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectMember(Base):
    """A user's role in one project: owner, editor, operator or viewer (hub.access)."""

    __tablename__ = "project_members"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConnectionShare(Base):
    """A connection its project lends to another: that project's recipes may use it, nobody there
    may read or change its secrets."""

    __tablename__ = "connection_shares"
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
