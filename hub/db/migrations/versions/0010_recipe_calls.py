"""recipes calling recipes: a run's parent run and call path, and its rendered output

Revision ID: 0010
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("parent_run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.add_column(sa.Column("parent_path", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column(
                "output",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.create_foreign_key(
            "fk_runs_parent_run_id_runs", "runs", ["parent_run_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_unique_constraint("uq_runs_parent_path", ["parent_run_id", "parent_path"])


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_constraint("uq_runs_parent_path", type_="unique")
        batch_op.drop_constraint("fk_runs_parent_run_id_runs", type_="foreignkey")
        batch_op.drop_column("output")
        batch_op.drop_column("parent_path")
        batch_op.drop_column("parent_run_id")
