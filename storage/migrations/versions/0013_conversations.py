"""Conversations of the embedded mode in the database instead of process memory (a restart keeps drafts).

Revision ID: 0013
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("user_id", sa.String(128), primary_key=True),
        sa.Column("state", sa.LargeBinary, nullable=True),
        sa.Column("saved_ms", sa.BigInteger, nullable=True),
        sa.Column("lock_token", sa.String(64), nullable=True),
        sa.Column("lock_until_ms", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("conversations")
