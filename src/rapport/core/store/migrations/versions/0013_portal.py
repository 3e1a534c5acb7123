"""Candidate portal (issue 9): one-time sign-in links (only the token's SHA-256 is kept).

Channel and topic preferences already live in channel_preferences (0009).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 10:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BigPk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "portal_sign_in_links",
        sa.Column("pk", BigPk, autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("candidate_pk", BigPk, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.Column("used_at", When, nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_portal_sign_in_links_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_portal_sign_in_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_sign_in_links_token_hash")),
    )
    op.create_index(
        op.f("ix_portal_sign_in_links_candidate_pk"), "portal_sign_in_links", ["candidate_pk"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_portal_sign_in_links_candidate_pk"), table_name="portal_sign_in_links")
    op.drop_table("portal_sign_in_links")
