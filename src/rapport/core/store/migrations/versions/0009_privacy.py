"""Privacy (issue 7, B1): erasures and their identity tombstones, the installation's
privacy secret (the tombstone salt), consent history, channel preferences, retention runs.

erasure_tombstones keep only an HMAC-SHA256 (keyed with a per-installation salt held in
privacy_keys) of each normalised identity of an erased person, so a re-import of the same
person is refused without the store keeping who they were.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 04:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BigPk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "privacy_keys",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_privacy_keys")),
    )
    op.create_table(
        "erasures",
        sa.Column("pk", BigPk, autoincrement=True, nullable=False),
        sa.Column("candidate_id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=300), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("identities", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("erased_at", When, nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_erasures")),
        sa.UniqueConstraint("candidate_id", name=op.f("uq_erasures_candidate_id")),
    )
    op.create_table(
        "erasure_tombstones",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("erasure_pk", BigPk, nullable=False),
        sa.ForeignKeyConstraint(
            ["erasure_pk"],
            ["erasures.pk"],
            name=op.f("fk_erasure_tombstones_erasure_pk_erasures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_erasure_tombstones")),
    )
    op.create_index(op.f("ix_erasure_tombstones_erasure_pk"), "erasure_tombstones", ["erasure_pk"])
    op.create_table(
        "consent_events",
        sa.Column("pk", BigPk, autoincrement=True, nullable=False),
        sa.Column("candidate_pk", BigPk, nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("basis", sa.String(length=30), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_consent_events_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_consent_events")),
    )
    op.create_index(
        "ix_consent_events_candidate", "consent_events", ["candidate_pk", "recorded_at"]
    )
    op.create_table(
        "channel_preferences",
        sa.Column("candidate_pk", BigPk, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_channel_preferences_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("candidate_pk", "channel", name=op.f("pk_channel_preferences")),
    )
    op.create_table(
        "retention_runs",
        sa.Column("pk", BigPk, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("anonymised", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("started_at", When, nullable=False),
        sa.Column("finished_at", When, nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_retention_runs")),
        sa.UniqueConstraint("id", name=op.f("uq_retention_runs_id")),
    )


def downgrade() -> None:
    op.drop_table("retention_runs")
    op.drop_table("channel_preferences")
    op.drop_index("ix_consent_events_candidate", table_name="consent_events")
    op.drop_table("consent_events")
    op.drop_index(op.f("ix_erasure_tombstones_erasure_pk"), table_name="erasure_tombstones")
    op.drop_table("erasure_tombstones")
    op.drop_table("erasures")
    op.drop_table("privacy_keys")
