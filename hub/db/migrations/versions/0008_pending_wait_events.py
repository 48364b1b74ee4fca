"""wait events that arrived before their run parked, kept for a bounded window

Revision ID: 0008
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.db.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_wait_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("connector", sa.String(length=100), nullable=False),
        sa.Column("trigger", sa.String(length=100), nullable=False),
        sa.Column("connection_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("recipe_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("step_id", sa.String(length=100), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("received_at", hub.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", hub.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("consumed_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["recipe_id"], ["recipes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pending_wait_events", schema=None) as batch_op:
        batch_op.create_index("ix_pending_wait_events_trigger", ["connector", "trigger"], unique=False)
        batch_op.create_index(batch_op.f("ix_pending_wait_events_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_pending_wait_events_recipe_id"), ["recipe_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pending_wait_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_wait_events_recipe_id"))
        batch_op.drop_index(batch_op.f("ix_pending_wait_events_expires_at"))
        batch_op.drop_index("ix_pending_wait_events_trigger")
    op.drop_table("pending_wait_events")
