"""daily run and step roll-ups that outlive retention; runs.rolled_up; indexes for statistics and pruning

Revision ID: 0014
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "run_rollups",
        sa.Column("id", ID, nullable=False),
        sa.Column("recipe_id", ID, nullable=False),
        sa.Column("recipe_version", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.Column("sketch", JSON, nullable=False),
        sa.ForeignKeyConstraint(["recipe_id"], ["recipes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("recipe_id", "recipe_version", "day", "status"),
    )
    op.create_table(
        "step_rollups",
        sa.Column("id", ID, nullable=False),
        sa.Column("recipe_id", ID, nullable=False),
        sa.Column("recipe_version", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("step_id", sa.String(length=100), nullable=False),
        sa.Column("succeeded", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.Column("timed_out", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("sketch", JSON, nullable=False),
        sa.ForeignKeyConstraint(["recipe_id"], ["recipes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("recipe_id", "recipe_version", "day", "path"),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rolled_up", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(
            "ix_runs_stats",
            ["rolled_up", "recipe_id", "created_at", "recipe_version", "status", "finished_at", "dry_run"],
            unique=False,
        )
        batch_op.create_index("ix_runs_finished", ["finished_at"], unique=False)
        batch_op.create_index("ix_runs_replay_of", ["replay_of"], unique=False)
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_received_at"), ["received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_received_at"))
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_replay_of")
        batch_op.drop_index("ix_runs_finished")
        batch_op.drop_index("ix_runs_stats")
        batch_op.drop_column("rolled_up")
    op.drop_table("step_rollups")
    op.drop_table("run_rollups")
