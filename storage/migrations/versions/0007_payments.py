"""统一公共支付: payment orders of case fees, and the deliveries of payment notifications already seen.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("out_trade_no", sa.String(32), primary_key=True),
        sa.Column("case_number", sa.String(32), nullable=False, index=True),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.Integer, nullable=False),
        sa.Column("description", sa.String(127), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("client_params", sa.JSON, nullable=True),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("transaction_id", sa.String(64), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refund_no", sa.String(64), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("problem", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_payments_status_created", "payments", ["status", "created_at"])
    op.create_table(
        "payment_deliveries",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("payment_deliveries")
    op.drop_index("ix_payments_status_created", "payments")
    op.drop_table("payments")
