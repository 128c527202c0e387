"""Cases: updated_at (back-filled from submitted_at) and a keyed hash of the applicant's ID number.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("applicant_hash", sa.String(64), nullable=True))
        batch.create_index("ix_cases_applicant_hash", ["applicant_hash"])
    op.execute("UPDATE cases SET updated_at = submitted_at")
    with op.batch_alter_table("cases") as batch:
        batch.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_applicant_hash")
        batch.drop_column("applicant_hash")
        batch.drop_column("updated_at")
