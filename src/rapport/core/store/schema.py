"""Tables of the core store. Alembic migrations under rapport/core/store/migrations are the
only way these reach a database; a test checks that autogenerate finds no difference.

Candidates carry a UUID `id` for clients and an integer `pk` for joins and for vector
indexes (FAISS wants int64 ids).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigPk = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class CandidateRow(Base):
    __tablename__ = "candidates"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    external_id: Mapped[str] = mapped_column(String(300), default="")
    first_name: Mapped[str] = mapped_column(String(300), default="")
    last_name: Mapped[str] = mapped_column(String(300), default="")
    headline: Mapped[str] = mapped_column(String(300), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    current_company: Mapped[str] = mapped_column(String(300), default="")
    seniority: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(300), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="")
    languages: Mapped[list] = mapped_column(JSON, default=list)
    # Ordered identity values as the client gave them (normalised); `identities` holds the
    # same values for uniqueness and lookup.
    emails: Mapped[list] = mapped_column(JSON, default=list)
    phones: Mapped[list] = mapped_column(JSON, default=list)
    profile_urls: Mapped[list] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(100), default="")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    consent_state: Mapped[str] = mapped_column(String(30), default="unknown")
    engagement_band: Mapped[str] = mapped_column(String(20), default="")
    content_hash: Mapped[str] = mapped_column(String(32), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | merged
    merged_into_pk: Mapped[int | None] = mapped_column(
        BigPk, ForeignKey("candidates.pk"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    # Few secondary indexes on purpose: each one costs every import. This one covers the
    # usual segment facets so counts need not read the wide rows (migration 0003).
    __table_args__ = (
        Index(
            "ix_candidates_facets", "country", "seniority", "status", postgresql_include=["pk"]
        ),
    )


class IdentityRow(Base):
    """Normalised email / phone / profile URL / external id. Unique across the store: the
    (value, kind) primary key is the uniqueness rule and the lookup path (by value)."""

    __tablename__ = "identities"

    value: Mapped[str] = mapped_column(String(400), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    # No foreign key, like candidate_skills: PostgreSQL checks one per row, a quarter of
    # its work in a bulk import (3-4 identities per candidate). Writers add identities
    # only for candidates they created or hold in the same transaction; candidates are
    # never deleted (merges keep both rows); whoever deletes one deletes its identities.
    candidate_pk: Mapped[int] = mapped_column(BigPk, index=True)

    __table_args__ = ({"sqlite_with_rowid": False},)


class SkillRow(Base):
    """Canonical skills known to the store (taxonomy ids and labels)."""

    __tablename__ = "skills"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    label: Mapped[str] = mapped_column(String(300))


class CandidateSkillRow(Base):
    __tablename__ = "candidate_skills"

    # No foreign keys here: at ~8 rows per candidate, PostgreSQL's per-row FK checks were
    # the largest single cost of a bulk import. Writers add catalogue rows first
    # (candidates.ensure_skills); whoever deletes a candidate deletes its skills.
    candidate_pk: Mapped[int] = mapped_column(BigPk, primary_key=True)
    skill_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, default=0)
    level: Mapped[int] = mapped_column(SmallInteger, default=0)
    years: Mapped[float] = mapped_column(Float, default=0.0)
    source: Mapped[str] = mapped_column(String(100), default="")
    evidence: Mapped[str] = mapped_column(String(1000), default="")

    __table_args__ = (
        Index("ix_candidate_skills_skill", "skill_id", "candidate_pk"),
        {"sqlite_with_rowid": False},  # the primary key is the table: one b-tree fewer
    )


class TimelineEventRow(Base):
    """Append-only. Training data for engagement models is read from here."""

    __tablename__ = "timeline_events"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    channel: Mapped[str] = mapped_column(String(20), default="")
    actor: Mapped[str] = mapped_column(String(200), default="")
    stage: Mapped[str] = mapped_column(String(40), default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_timeline_candidate_time", "candidate_pk", "occurred_at"),
        Index("ix_timeline_kind_candidate", "kind", "candidate_pk", "occurred_at"),
    )


class PoolRow(Base):
    __tablename__ = "pools"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    stages: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PoolMemberRow(Base):
    __tablename__ = "pool_members"

    pool_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("pools.pk", ondelete="CASCADE"), primary_key=True
    )
    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(40))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)
    stage_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_pool_members_candidate", "candidate_pk"),)


class SegmentRow(Base):
    __tablename__ = "segments"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    rule: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChangeFeedRow(Base):
    """One row per committed candidate write, in the same transaction (DESIGN §5)."""

    __tablename__ = "change_feed"

    seq: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    candidate_id: Mapped[str] = mapped_column(String(36))
    op: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class MergeRow(Base):
    """A merge with full before-images of both records, so unmerge restores them exactly."""

    __tablename__ = "merges"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    survivor_pk: Mapped[int] = mapped_column(BigPk, ForeignKey("candidates.pk"))
    merged_pk: Mapped[int] = mapped_column(BigPk, ForeignKey("candidates.pk"))
    reason: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict] = mapped_column(JSON)
    survivor_version_after: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200), default="")
    merged_at: Mapped[datetime] = mapped_column(UtcDateTime)
    unmerged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ImportRunRow(Base):
    """One ImportCandidates call: what came in and what it did."""

    __tablename__ = "import_runs"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    file_name: Mapped[str] = mapped_column(String(500), default="")
    format: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)


class ImportFingerprintRow(Base):
    """A digest of each import record already applied (with the options that shaped it),
    so re-importing a file skips those records without validating or writing anything."""

    __tablename__ = "import_fingerprints"

    fingerprint: Mapped[str] = mapped_column(String(32), primary_key=True)
    # No foreign key, for the same reason as identities. A fingerprint left pointing at no
    # candidate only costs that record a fresh validation (imports.known joins outwards).
    candidate_pk: Mapped[int] = mapped_column(BigPk, index=True)

    __table_args__ = ({"sqlite_with_rowid": False},)


class AuditRow(Base):
    """Append-only audit log; `prev_hash`/`hash` chain rows so tampering shows."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(200), default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(30), default="")
    target_id: Mapped[str] = mapped_column(String(36), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (Index("ix_audit_target", "target_id", "at"),)


class RoleRow(Base):
    """A job to fill; ranked against by the matching service."""

    __tablename__ = "roles"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # Everything else of the role (skills, seniority range, places, languages) as one
    # document: it is read whole and never queried by field.
    spec: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


__all__ = [
    "AuditRow",
    "Base",
    "CandidateRow",
    "CandidateSkillRow",
    "ChangeFeedRow",
    "IdentityRow",
    "ImportFingerprintRow",
    "ImportRunRow",
    "MergeRow",
    "PoolMemberRow",
    "PoolRow",
    "RoleRow",
    "SegmentRow",
    "SkillRow",
    "TimelineEventRow",
]
