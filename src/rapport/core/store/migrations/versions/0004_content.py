"""Content: the library (items and their vectors per encoder), the decision log of
NextBestContent (eligible set with propensities, choice, policy version, reward) and the
outcomes reported for each send.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 01:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "content_items",
        sa.Column("pk", PK, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("fallbacks", sa.JSON(), nullable=False),
        sa.Column("role_id", sa.String(length=36), nullable=False),
        _when("active_from", nullable=True),
        _when("active_until", nullable=True),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_content_items")),
        sa.UniqueConstraint("id", name=op.f("uq_content_items_id")),
    )
    op.create_index("ix_content_items_kind", "content_items", ["kind", "pk"])
    op.create_table(
        "content_embeddings",
        sa.Column("content_pk", PK, nullable=False),
        sa.Column("encoder_id", sa.String(length=100), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["content_pk"],
            ["content_items.pk"],
            name=op.f("fk_content_embeddings_content_pk_content_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("content_pk", "encoder_id", name=op.f("pk_content_embeddings")),
    )
    op.create_table(
        "content_decisions",
        sa.Column("pk", PK, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("candidate_pk", PK, nullable=False),
        sa.Column("content_pk", PK, nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("eligible", sa.JSON(), nullable=False),
        sa.Column("propensity", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("relevance", sa.Float(), nullable=False),
        sa.Column("predicted_response", sa.Float(), nullable=False),
        sa.Column("no_send", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("policy_name", sa.String(length=60), nullable=False),
        sa.Column("policy_version", sa.String(length=120), nullable=False),
        sa.Column("engagement_model", sa.String(length=120), nullable=False),
        _when("created_at"),
        _when("sent_at", nullable=True),
        _when("opened_at", nullable=True),
        _when("clicked_at", nullable=True),
        _when("replied_at", nullable=True),
        _when("unsubscribed_at", nullable=True),
        _when("bounced_at", nullable=True),
        sa.Column("reward", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_content_decisions_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["content_pk"],
            ["content_items.pk"],
            name=op.f("fk_content_decisions_content_pk_content_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_content_decisions")),
        sa.UniqueConstraint("id", name=op.f("uq_content_decisions_id")),
    )
    op.create_index(
        "ix_content_decisions_candidate", "content_decisions", ["candidate_pk", "created_at"]
    )
    op.create_index("ix_content_decisions_content", "content_decisions", ["content_pk", "sent_at"])
    op.create_table(
        "content_outcomes",
        sa.Column("pk", PK, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("outcome_key", sa.String(length=300), nullable=False),
        sa.Column("decision_pk", PK, nullable=True),
        sa.Column("candidate_pk", PK, nullable=False),
        sa.Column("content_pk", PK, nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        _when("occurred_at"),
        sa.Column("machine", sa.Boolean(), nullable=False),
        sa.Column("machine_reason", sa.String(length=30), nullable=False),
        sa.Column("user_agent", sa.String(length=500), nullable=False),
        sa.Column("timeline_event_id", sa.String(length=36), nullable=False),
        _when("recorded_at"),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_content_outcomes_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["content_pk"],
            ["content_items.pk"],
            name=op.f("fk_content_outcomes_content_pk_content_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decision_pk"],
            ["content_decisions.pk"],
            name=op.f("fk_content_outcomes_decision_pk_content_decisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_content_outcomes")),
        sa.UniqueConstraint("id", name=op.f("uq_content_outcomes_id")),
        sa.UniqueConstraint("outcome_key", name=op.f("uq_content_outcomes_outcome_key")),
    )
    op.create_index(
        "ix_content_outcomes_candidate",
        "content_outcomes",
        ["candidate_pk", "content_pk", "kind"],
    )
    op.create_index(op.f("ix_content_outcomes_decision_pk"), "content_outcomes", ["decision_pk"])


def downgrade() -> None:
    op.drop_index(op.f("ix_content_outcomes_decision_pk"), table_name="content_outcomes")
    op.drop_index("ix_content_outcomes_candidate", table_name="content_outcomes")
    op.drop_table("content_outcomes")
    op.drop_index("ix_content_decisions_content", table_name="content_decisions")
    op.drop_index("ix_content_decisions_candidate", table_name="content_decisions")
    op.drop_table("content_decisions")
    op.drop_table("content_embeddings")
    op.drop_index("ix_content_items_kind", table_name="content_items")
    op.drop_table("content_items")
