"""The unmatched inbox: groups of similar utterances the bot could not place, and each recorded utterance
(masked), kept unmatched_retention_days.

Revision ID: 0015
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unmatched_groups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("proposal", sa.JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "unmatched_examples",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("group_id", sa.Integer, sa.ForeignKey("unmatched_groups.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("candidates", sa.JSON, nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_unmatched_examples_group_id", "unmatched_examples", ["group_id"])
    op.create_index("ix_unmatched_examples_seen_at", "unmatched_examples", ["seen_at"])


def downgrade() -> None:
    op.drop_table("unmatched_examples")
    op.drop_table("unmatched_groups")
