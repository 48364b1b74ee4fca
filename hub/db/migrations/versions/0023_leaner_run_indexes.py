"""fewer index writes per event: two indexes repeated a unique constraint's first column, two
others held a NULL entry for every run in flight

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_PARTIAL = (("ix_runs_finished", "finished_at"), ("ix_runs_replay_of", "replay_of"))


def upgrade() -> None:
    op.drop_index("ix_events_recipe_id", table_name="events")  # uq (recipe_id, dedupe_key) serves
    op.drop_index("ix_step_runs_run_id", table_name="step_runs")  # uq (run_id, phase, path) serves
    for name, column in _PARTIAL:
        condition = sa.text(f"{column} IS NOT NULL")
        op.drop_index(name, table_name="runs")
        op.create_index(name, "runs", [column], sqlite_where=condition, postgresql_where=condition)


def downgrade() -> None:
    for name, column in _PARTIAL:
        op.drop_index(name, table_name="runs")
        op.create_index(name, "runs", [column])
    op.create_index("ix_step_runs_run_id", "step_runs", ["run_id"])
    op.create_index("ix_events_recipe_id", "events", ["recipe_id"])
