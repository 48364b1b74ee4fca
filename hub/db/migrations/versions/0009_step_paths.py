"""step rows, waits and kept wait events carry the step's path (flow control: nested steps)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0012"
branch_labels = None
depends_on = None

# The unique constraints of 0001 were unnamed: PostgreSQL named them itself, SQLite keeps none, so
# batch mode (which rebuilds the table on SQLite) names reflected ones by this convention.
NAMING = {"uq": "%(table_name)s_%(column_0_name)s_key"}


def _old_unique(table: str, columns: str) -> str:
    return f"{table}_{columns}_key"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("step_runs", naming_convention=NAMING) as batch_op:
        batch_op.add_column(sa.Column("path", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("item", sa.Integer(), nullable=True))
    op.execute("UPDATE step_runs SET path = step_id")
    with op.batch_alter_table("step_runs", naming_convention=NAMING) as batch_op:
        batch_op.alter_column("path", existing_type=sa.String(length=300), nullable=False)
        old = "step_runs_run_id_phase_step_id_key" if postgres else _old_unique("step_runs", "run_id")
        batch_op.drop_constraint(old, type_="unique")
        batch_op.create_unique_constraint("uq_step_runs_run_phase_path", ["run_id", "phase", "path"])

    with op.batch_alter_table("waits", naming_convention=NAMING) as batch_op:
        batch_op.add_column(sa.Column("path", sa.String(length=300), nullable=True))
    op.execute("UPDATE waits SET path = step_id")
    with op.batch_alter_table("waits", naming_convention=NAMING) as batch_op:
        batch_op.alter_column("path", existing_type=sa.String(length=300), nullable=False)
        batch_op.drop_constraint(_old_unique("waits", "run_id"), type_="unique")
        batch_op.create_unique_constraint("uq_waits_run_path", ["run_id", "path"])

    with op.batch_alter_table("pending_wait_events") as batch_op:
        batch_op.add_column(sa.Column("consumed_path", sa.String(length=300), nullable=True))
    with op.batch_alter_table("runs") as batch_op:
        batch_op.alter_column("from_step", existing_type=sa.String(length=100), type_=sa.String(length=300))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch_op:
        batch_op.alter_column("from_step", existing_type=sa.String(length=300), type_=sa.String(length=100))
    with op.batch_alter_table("pending_wait_events") as batch_op:
        batch_op.drop_column("consumed_path")
    with op.batch_alter_table("waits") as batch_op:
        batch_op.drop_constraint("uq_waits_run_path", type_="unique")
        batch_op.create_unique_constraint("waits_run_id_key", ["run_id"])
        batch_op.drop_column("path")
    with op.batch_alter_table("step_runs") as batch_op:
        batch_op.drop_constraint("uq_step_runs_run_phase_path", type_="unique")
        batch_op.create_unique_constraint(
            "step_runs_run_id_phase_step_id_key", ["run_id", "phase", "step_id"]
        )
        batch_op.drop_column("item")
        batch_op.drop_column("path")
