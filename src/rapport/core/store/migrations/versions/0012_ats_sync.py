"""Two-way ATS sync (issue 9): links between ATS and CRM candidates, the pools that mirror
ATS jobs, the outbox of submissions and outgoing web hooks, receipts of inbound events
(idempotency) and the pull-sync cursor.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 10:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BigPk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ats_links",
        sa.Column("ats", sa.String(length=40), nullable=False),
        sa.Column("ats_candidate_id", sa.String(length=100), nullable=False),
        sa.Column("candidate_pk", BigPk, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_ats_links_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ats", "ats_candidate_id", name=op.f("pk_ats_links")),
    )
    op.create_index(op.f("ix_ats_links_candidate_pk"), "ats_links", ["candidate_pk"])
    op.create_table(
        "ats_jobs",
        sa.Column("ats", sa.String(length=40), nullable=False),
        sa.Column("ats_job_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("pool_pk", BigPk, nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_pk"], ["pools.pk"], name=op.f("fk_ats_jobs_pool_pk_pools"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ats", "ats_job_id", name=op.f("pk_ats_jobs")),
    )
    op.create_table(
        "ats_outbox",
        sa.Column("pk", BigPk, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("dedupe_key", sa.String(length=300), nullable=False),
        sa.Column("candidate_pk", BigPk, nullable=False),
        sa.Column("ats", sa.String(length=40), nullable=False),
        sa.Column("ats_job_id", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", When, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("ats_candidate_id", sa.String(length=100), nullable=False),
        sa.Column("ats_application_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_ats_outbox_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_ats_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_ats_outbox_dedupe_key")),
        sa.UniqueConstraint("id", name=op.f("uq_ats_outbox_id")),
    )
    op.create_index(op.f("ix_ats_outbox_candidate_pk"), "ats_outbox", ["candidate_pk"])
    op.create_index("ix_ats_outbox_due", "ats_outbox", ["status", "next_attempt_at"])
    op.create_table(
        "ats_receipts",
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("delivery_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("candidate_id", sa.String(length=36), nullable=False),
        sa.Column("received_at", When, nullable=False),
        sa.PrimaryKeyConstraint("source", "delivery_key", name=op.f("pk_ats_receipts")),
    )
    op.create_table(
        "ats_cursors",
        sa.Column("ats", sa.String(length=40), nullable=False),
        sa.Column("position", When, nullable=False),
        sa.PrimaryKeyConstraint("ats", name=op.f("pk_ats_cursors")),
    )


def downgrade() -> None:
    op.drop_table("ats_cursors")
    op.drop_table("ats_receipts")
    op.drop_index("ix_ats_outbox_due", table_name="ats_outbox")
    op.drop_index(op.f("ix_ats_outbox_candidate_pk"), table_name="ats_outbox")
    op.drop_table("ats_outbox")
    op.drop_table("ats_jobs")
    op.drop_index(op.f("ix_ats_links_candidate_pk"), table_name="ats_links")
    op.drop_table("ats_links")
