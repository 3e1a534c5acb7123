"""Core store: candidates, identities, skills, timeline, pools, segments, change feed,
merges, imports and audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 20:23:04.817245
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target_type", sa.String(length=30), nullable=False),
        sa.Column("target_id", sa.String(length=36), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_target", ["target_id", "at"], unique=False)

    op.create_table(
        "candidate_skills",
        sa.Column(
            "candidate_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("skill_id", sa.String(length=200), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("years", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("evidence", sa.String(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("candidate_pk", "skill_id", name=op.f("pk_candidate_skills")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("candidate_skills", schema=None) as batch_op:
        batch_op.create_index(
            "ix_candidate_skills_skill", ["skill_id", "candidate_pk"], unique=False
        )

    op.create_table(
        "candidates",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=False),
        sa.Column("first_name", sa.String(length=300), nullable=False),
        sa.Column("last_name", sa.String(length=300), nullable=False),
        sa.Column("headline", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("current_company", sa.String(length=300), nullable=False),
        sa.Column("seniority", sa.String(length=20), nullable=False),
        sa.Column("city", sa.String(length=300), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("phones", sa.JSON(), nullable=False),
        sa.Column("profile_urls", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("consent_state", sa.String(length=30), nullable=False),
        sa.Column("engagement_band", sa.String(length=20), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "merged_into_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_pk"],
            ["candidates.pk"],
            name=op.f("fk_candidates_merged_into_pk_candidates"),
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_candidates")),
        sa.UniqueConstraint("id", name=op.f("uq_candidates_id")),
    )
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.create_index("ix_candidates_country", ["country"], unique=False)

    op.create_table(
        "change_feed",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("candidate_id", sa.String(length=36), nullable=False),
        sa.Column("op", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_change_feed")),
    )
    op.create_table(
        "import_runs",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("file_name", sa.String(length=500), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_import_runs")),
        sa.UniqueConstraint("id", name=op.f("uq_import_runs_id")),
    )
    op.create_table(
        "pools",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_pools")),
        sa.UniqueConstraint("id", name=op.f("uq_pools_id")),
        sa.UniqueConstraint("name", name=op.f("uq_pools_name")),
    )
    op.create_table(
        "segments",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_segments")),
        sa.UniqueConstraint("id", name=op.f("uq_segments_id")),
        sa.UniqueConstraint("name", name=op.f("uq_segments_name")),
    )
    op.create_table(
        "skills",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
    )
    op.create_table(
        "identities",
        sa.Column("value", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column(
            "candidate_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.PrimaryKeyConstraint("value", "kind", name=op.f("pk_identities")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identities_candidate_pk"), ["candidate_pk"], unique=False
        )

    op.create_table(
        "import_fingerprints",
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column(
            "candidate_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_import_fingerprints")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("import_fingerprints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_fingerprints_candidate_pk"), ["candidate_pk"], unique=False
        )

    op.create_table(
        "merges",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "survivor_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "merged_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("survivor_version_after", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unmerged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_pk"], ["candidates.pk"], name=op.f("fk_merges_merged_pk_candidates")
        ),
        sa.ForeignKeyConstraint(
            ["survivor_pk"], ["candidates.pk"], name=op.f("fk_merges_survivor_pk_candidates")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_merges")),
        sa.UniqueConstraint("id", name=op.f("uq_merges_id")),
    )
    op.create_table(
        "pool_members",
        sa.Column("pool_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "candidate_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_pool_members_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pool_pk"],
            ["pools.pk"],
            name=op.f("fk_pool_members_pool_pk_pools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pool_pk", "candidate_pk", name=op.f("pk_pool_members")),
    )
    with op.batch_alter_table("pool_members", schema=None) as batch_op:
        batch_op.create_index("ix_pool_members_candidate", ["candidate_pk"], unique=False)

    op.create_table(
        "timeline_events",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "candidate_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["candidates.pk"],
            name=op.f("fk_timeline_events_candidate_pk_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_timeline_events")),
        sa.UniqueConstraint("id", name=op.f("uq_timeline_events_id")),
    )
    with op.batch_alter_table("timeline_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_timeline_candidate_time", ["candidate_pk", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_timeline_kind_candidate", ["kind", "candidate_pk", "occurred_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("timeline_events", schema=None) as batch_op:
        batch_op.drop_index("ix_timeline_kind_candidate")
        batch_op.drop_index("ix_timeline_candidate_time")

    op.drop_table("timeline_events")
    with op.batch_alter_table("pool_members", schema=None) as batch_op:
        batch_op.drop_index("ix_pool_members_candidate")

    op.drop_table("pool_members")
    op.drop_table("merges")
    with op.batch_alter_table("import_fingerprints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_fingerprints_candidate_pk"))

    op.drop_table("import_fingerprints")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identities_candidate_pk"))

    op.drop_table("identities")
    op.drop_table("skills")
    op.drop_table("segments")
    op.drop_table("pools")
    op.drop_table("import_runs")
    op.drop_table("change_feed")
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_candidates_country")

    op.drop_table("candidates")
    with op.batch_alter_table("candidate_skills", schema=None) as batch_op:
        batch_op.drop_index("ix_candidate_skills_skill")

    op.drop_table("candidate_skills")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_target")

    op.drop_table("audit_log")
