"""督办: escalation of missed rectification deadlines and supervisors' notes on tickets, and the staff notices
(a message list addressed to a role in a department).

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rectifications") as batch:
        batch.add_column(sa.Column("callback_escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("rectify_escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("supervision_note", sa.Text, nullable=True))
        batch.add_column(sa.Column("supervised_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "staff_notices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("department", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("case_number", sa.String(32), nullable=True),
        sa.Column("ticket_id", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_staff_notices_recipients", "staff_notices", ["department", "role", "id"])


def downgrade() -> None:
    op.drop_index("ix_staff_notices_recipients", "staff_notices")
    op.drop_table("staff_notices")
    with op.batch_alter_table("rectifications") as batch:
        batch.drop_column("supervised_at")
        batch.drop_column("supervision_note")
        batch.drop_column("rectify_escalated_at")
        batch.drop_column("callback_escalated_at")
