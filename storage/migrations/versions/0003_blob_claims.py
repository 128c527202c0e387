"""Blobs: `claimed` once a submitted case or a saved profile refers to them; unclaimed old ones are purged.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("blobs") as batch:
        batch.add_column(sa.Column("claimed", sa.Boolean, nullable=False, server_default=sa.true()))
        batch.create_index("ix_blobs_unclaimed", ["claimed", "created_at"])
    # Blobs written before this revision are kept (treated as claimed); new ones start unclaimed.


def downgrade() -> None:
    with op.batch_alter_table("blobs") as batch:
        batch.drop_index("ix_blobs_unclaimed")
        batch.drop_column("claimed")
