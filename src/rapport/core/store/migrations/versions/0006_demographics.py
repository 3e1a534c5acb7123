"""Analytics: the restricted demographics table for adverse-impact reports, the send
ledger campaign and pipeline reports aggregate, and its cursor over the timeline.

candidate_demographics holds self-reported, optional answers (sex, race/ethnicity) apart
from the candidate row, so that access to it can be restricted and audited on its own; it
is deleted with the candidate.

analytics_sends has one row per outbound touch with a bit set of its outcomes, pointing at
its variant (channel, template, sequence, step, content item) in analytics_variants:
campaign reports become one GROUP BY over a narrow covering index instead of attributing
every open, click and reply to its send on each call (a window over the timeline took 26 s
on SQLite for 1.2M events). analytics_people keeps, per person, the first contact, the
first reply and the first time each pipeline stage was reached, for source quality and the
funnel. Both are derived from the timeline and can be rebuilt from it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigPk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "candidate_demographics",
        sa.Column("candidate_pk", BigPk, nullable=False),
        sa.Column("sex", sa.String(length=20), nullable=False),
        sa.Column("race_ethnicity", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_candidate_demographics_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("candidate_pk", name=op.f("pk_candidate_demographics")),
    )
    op.create_table(
        "analytics_variants",
        sa.Column("pk", BigPk, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("template", sa.String(length=200), nullable=False),
        sa.Column("sequence_id", sa.String(length=36), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("content_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_analytics_variants")),
        sa.UniqueConstraint(
            "channel",
            "template",
            "sequence_id",
            "step",
            "content_id",
            name=op.f("uq_analytics_variants_channel"),
        ),
    )
    op.create_table(
        "analytics_sends",
        sa.Column("event_pk", BigPk, autoincrement=False, nullable=False),
        sa.Column("candidate_pk", BigPk, nullable=False),
        sa.Column("variant_pk", BigPk, nullable=False),
        sa.Column("thread", sa.String(length=100), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcomes", sa.Integer(), nullable=False),
        sa.Column("quiet_days", sa.Float(), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_analytics_sends_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["variant_pk"],
            ["analytics_variants.pk"],
            name=op.f("fk_analytics_sends_variant_pk_analytics_variants"),
        ),
        sa.PrimaryKeyConstraint("event_pk", name=op.f("pk_analytics_sends")),
    )
    op.create_index(
        "ix_analytics_sends_time", "analytics_sends", ["sent_at", "quiet_days", "replied_at"]
    )
    op.create_index(
        "ix_analytics_sends_thread", "analytics_sends", ["candidate_pk", "thread", "sent_at"]
    )
    op.create_index(
        "ix_analytics_sends_variant", "analytics_sends", ["variant_pk", "outcomes", "sent_at"]
    )
    op.create_table(
        "analytics_people",
        sa.Column("candidate_pk", BigPk, nullable=False),
        sa.Column("first_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_reply_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("engaged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("screen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("interview_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("final_round_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_analytics_people_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("candidate_pk", name=op.f("pk_analytics_people")),
    )
    op.create_table(
        "analytics_cursors",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("unattributed", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analytics_cursors")),
    )


def downgrade() -> None:
    op.drop_table("analytics_cursors")
    op.drop_table("analytics_people")
    op.drop_index("ix_analytics_sends_variant", table_name="analytics_sends")
    op.drop_index("ix_analytics_sends_thread", table_name="analytics_sends")
    op.drop_index("ix_analytics_sends_time", table_name="analytics_sends")
    op.drop_table("analytics_sends")
    op.drop_table("analytics_variants")
    op.drop_table("candidate_demographics")
