"""Recruiter calendars and booked calls (issue 9).

`calendars` hold working hours, slot rules and the busy events' source (a feed URL and its
last good copy, or an inline ICS document); `bookings` the calls candidates booked. The
partial unique index on (calendar, start) over active bookings is the rule that a slot is
never booked twice, even by two transactions racing for it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 10:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BigPk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)
ACTIVE = sa.text("status = 'booked'")


def upgrade() -> None:
    op.create_table(
        "calendars",
        sa.Column("pk", BigPk, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_name", sa.String(length=300), nullable=False),
        sa.Column("owner_email", sa.String(length=320), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("feed_url", sa.String(length=2000), nullable=False),
        sa.Column("ics", sa.Text(), nullable=False),
        sa.Column("working_hours", sa.JSON(), nullable=False),
        sa.Column("slot_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("buffer_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("min_notice_hours", sa.SmallInteger(), nullable=False),
        sa.Column("horizon_days", sa.SmallInteger(), nullable=False),
        sa.Column("busy_events", sa.Integer(), nullable=False),
        sa.Column("feed_read_at", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_calendars")),
        sa.UniqueConstraint("id", name=op.f("uq_calendars_id")),
        sa.UniqueConstraint("owner_email", name=op.f("uq_calendars_owner_email")),
    )
    op.create_table(
        "bookings",
        sa.Column("pk", BigPk, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("calendar_pk", BigPk, nullable=False),
        sa.Column("candidate_pk", BigPk, nullable=False),
        sa.Column("starts_at", When, nullable=False),
        sa.Column("ends_at", When, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("cancel_reason", sa.String(length=300), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("cancelled_at", When, nullable=True),
        sa.ForeignKeyConstraint(
            ["calendar_pk"],
            ["calendars.pk"],
            name=op.f("fk_bookings_calendar_pk_calendars"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_bookings_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_bookings")),
        sa.UniqueConstraint("id", name=op.f("uq_bookings_id")),
    )
    op.create_index(op.f("ix_bookings_candidate_pk"), "bookings", ["candidate_pk"])
    op.create_index(
        "uq_bookings_active_start",
        "bookings",
        ["calendar_pk", "starts_at"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index(
        "uq_bookings_active_start", "bookings", sqlite_where=ACTIVE, postgresql_where=ACTIVE
    )
    op.drop_index(op.f("ix_bookings_candidate_pk"), "bookings")
    op.drop_table("bookings")
    op.drop_table("calendars")
