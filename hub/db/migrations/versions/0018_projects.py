"""projects: members with per-project roles, connection shares, project_id on recipes, connections,
named secrets, scoped tokens and audit entries; everything that exists lands in the `default` project (id 1)

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.models

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# global role -> role in the default project; hub admins see every project without a membership
DEFAULT_MEMBERSHIP = {"editor": "editor", "viewer": "viewer"}


def upgrade() -> None:
    projects = op.create_table(
        "projects",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("archived_at", hub.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", hub.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "project_members",
        sa.Column("project_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", hub.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "user_id"),
    )
    op.create_table(
        "connection_shares",
        sa.Column("connection_id", ID, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("connection_id", "project_id"),
    )
    for table in ("recipes", "connections"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("project_id", sa.BigInteger(), server_default="1", nullable=False))
            batch_op.create_index(batch_op.f(f"ix_{table}_project_id"), ["project_id"], unique=False)
    with op.batch_alter_table("named_secrets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("project_id", sa.BigInteger(), server_default="1", nullable=False))
        batch_op.create_index(batch_op.f("ix_named_secrets_project_id"), ["project_id"], unique=False)
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("project_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("role", sa.String(length=16), nullable=True))
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("project_id", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_log_project_id"), ["project_id"], unique=False)

    now = hub.db.models.utcnow()
    op.bulk_insert(projects, [{"id": 1, "name": "default", "created_at": now}])
    if op.get_bind().dialect.name == "postgresql":  # the explicit id 1 left the sequence at its start
        op.execute("SELECT setval(pg_get_serial_sequence('projects', 'id'), 1)")
    bind = op.get_bind()
    users = bind.execute(sa.text("SELECT id, role FROM users")).all()
    members = sa.table(
        "project_members",
        sa.column("project_id", ID),
        sa.column("user_id", ID),
        sa.column("role", sa.String),
        sa.column("created_at", hub.db.models.UTCDateTime(timezone=True)),
    )
    rows = [
        {"project_id": 1, "user_id": user_id, "role": DEFAULT_MEMBERSHIP[role], "created_at": now}
        for user_id, role in users
        if role in DEFAULT_MEMBERSHIP
    ]
    if rows:
        op.bulk_insert(members, rows)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_project_id"))
        batch_op.drop_column("project_id")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("role")
        batch_op.drop_column("project_id")
    with op.batch_alter_table("named_secrets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_named_secrets_project_id"))
        batch_op.drop_column("project_id")
    for table in ("connections", "recipes"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_project_id"))
            batch_op.drop_column("project_id")
    op.drop_table("connection_shares")
    op.drop_table("project_members")
    op.drop_table("projects")
