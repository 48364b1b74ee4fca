"""parallel branches and for_each items as tasks of their own under Celery: run_branches

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.db.models

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_branches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("fanout", sa.String(length=300), nullable=False),
        sa.Column("label", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("keep_going", sa.Boolean(), nullable=False),
        sa.Column("parks", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", hub.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", hub.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", hub.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", hub.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", hub.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "phase", "fanout", "label", name="uq_run_branches_run_fanout_label"),
    )
    op.create_index("ix_run_branches_run_status", "run_branches", ["run_id", "status"], unique=False)
    op.create_index("ix_run_branches_status", "run_branches", ["status", "lease_expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_run_branches_status", table_name="run_branches")
    op.drop_index("ix_run_branches_run_status", table_name="run_branches")
    op.drop_table("run_branches")
