"""Outbox delivery state (attempts, back-off, lease, dead letters) and the in-chat message inbox.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text, nullable=True))
        batch.add_column(sa.Column("dead", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.create_index("ix_outbox_pending", ["dispatched_at", "dead", "next_attempt_at"])
    op.create_table(
        "inbox_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(128), nullable=False, index=True),
        sa.Column("case_number", sa.String(32), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dedupe_key", sa.String(64), nullable=False, unique=True),
    )


def downgrade() -> None:
    op.drop_table("inbox_messages")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_pending")
        for column in ("dead", "last_error", "lease_until", "next_attempt_at", "attempts"):
            batch.drop_column(column)
