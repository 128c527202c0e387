"""转人工: handoffs (a chat handed to staff of a department) and their transcripts.

Revision ID: 0016
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("department", sa.String(128), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner_id", sa.Integer, nullable=True),
        sa.Column("first_owner_id", sa.Integer, nullable=True),
        sa.Column("auto_assigned", sa.Boolean, nullable=False),
        sa.Column("transfers", sa.Integer, nullable=False),
        sa.Column("context", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_citizen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_staff_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.Text, nullable=True),
        sa.Column("callback_due", sa.Date, nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breaches", sa.JSON, nullable=False),
        sa.Column("rating", sa.Integer, nullable=True),
    )
    op.create_index("ix_handoffs_user_id", "handoffs", ["user_id"])
    op.create_index("ix_handoffs_owner_id", "handoffs", ["owner_id"])
    op.create_index("ix_handoffs_queue", "handoffs", ["department", "status", "id"])
    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("handoff_id", sa.Integer, nullable=False),
        sa.Column("author", sa.String(8), nullable=False),
        sa.Column("staff_id", sa.Integer, nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_handoff_messages_handoff_id", "handoff_messages", ["handoff_id"])


def downgrade() -> None:
    op.drop_table("handoff_messages")
    op.drop_table("handoffs")
