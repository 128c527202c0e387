"""SQLAlchemy Core tables. Change them only together with an Alembic migration."""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

cases = sa.Table(
    "cases", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("number", sa.String(32), nullable=False, unique=True),
    sa.Column("user_id", sa.String(128), nullable=False, index=True),
    sa.Column("target", sa.String(64), nullable=False),
    sa.Column("target_name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("promised_date", sa.Date, nullable=False),
    sa.Column("provisional_date", sa.Boolean, nullable=False),
    sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
    sa.Column("payload", sa.Text, nullable=False),  # encrypted JSON: item codes, fields, materials
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
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
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),  # back-off after a failure
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),      # claimed by a dispatcher
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("dead", sa.Boolean, nullable=False, server_default=sa.false()),  # dead letter: staff look at it
    sa.Index("ix_outbox_pending", "dispatched_at", "dead", "next_attempt_at"),
)

profiles = sa.Table(
    "profiles", metadata,
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("payload", sa.Text, nullable=False),  # encrypted JSON Profile
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

blobs = sa.Table(
    "blobs", metadata,
    sa.Column("blob_id", sa.String(64), primary_key=True),
    sa.Column("mime", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claimed", sa.Boolean, nullable=False),  # a case or a profile refers to it
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
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

case_events = sa.Table(
    "case_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_number", sa.String(32), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),  # "staff:<id>" or "citizen:<user>"
    sa.Column("from_status", sa.String(32), nullable=False),
    sa.Column("to_status", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("detail", sa.JSON, nullable=False),  # e.g. reasons per material when returned for correction
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
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
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("dedupe_key", sa.String(64), nullable=False, unique=True),  # "<outbox id>:<channel>"
)

ratings = sa.Table(
    "ratings", metadata,
    sa.Column("case_number", sa.String(32), primary_key=True),  # one rating per case
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),             # 5 非常满意 … 1 非常不满意
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
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
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("citizen_resolved", sa.Boolean, nullable=True),
)
