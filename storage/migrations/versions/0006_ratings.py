"""好差评: ratings (one per case) and rectification tickets opened by bad ratings.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("case_number", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rectifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_number", sa.String(32), nullable=False, unique=True),
        sa.Column("department", sa.String(128), nullable=False, index=True),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("callback_due", sa.Date, nullable=False),
        sa.Column("rectify_due", sa.Date, nullable=False),
        sa.Column("callback_note", sa.Text, nullable=True),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("citizen_resolved", sa.Boolean, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("rectifications")
    op.drop_table("ratings")
