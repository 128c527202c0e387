"""Staff tokens expire and accounts can be disabled: token_expires_at (revoking a token sets it to the moment of
revocation) and disabled_at. Tokens issued before this revision expire 90 days (the default staff_token_days)
after the upgrade.

Revision ID: 0011
Revises: 0010
"""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

EXISTING_TOKEN_DAYS = 90
staff = sa.table("staff", sa.column("token_expires_at", sa.DateTime(timezone=True)))


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    expires = datetime.now(timezone.utc) + timedelta(days=EXISTING_TOKEN_DAYS)
    op.get_bind().execute(staff.update().values(token_expires_at=expires))
    with op.batch_alter_table("staff") as batch:
        batch.alter_column("token_expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("disabled_at")
        batch.drop_column("token_expires_at")
