"""WeChat login and subscribe messages: revoked session tokens, identities that passed 实名核验, subscribe-message
consents left per user and template, and which outbox event took one.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revoked_sessions",
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_revoked_sessions_expires_at", "revoked_sessions", ["expires_at"])
    op.create_table(
        "verified_identities",
        sa.Column("user_id", sa.String(128), primary_key=True),
        sa.Column("identity_hash", sa.String(64), primary_key=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "subscribe_quota",
        sa.Column("user_id", sa.String(128), primary_key=True),
        sa.Column("template_id", sa.String(64), primary_key=True),
        sa.Column("remaining", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "subscribe_sends",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("template_id", sa.String(64), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("subscribe_sends")
    op.drop_table("subscribe_quota")
    op.drop_table("verified_identities")
    op.drop_index("ix_revoked_sessions_expires_at", "revoked_sessions")
    op.drop_table("revoked_sessions")
