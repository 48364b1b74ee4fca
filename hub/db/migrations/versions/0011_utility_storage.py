"""the storage and assign utilities: JSON keys, the idempotent write log, round-robin rotations

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.db.models

revision = "0011"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "storage_entries",
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column(
            "value",
            hub.db.models.JSONText().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("expires_at", hub.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", hub.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key"),
    )
    with op.batch_alter_table("storage_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_storage_entries_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "utility_writes",
        sa.Column("write_key", sa.String(length=64), nullable=False),
        sa.Column(
            "output",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", hub.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("write_key"),
    )
    with op.batch_alter_table("utility_writes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_utility_writes_created_at"), ["created_at"], unique=False)
    op.create_table(
        "assign_rotations",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_assignee", sa.String(length=200), nullable=True),
        sa.Column("last_slot", sa.Integer(), nullable=True),
        sa.Column("last_turn", sa.Integer(), nullable=True),
        sa.Column("updated_at", hub.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("assign_rotations")
    with op.batch_alter_table("utility_writes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_utility_writes_created_at"))
    op.drop_table("utility_writes")
    with op.batch_alter_table("storage_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storage_entries_expires_at"))
    op.drop_table("storage_entries")
