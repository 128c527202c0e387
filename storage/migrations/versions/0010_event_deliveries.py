"""Outbox delivery state per event and handler: attempts, back-off, last error, done or given up, alerted.

Before this revision one attempt counter covered every channel of an event. Existing rows keep being delivered:
- pending events keep their next attempt time; each handler starts its own count at 0;
- dead events of a refused or withdrawn case are reopened (their refund may never have reached the provider, and a
  refund is now never given up; messages are deduplicated by their receivers, refunds by their fixed number);
- other dead events stay dead letters, as one delivery of the handler "channels" (which channel failed was not
  recorded) with their attempts and last error, and are settled (dispatched_at set).

Revision ID: 0010
Revises: 0009
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

LEGACY_HANDLER = "channels"
REFUND_OWED = {"refused", "withdrawn"}

outbox = sa.table("outbox", sa.column("id", sa.Integer), sa.column("event_type", sa.String),
                  sa.column("payload", sa.JSON), sa.column("dispatched_at", sa.DateTime(timezone=True)),
                  sa.column("next_attempt_at", sa.DateTime(timezone=True)),
                  sa.column("lease_until", sa.DateTime(timezone=True)), sa.column("attempts", sa.Integer),
                  sa.column("last_error", sa.Text), sa.column("dead", sa.Boolean))


def _refund_owed(event_type: str, payload: dict[str, object]) -> bool:
    return event_type == "case.status_changed" and payload.get("to") in REFUND_OWED


def upgrade() -> None:
    bind = op.get_bind()
    dead = bind.execute(sa.select(outbox.c.id, outbox.c.event_type, outbox.c.payload, outbox.c.attempts,
                                  outbox.c.last_error).where(outbox.c.dead.is_(True))).all()
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_pending")
        for column in ("dead", "last_error", "attempts"):
            batch.drop_column(column)
        batch.create_index("ix_outbox_pending", ["dispatched_at", "next_attempt_at"])
    deliveries = op.create_table(
        "event_deliveries",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("handler", sa.String(32), primary_key=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dead", sa.Boolean, nullable=False),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_event_deliveries_dead", "event_deliveries", ["dead", "event_id"])
    reopened = [row.id for row in dead if _refund_owed(row.event_type, row.payload)]
    if reopened:
        bind.execute(outbox.update().where(outbox.c.id.in_(reopened))
                     .values(next_attempt_at=None, lease_until=None))
    kept = [row for row in dead if row.id not in set(reopened)]
    if kept:
        bind.execute(sa.insert(deliveries), [
            {"event_id": row.id, "handler": LEGACY_HANDLER, "attempts": row.attempts, "last_error": row.last_error,
             "dead": True} for row in kept])
        bind.execute(outbox.update().where(outbox.c.id.in_([row.id for row in kept]))
                     .values(dispatched_at=datetime.now(timezone.utc), lease_until=None))


def downgrade() -> None:
    """One counter per event again: the most attempts of its handlers; dead when any handler was given up and
    none is still being retried."""
    bind = op.get_bind()
    d = sa.table("event_deliveries", sa.column("event_id", sa.Integer), sa.column("attempts", sa.Integer),
                 sa.column("last_error", sa.Text), sa.column("dead", sa.Boolean))
    rows = bind.execute(sa.select(d.c.event_id, sa.func.max(d.c.attempts).label("attempts"),
                                  sa.func.max(d.c.last_error).label("last_error"),
                                  sa.func.max(sa.case((d.c.dead.is_(True), 1), else_=0)).label("dead"),
                                  sa.func.max(outbox.c.dispatched_at).label("settled_at"))
                        .join(outbox, outbox.c.id == d.c.event_id).group_by(d.c.event_id)).all()
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_pending")
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sa.Text, nullable=True))
        batch.add_column(sa.Column("dead", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.create_index("ix_outbox_pending", ["dispatched_at", "dead", "next_attempt_at"])
    for row in rows:
        values: dict[str, object] = {"attempts": row.attempts, "last_error": row.last_error}
        if row.dead and row.settled_at is not None:
            values.update(dead=True, dispatched_at=None, next_attempt_at=None)
        bind.execute(outbox.update().where(outbox.c.id == row.event_id).values(values))
    op.drop_index("ix_event_deliveries_dead", "event_deliveries")
    op.drop_table("event_deliveries")
