"""SQLAlchemy Core tables. Change them only together with an Alembic migration."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A moment, stored as UTC on every database and read back UTC-aware. SQLite keeps no zone: it stores and
    compares a datetime's wall time as written, so a bound in China time would compare eight hours off. Every
    value written or compared is converted to UTC first (a naive one is taken as UTC already)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        # A naive one gets its zone here: asyncpg would read it in the process's own zone (China time on a server
        # there), eight hours off.
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


metadata = sa.MetaData()

cases = sa.Table(
    "cases", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("number", sa.String(32), nullable=False, unique=True),
    sa.Column("user_id", sa.String(128), nullable=False, index=True),
    sa.Column("target", sa.String(64), nullable=False),
    sa.Column("target_name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("submitted_at", UtcDateTime(), nullable=False),
    sa.Column("promised_date", sa.Date, nullable=False),
    sa.Column("provisional_date", sa.Boolean, nullable=False),
    sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
    sa.Column("payload", sa.Text, nullable=False),  # encrypted JSON: item codes, fields, materials
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("applicant_hash", sa.String(64), nullable=True, index=True),  # KeyedHash of the 身份证号
)

case_counters = sa.Table(
    "case_counters", metadata,
    sa.Column("day", sa.String(8), primary_key=True),
    sa.Column("last", sa.Integer, nullable=False),
)

outbox = sa.Table(
    "outbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_number", sa.String(32), nullable=False, index=True),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("dispatched_at", UtcDateTime(), nullable=True),    # every handler done or given up
    sa.Column("next_attempt_at", UtcDateTime(), nullable=True),  # earliest retry of its handlers
    sa.Column("lease_until", UtcDateTime(), nullable=True),      # claimed by a dispatcher
    sa.Index("ix_outbox_pending", "dispatched_at", "next_attempt_at"),
)

# One handler's state with one outbox event, once tried. Not named outbox_*: an "INSERT INTO outbox…" commit wakes
# the dispatchers (storage/wakeups.py), and recording a delivery must not.
event_deliveries = sa.Table(
    "event_deliveries", metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),  # outbox.id
    sa.Column("handler", sa.String(32), primary_key=True),      # EventHandler.name
    sa.Column("attempts", sa.Integer, nullable=False),          # failed attempts
    sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("done_at", UtcDateTime(), nullable=True),
    sa.Column("dead", sa.Boolean, nullable=False),              # given up: a dead letter staff look at
    sa.Column("alerted_at", UtcDateTime(), nullable=True),  # supervisors were told
    sa.Index("ix_event_deliveries_dead", "dead", "event_id"),
)

profiles = sa.Table(
    "profiles", metadata,
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("payload", sa.Text, nullable=False),  # encrypted JSON Profile
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

blobs = sa.Table(
    "blobs", metadata,
    sa.Column("blob_id", sa.String(64), primary_key=True),
    sa.Column("mime", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("claimed", sa.Boolean, nullable=False),  # a case or a profile refers to it
    sa.Column("data_key", sa.LargeBinary, nullable=True),  # the blob's AES key, wrapped with the field key
    sa.Column("key_id", sa.String(8), nullable=True),  # that field key's id (hex) once the object is sealed
    sa.Index("ix_blobs_unclaimed", "claimed", "created_at"),
)

staff = sa.Table(
    "staff", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("department", sa.String(128), nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256 of the bearer token
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("token_expires_at", UtcDateTime(), nullable=False),  # revoking sets it to that moment
    sa.Column("disabled_at", UtcDateTime(), nullable=True),
)

case_events = sa.Table(
    "case_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_number", sa.String(32), nullable=False, index=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),  # "staff:<id>" or "citizen:<user>"
    sa.Column("from_status", sa.String(32), nullable=False),
    sa.Column("to_status", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("detail", sa.JSON, nullable=False),  # e.g. reasons per material when returned for correction
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("staff_id", sa.Integer, nullable=False, index=True),
    sa.Column("action", sa.String(32), nullable=False),  # list, view, transition
    sa.Column("case_number", sa.String(32), nullable=True, index=True),
    sa.Column("detail", sa.JSON, nullable=False),
)

inbox_messages = sa.Table(
    "inbox_messages", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(128), nullable=False, index=True),
    sa.Column("case_number", sa.String(32), nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("read_at", UtcDateTime(), nullable=True),
    sa.Column("dedupe_key", sa.String(64), nullable=False, unique=True),  # "<outbox id>:<handler>"
)

ratings = sa.Table(
    "ratings", metadata,
    sa.Column("case_number", sa.String(32), primary_key=True),  # one rating per case
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),             # 5 非常满意 … 1 非常不满意
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

rectifications = sa.Table(
    "rectifications", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_number", sa.String(32), nullable=False, unique=True),
    sa.Column("department", sa.String(128), nullable=False, index=True),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),         # open, called_back, closed
    sa.Column("callback_due", sa.Date, nullable=False),
    sa.Column("rectify_due", sa.Date, nullable=False),
    sa.Column("callback_note", sa.Text, nullable=True),
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("closed_at", UtcDateTime(), nullable=True),
    sa.Column("citizen_resolved", sa.Boolean, nullable=True),
    sa.Column("callback_escalated_at", UtcDateTime(), nullable=True),  # 督办: missed callback
    sa.Column("rectify_escalated_at", UtcDateTime(), nullable=True),   # 督办: missed rectification
    sa.Column("supervision_note", sa.Text, nullable=True),
    sa.Column("supervised_at", UtcDateTime(), nullable=True),
)

staff_notices = sa.Table(
    "staff_notices", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("department", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),    # addressed to every staff member of this role there
    sa.Column("kind", sa.String(32), nullable=False),    # escalation.callback, escalation.rectify
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("case_number", sa.String(32), nullable=True),
    sa.Column("ticket_id", sa.Integer, nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Index("ix_staff_notices_recipients", "department", "role", "id"),
)

payments = sa.Table(
    "payments", metadata,
    sa.Column("out_trade_no", sa.String(32), primary_key=True),
    sa.Column("case_number", sa.String(32), nullable=False, index=True),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("provider", sa.String(16), nullable=False),     # wechatpay, sandbox
    sa.Column("amount_fen", sa.Integer, nullable=False),
    sa.Column("description", sa.String(127), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),       # created, paid, closed, refunding, refunded
    sa.Column("client_params", sa.JSON, nullable=True),       # wx.requestPayment arguments of the last prepay
    sa.Column("prepared_at", UtcDateTime(), nullable=True),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("transaction_id", sa.String(64), nullable=True),
    sa.Column("paid_at", UtcDateTime(), nullable=True),
    sa.Column("refund_no", sa.String(64), nullable=True),
    sa.Column("refunded_at", UtcDateTime(), nullable=True),
    sa.Column("problem", sa.Text, nullable=True),             # e.g. a notification whose amount was wrong
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index("ix_payments_status_created", "status", "created_at"),
)

payment_deliveries = sa.Table(
    "payment_deliveries", metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True),  # sha256 of a notification's signature
    sa.Column("received_at", UtcDateTime(), nullable=False, index=True),
)

revoked_sessions = sa.Table(
    "revoked_sessions", metadata,
    sa.Column("token_id", sa.String(32), primary_key=True),   # the jti of a logged-out session token
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False, index=True),  # then it can be forgotten
    sa.Column("revoked_at", UtcDateTime(), nullable=False),
)

verified_identities = sa.Table(
    "verified_identities", metadata,                            # 实名核验 passed, asked once per user
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("identity_hash", sa.String(64), primary_key=True),  # KeyedHash of name + 身份证号
    sa.Column("verified_at", UtcDateTime(), nullable=False),
)

subscribe_quota = sa.Table(
    "subscribe_quota", metadata,                                # consents left per user and template
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("template_id", sa.String(64), primary_key=True),
    sa.Column("remaining", sa.Integer, nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

subscribe_sends = sa.Table(
    "subscribe_sends", metadata,                                # an outbox event takes at most one consent
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("template_id", sa.String(64), nullable=False),
    sa.Column("taken_at", UtcDateTime(), nullable=False),
)

# Conversation state of the embedded mode (storage/sql_sessions.py): encrypted, with the lease of the process
# handling the user's current message. Times are milliseconds since the epoch (compared, never shown).
conversations = sa.Table(
    "conversations", metadata,
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("state", sa.LargeBinary, nullable=True),          # FieldCipher(packed state); none before the first save
    sa.Column("saved_ms", sa.BigInteger, nullable=True),        # last save: the idle expiry counts from it
    sa.Column("lock_token", sa.String(64), nullable=True),      # holder of the user's lock
    sa.Column("lock_until_ms", sa.BigInteger, nullable=True),   # its lease; a later taker may take it over
)

# Content versions (intent studio): immutable snapshots of intents/, the history of what was made live, and the
# pointer every instance follows. Written only by storage/content_versions.py.
content_versions = sa.Table(
    "content_versions", metadata,
    sa.Column("id", sa.String(64), primary_key=True),            # sha256 over sorted paths and bytes
    sa.Column("parent", sa.String(64), nullable=True),
    sa.Column("source", sa.String(16), nullable=False),          # seed | cli | studio
    sa.Column("author", sa.String(128), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("published_at", UtcDateTime(), nullable=True),  # first time it went live
    sa.Column("files", sa.Text, nullable=False),                 # JSON: relative path -> text
)

content_publications = sa.Table(
    "content_publications", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version_id", sa.String(64), nullable=False),      # what became live
    sa.Column("previous_id", sa.String(64), nullable=True),      # what was live before
    sa.Column("action", sa.String(16), nullable=False),          # publish | rollback
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("undone_at", UtcDateTime(), nullable=True),  # a publish taken back by a rollback
)

content_live = sa.Table(
    "content_live", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1
    sa.Column("version_id", sa.String(64), nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),         # +1 per move: two movers cannot both win
)

unmatched_groups = sa.Table(
    "unmatched_groups", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(200), nullable=False),  # normalised text of the first utterance (bot/inbox/grouping)
    sa.Column("text", sa.Text, nullable=False),        # the first utterance, masked
    sa.Column("status", sa.String(16), nullable=False),  # open, proposed
    sa.Column("proposal", sa.JSON, nullable=True),     # the draft change proposed from the studio
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sqlite_autoincrement=True,  # an id the studio saw never names another group after a purge
)

unmatched_examples = sa.Table(
    "unmatched_examples", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("group_id", sa.Integer, sa.ForeignKey("unmatched_groups.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("kind", sa.String(24), nullable=False),  # bot/inbox/models.MissKind
    sa.Column("text", sa.Text, nullable=False),        # masked
    sa.Column("candidates", sa.JSON, nullable=False),  # item keys offered, for a clarify
    sa.Column("seen_at", UtcDateTime(), nullable=False, index=True),
    sa.Column("token", sa.String(32), nullable=True, index=True),  # an unanswered clarify, until settled
)

unmatched_settled = sa.Table(
    "unmatched_settled", metadata,  # questions asked back that the citizen answered (bot/inbox/recorder)
    sa.Column("token", sa.String(32), primary_key=True),
    sa.Column("settled_at", UtcDateTime(), nullable=False, index=True),
)

handoffs = sa.Table(
    "handoffs", metadata,                                       # 转人工: a chat handed to staff (bot/handoff)
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(128), nullable=False, index=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("department", sa.String(128), nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),         # waiting, active, callback, closed
    sa.Column("owner_id", sa.Integer, nullable=True, index=True),
    sa.Column("first_owner_id", sa.Integer, nullable=True),
    sa.Column("auto_assigned", sa.Boolean, nullable=False),
    sa.Column("transfers", sa.Integer, nullable=False),
    sa.Column("context", sa.Text, nullable=False),              # HandoffContext JSON, encrypted
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("claimed_at", UtcDateTime(), nullable=True),
    sa.Column("first_response_at", UtcDateTime(), nullable=True),
    sa.Column("last_citizen_at", UtcDateTime(), nullable=True),
    sa.Column("last_staff_at", UtcDateTime(), nullable=True),
    sa.Column("closed_at", UtcDateTime(), nullable=True),
    sa.Column("summary", sa.Text, nullable=True),
    sa.Column("callback_due", sa.Date, nullable=True),
    sa.Column("escalated_at", UtcDateTime(), nullable=True),
    sa.Column("breaches", sa.JSON, nullable=False),
    sa.Column("rating", sa.Integer, nullable=True),
    sa.Index("ix_handoffs_queue", "department", "status", "id"),
)

handoff_messages = sa.Table(
    "handoff_messages", metadata,                               # the transcript, text encrypted
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("handoff_id", sa.Integer, nullable=False, index=True),
    sa.Column("author", sa.String(8), nullable=False),          # citizen, staff, bot, note, event
    sa.Column("staff_id", sa.Integer, nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)
