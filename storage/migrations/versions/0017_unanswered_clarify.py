"""The unmatched inbox keeps a question asked back (clarify) as unanswered from the moment it is asked: its
token, and the tokens the citizens' answers settled (so an answer written before its question is still seen).

Revision ID: 0017
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("unmatched_examples", sa.Column("token", sa.String(32), nullable=True))
    op.create_index("ix_unmatched_examples_token", "unmatched_examples", ["token"])
    op.create_table(
        "unmatched_settled",
        sa.Column("token", sa.String(32), primary_key=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("unmatched_settled")
    op.drop_index("ix_unmatched_examples_token", "unmatched_examples")
    op.drop_column("unmatched_examples", "token")
