"""Outreach: sequences and their steps, enrolments, sends (one per enrolment and step,
with a unique idempotency key), triggers and their firings, inbound replies, and the
cursor the trigger scan keeps over the timeline.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 00:42:13
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outreach_cursors",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_outreach_cursors")),
    )
    op.create_table(
        "outreach_sequences",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("stop_on", sa.JSON(), nullable=False),
        sa.Column("sender_name", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_outreach_sequences")),
        sa.UniqueConstraint("id", name=op.f("uq_outreach_sequences_id")),
        sa.UniqueConstraint("name", name=op.f("uq_outreach_sequences_name")),
    )
    op.create_table(
        "outreach_triggers",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("event_kind", sa.String(length=40), nullable=False),
        sa.Column("payload_equals", sa.JSON(), nullable=False),
        sa.Column("dormant_days", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.String(length=36), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_outreach_triggers")),
        sa.UniqueConstraint("id", name=op.f("uq_outreach_triggers_id")),
        sa.UniqueConstraint("name", name=op.f("uq_outreach_triggers_name")),
    )
    op.create_table(
        "outreach_enrolments",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "sequence_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "candidate_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("stop_reason", sa.String(length=30), nullable=False),
        sa.Column("step_position", sa.SmallInteger(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=40), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_outreach_enrolments_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sequence_pk"],
            ["outreach_sequences.pk"],
            name=op.f("fk_outreach_enrolments_sequence_pk_outreach_sequences"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_outreach_enrolments")),
        sa.UniqueConstraint("id", name=op.f("uq_outreach_enrolments_id")),
    )
    with op.batch_alter_table("outreach_enrolments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outreach_enrolments_candidate", ["candidate_pk", "state"], unique=False
        )
        batch_op.create_index("ix_outreach_enrolments_due", ["state", "next_due_at"], unique=False)
        batch_op.create_index(
            "uq_outreach_enrolments_active",
            ["sequence_pk", "candidate_pk"],
            unique=True,
            sqlite_where=sa.text("state = 'active'"),
            postgresql_where=sa.text("state = 'active'"),
        )

    op.create_table(
        "outreach_steps",
        sa.Column(
            "sequence_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("content_id", sa.String(length=36), nullable=False),
        sa.Column("delay_s", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(length=20), nullable=False),
        sa.Column("next_key", sa.String(length=100), nullable=False),
        sa.Column("next_position", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sequence_pk"],
            ["outreach_sequences.pk"],
            name=op.f("fk_outreach_steps_sequence_pk_outreach_sequences"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sequence_pk", "position", name=op.f("pk_outreach_steps")),
    )
    op.create_table(
        "outreach_trigger_firings",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "trigger_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "candidate_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("event_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_outreach_trigger_firings_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trigger_pk"],
            ["outreach_triggers.pk"],
            name=op.f("fk_outreach_trigger_firings_trigger_pk_outreach_triggers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_outreach_trigger_firings")),
        sa.UniqueConstraint(
            "trigger_pk", "event_pk", name=op.f("uq_outreach_trigger_firings_trigger_pk")
        ),
    )
    with op.batch_alter_table("outreach_trigger_firings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outreach_trigger_firings_candidate_pk"), ["candidate_pk"], unique=False
        )

    op.create_table(
        "outreach_sends",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column(
            "enrolment_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("step_position", sa.SmallInteger(), nullable=False),
        sa.Column(
            "candidate_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("to_address", sa.String(length=400), nullable=False),
        sa.Column("message_id", sa.String(length=250), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("worker", sa.String(length=40), nullable=False),
        sa.Column("smtp_response", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_outreach_sends_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_pk"],
            ["outreach_enrolments.pk"],
            name=op.f("fk_outreach_sends_enrolment_pk_outreach_enrolments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_outreach_sends")),
        sa.UniqueConstraint("id", name=op.f("uq_outreach_sends_id")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outreach_sends_idempotency_key")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outreach_sends_message_id")),
        sa.UniqueConstraint("token", name=op.f("uq_outreach_sends_token")),
    )
    with op.batch_alter_table("outreach_sends", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outreach_sends_enrolment", ["enrolment_pk", "step_position"], unique=False
        )
        batch_op.create_index("ix_outreach_sends_to", ["to_address", "sent_at"], unique=False)

    op.create_table(
        "outreach_replies",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.String(length=250), nullable=False),
        sa.Column("send_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "candidate_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_outreach_replies_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["send_pk"],
            ["outreach_sends.pk"],
            name=op.f("fk_outreach_replies_send_pk_outreach_sends"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_outreach_replies")),
        sa.UniqueConstraint("id", name=op.f("uq_outreach_replies_id")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outreach_replies_message_id")),
    )
    with op.batch_alter_table("outreach_replies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outreach_replies_candidate_pk"), ["candidate_pk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outreach_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outreach_replies_candidate_pk"))

    op.drop_table("outreach_replies")
    with op.batch_alter_table("outreach_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_outreach_sends_to")
        batch_op.drop_index("ix_outreach_sends_enrolment")

    op.drop_table("outreach_sends")
    with op.batch_alter_table("outreach_trigger_firings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outreach_trigger_firings_candidate_pk"))

    op.drop_table("outreach_trigger_firings")
    op.drop_table("outreach_steps")
    with op.batch_alter_table("outreach_enrolments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_outreach_enrolments_active",
            sqlite_where=sa.text("state = 'active'"),
            postgresql_where=sa.text("state = 'active'"),
        )
        batch_op.drop_index("ix_outreach_enrolments_due")
        batch_op.drop_index("ix_outreach_enrolments_candidate")

    op.drop_table("outreach_enrolments")
    op.drop_table("outreach_triggers")
    op.drop_table("outreach_sequences")
    op.drop_table("outreach_cursors")
