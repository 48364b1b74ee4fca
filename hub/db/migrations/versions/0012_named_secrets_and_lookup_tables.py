"""named secrets (sealed in the vault) and lookup tables (rows as JSON, every cell indexed)

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.db.models

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "lookup_tables",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "columns",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("key_column", sa.String(length=100), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("created_at", hub.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "named_secrets",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", hub.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "lookup_rows",
        sa.Column(
            "table_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["table_id"], ["lookup_tables.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("table_id", "position"),
        sa.UniqueConstraint("table_id", "key", name="uq_lookup_rows_key"),
    )
    op.create_table(
        "lookup_values",
        sa.Column(
            "table_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("column_name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(["table_id"], ["lookup_tables.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("table_id", "column_name", "value", "position"),
    )


def downgrade() -> None:

    op.drop_table("lookup_values")
    op.drop_table("lookup_rows")
    op.drop_table("named_secrets")
    op.drop_table("lookup_tables")
