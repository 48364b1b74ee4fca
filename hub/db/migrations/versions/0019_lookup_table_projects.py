"""lookup tables belong to a project: project_id on lookup_tables; existing tables land in the
`default` project (id 1)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lookup_tables", schema=None) as batch_op:
        batch_op.add_column(sa.Column("project_id", sa.BigInteger(), server_default="1", nullable=False))
        batch_op.create_index(batch_op.f("ix_lookup_tables_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lookup_tables", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lookup_tables_project_id"))
        batch_op.drop_column("project_id")
