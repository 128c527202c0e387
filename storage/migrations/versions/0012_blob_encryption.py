"""Blobs encrypted at rest (envelope encryption): each blob's data key, wrapped with the field key, and the id of
that field key once the object is stored sealed. Rows from before have neither: their objects are in clear
until `python -m bot rotate-keys` seals them.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("blobs") as batch:
        batch.add_column(sa.Column("data_key", sa.LargeBinary, nullable=True))
        batch.add_column(sa.Column("key_id", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("blobs") as batch:
        batch.drop_column("key_id")
        batch.drop_column("data_key")
