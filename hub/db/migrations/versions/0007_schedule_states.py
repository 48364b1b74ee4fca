"""schedule slots kept in the database; when a sweeper last dispatched a run

Revision ID: 0007
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.models

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_states",
        sa.Column("recipe_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("anchor_at", hub.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_slot_at", hub.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_slot_at", hub.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["recipe_id"], ["recipes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("recipe_id"),
    )
    with op.batch_alter_table("schedule_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schedule_states_next_slot_at"), ["next_slot_at"], unique=False)
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dispatched_at", hub.db.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("dispatched_at")
    with op.batch_alter_table("schedule_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_states_next_slot_at"))
    op.drop_table("schedule_states")
