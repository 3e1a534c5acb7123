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
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from rapport.core.store.sealing import EMPTY, Contacts, SealedContacts, SealedText

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
    # Emails, phones and profile URLs (ordered, normalised) sealed into one AES-GCM token
    # (rapport.core.store.sealing); `identities` holds their keyed lookup hashes for
    # uniqueness and lookup. `contact_kinds`: which kinds are present (email 1, phone 2,
    # profile URL 4), for SQL that must not open the token.
    contacts: Mapped[Contacts] = mapped_column(SealedContacts, default=EMPTY)
    contact_kinds: Mapped[int] = mapped_column(SmallInteger, default=0)
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

    # Opened values, read-only (write `contacts`; SQL sees only `contact_kinds`).
    @property
    def emails(self) -> list:
        return list(self.contacts.emails)

    @property
    def phones(self) -> list:
        return list(self.contacts.phones)

    @property
    def profile_urls(self) -> list:
        return list(self.contacts.profile_urls)

    # Few secondary indexes on purpose: each one costs every import. This one covers the
    # usual segment facets so counts need not read the wide rows (migration 0003).
    __table_args__ = (
        Index("ix_candidates_facets", "country", "seniority", "status", postgresql_include=["pk"]),
    )


class IdentityRow(Base):
    """One identity per row, unique across the store: the (value, kind) primary key is the
    uniqueness rule and the lookup path (by value). For email / phone / profile URL `value`
    is the keyed lookup hash of the normalised value (sealing.lookup_mapper), never the value;
    external ids are stored as given."""

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
    # The team of the key that created the pool (issue 7): recruiters see their team's
    # pools and the shared ones (""). Added by migration 0007.
    team: Mapped[str] = mapped_column(String(100), default="")


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
    """Append-only audit log, a hash chain: `seq` runs 1, 2, 3, ... without gaps, each row
    holds the previous row's `row_hash` and its own (see `store.audit`). Only
    `audit.record` writes it; triggers reject UPDATE and DELETE (migration 0008)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(200), default="")
    key_id: Mapped[str] = mapped_column(String(64), default="")  # the API key's id, if any
    request_id: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(30), default="")
    target_id: Mapped[str] = mapped_column(String(36), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    row_hash: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (Index("ix_audit_target", "target_id", "at"),)


class AuditHeadRow(Base):
    """The audit chain's last (seq, hash), one row (id 1): writers claim their seqs by
    updating it in their transaction, so they queue instead of forking the chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64), default="")


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


# ---------------------------------------------------------------- content (DESIGN §8)


class ContentItemRow(Base):
    """A piece of the content library: an email template, article, whitepaper, job ad or
    event invite. Subject and body are merge-tag templates checked at save time."""

    __tablename__ = "content_items"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(1000), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(2000), default="")
    topics: Mapped[list] = mapped_column(JSON, default=list)
    skills: Mapped[list] = mapped_column(JSON, default=list)
    audience: Mapped[dict] = mapped_column(JSON, default=dict)  # a segment rule; {}: everyone
    locale: Mapped[str] = mapped_column(String(35), default="")
    channels: Mapped[list] = mapped_column(JSON, default=list)
    fallbacks: Mapped[dict] = mapped_column(JSON, default=dict)
    role_id: Mapped[str] = mapped_column(String(36), default="")
    active_from: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    active_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    text_hash: Mapped[str] = mapped_column(String(32), default="")  # of the embedded text
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_content_items_kind", "kind", "pk"),)


class ContentEmbeddingRow(Base):
    """An item's vector in one encoder's space, so a restart does not re-embed the library.
    `text_hash` says which text it embeds: a stale vector is recomputed."""

    __tablename__ = "content_embeddings"

    content_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("content_items.pk", ondelete="CASCADE"), primary_key=True
    )
    encoder_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(32))
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ContentDecisionRow(Base):
    """One NextBestContent answer: who, in which context, what was eligible with which
    propensity, what was chosen (or why nothing), by which policy version; and the reward
    its outcomes earned (null until the first outcome). The log off-policy evaluation reads."""

    __tablename__ = "content_decisions"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE")
    )
    content_pk: Mapped[int | None] = mapped_column(
        BigPk, ForeignKey("content_items.pk", ondelete="CASCADE"), nullable=True
    )
    channel: Mapped[str] = mapped_column(String(20), default="email")
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    # {"ids": [content pk...], "p": [propensity...], "s": [score...], "r": [relevance...]}
    eligible: Mapped[dict] = mapped_column(JSON, default=dict)
    propensity: Mapped[float] = mapped_column(Float, default=0.0)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    relevance: Mapped[float] = mapped_column(Float, default=0.0)
    predicted_response: Mapped[float] = mapped_column(Float, default=0.0)
    no_send: Mapped[str] = mapped_column(String(30), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    policy_name: Mapped[str] = mapped_column(String(60))
    policy_version: Mapped[str] = mapped_column(String(120))
    engagement_model: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)  # human
    clicked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    replied_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    bounced_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reward: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (
        Index("ix_content_decisions_candidate", "candidate_pk", "created_at"),
        Index("ix_content_decisions_content", "content_pk", "sent_at"),
    )


class ContentOutcomeRow(Base):
    """What happened to a send (delivered, opened, clicked, replied, unsubscribed, bounced),
    once per outcome key. Machine opens are kept, flagged, and left out of rewards."""

    __tablename__ = "content_outcomes"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    outcome_key: Mapped[str] = mapped_column(String(300), unique=True)
    decision_pk: Mapped[int | None] = mapped_column(
        BigPk, ForeignKey("content_decisions.pk", ondelete="CASCADE"), nullable=True, index=True
    )
    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE")
    )
    content_pk: Mapped[int | None] = mapped_column(
        BigPk, ForeignKey("content_items.pk", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    machine: Mapped[bool] = mapped_column(Boolean, default=False)
    machine_reason: Mapped[str] = mapped_column(String(30), default="")
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    timeline_event_id: Mapped[str] = mapped_column(String(36), default="")
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_content_outcomes_candidate", "candidate_pk", "content_pk", "kind"),)


# ---------------------------------------------------------------- outreach (DESIGN §8)


class OutreachSequenceRow(Base):
    """A nurture sequence. Immutable once saved: enrolments point into its steps."""

    __tablename__ = "outreach_sequences"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    stop_on: Mapped[list] = mapped_column(JSON, default=list)  # reply | unsubscribe | application
    sender_name: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutreachStepRow(Base):
    """One step of a sequence; `next_position` -1 ends the sequence after it."""

    __tablename__ = "outreach_steps"

    sequence_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("outreach_sequences.pk", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20), default="email")
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    content_id: Mapped[str] = mapped_column(String(36), default="")
    delay_s: Mapped[int] = mapped_column(Integer, default=0)
    condition: Mapped[str] = mapped_column(String(20), default="")  # "" | not_opened | no_reply
    next_key: Mapped[str] = mapped_column(String(100), default="")
    next_position: Mapped[int] = mapped_column(SmallInteger, default=-1)


class OutreachEnrolmentRow(Base):
    """A person in a sequence: active (with the next step due at), completed, or stopped
    with a reason. At most one active enrolment per (sequence, candidate)."""

    __tablename__ = "outreach_enrolments"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    sequence_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("outreach_sequences.pk", ondelete="CASCADE")
    )
    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE")
    )
    state: Mapped[str] = mapped_column(String(12), default="active")
    stop_reason: Mapped[str] = mapped_column(String(30), default="")
    step_position: Mapped[int] = mapped_column(SmallInteger, default=0)  # -1: none left
    next_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    source: Mapped[str] = mapped_column(String(80), default="manual")
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Which scheduler holds the due step, since when (its sends are 'sending' meanwhile).
    claimed_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        Index("ix_outreach_enrolments_due", "state", "next_due_at"),
        Index("ix_outreach_enrolments_candidate", "candidate_pk", "state"),
        Index(
            "uq_outreach_enrolments_active",
            "sequence_pk",
            "candidate_pk",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
    )


class OutreachSendRow(Base):
    """One (enrolment, step): the idempotency key makes a second row impossible, the state
    says how far it got (queued -> sending -> sent | failed; skipped when not due to go)."""

    __tablename__ = "outreach_sends"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    enrolment_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("outreach_enrolments.pk", ondelete="CASCADE")
    )
    step_position: Mapped[int] = mapped_column(SmallInteger)
    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE")
    )
    state: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(300), default="")
    # sealed (rapport.core.store.sealing); to_hash: its keyed lookup hash, for replies
    to_address: Mapped[str] = mapped_column(SealedText(400), default="")
    to_hash: Mapped[str] = mapped_column(String(32), default="")
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)  # reply+/unsubscribe links
    subject: Mapped[str] = mapped_column(String(1000), default="")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    worker: Mapped[str] = mapped_column(String(40), default="")
    smtp_response: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        Index("ix_outreach_sends_enrolment", "enrolment_pk", "step_position"),
        Index("ix_outreach_sends_to_hash", "to_hash", "sent_at"),
    )


class OutreachTriggerRow(Base):
    """An event trigger (a timeline kind with payload matches) or a time trigger (dormant
    for N days), and what it does: tag, add to a pool, enrol in a sequence."""

    __tablename__ = "outreach_triggers"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # event | dormant
    event_kind: Mapped[str] = mapped_column(String(40), default="")
    payload_equals: Mapped[dict] = mapped_column(JSON, default=dict)
    dormant_days: Mapped[int] = mapped_column(Integer, default=0)
    segment_id: Mapped[str] = mapped_column(String(36), default="")
    actions: Mapped[dict] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class OutreachTriggerFiringRow(Base):
    """Each time a trigger acted on someone; (trigger, event) is unique so an event trigger
    fires once per timeline event however often the scheduler rescans."""

    __tablename__ = "outreach_trigger_firings"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    trigger_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("outreach_triggers.pk", ondelete="CASCADE")
    )
    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE"), index=True
    )
    event_pk: Mapped[int | None] = mapped_column(BigPk, nullable=True)  # None: a time trigger
    outcome: Mapped[str] = mapped_column(String(200), default="")
    fired_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("trigger_pk", "event_pk"),)


class OutreachReplyRow(Base):
    """An inbound reply, recorded once (by its own Message-ID) whether matched or not."""

    __tablename__ = "outreach_replies"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    send_pk: Mapped[int | None] = mapped_column(
        BigPk, ForeignKey("outreach_sends.pk", ondelete="CASCADE"), nullable=True
    )
    candidate_pk: Mapped[int | None] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE"), nullable=True, index=True
    )
    method: Mapped[str] = mapped_column(String(20), default="none")
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)  # out of office, a report
    subject: Mapped[str] = mapped_column(String(1000), default="")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutreachCursorRow(Base):
    """Where a follower of an append-only table got to (the trigger scan of the timeline)."""

    __tablename__ = "outreach_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


# ---------------------------------------------------------------- analytics (issue 8)


class CandidateDemographicsRow(Base):
    """Self-reported, optional answers (sex, race/ethnicity) for adverse-impact reports
    only. Restricted: `rapport.core.store.demographics` is the only reader and returns
    aggregates, never a person's answers. Deleted with the candidate (erasure)."""

    __tablename__ = "candidate_demographics"

    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE"), primary_key=True
    )
    sex: Mapped[str] = mapped_column(String(20), default="")
    race_ethnicity: Mapped[str] = mapped_column(String(40), default="")
    source: Mapped[str] = mapped_column(String(40), default="self_reported")
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AnalyticsVariantRow(Base):
    """What a send was: channel, template, sequence and step, content item. Sends point
    here, so a campaign report groups by one integer instead of five strings."""

    __tablename__ = "analytics_variants"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(20), default="")
    template: Mapped[str] = mapped_column(String(200), default="")
    sequence_id: Mapped[str] = mapped_column(String(36), default="")
    step: Mapped[str] = mapped_column(String(100), default="")
    content_id: Mapped[str] = mapped_column(String(36), default="")

    __table_args__ = (UniqueConstraint("channel", "template", "sequence_id", "step", "content_id"),)


class AnalyticsSendRow(Base):
    """One row per outbound touch on the timeline (email_sent, sms_sent) and what came of
    it: the fact table campaign and pipeline reports aggregate. Derived from the timeline,
    never edited by hand: `core.store.analytics` follows the timeline by pk
    (`analytics_cursors`) and attributes each outcome to the latest earlier send of the
    same thread (payload send_id or campaign) and person. A rebuild gives the same rows.

    `outcomes` is a bit set (see `core.store.analytics.BITS`), so that the report's one
    GROUP BY reads a narrow covering index (variant, outcomes, sent_at) and no table row."""

    __tablename__ = "analytics_sends"

    event_pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=False)
    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE")
    )
    variant_pk: Mapped[int] = mapped_column(BigPk, ForeignKey("analytics_variants.pk"))
    thread: Mapped[str] = mapped_column(String(100), default="")  # send_id or campaign
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    outcomes: Mapped[int] = mapped_column(Integer, default=0)
    # Days since the person's previous contact or response; None: the first touch ever.
    quiet_days: Mapped[float | None] = mapped_column(Float, nullable=True)
    replied_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        # covering for reply times and dormant touches in a date range
        Index("ix_analytics_sends_time", "sent_at", "quiet_days", "replied_at"),
        Index("ix_analytics_sends_thread", "candidate_pk", "thread", "sent_at"),
        # the campaign report: (variant, outcomes) groups counted from the index alone
        Index("ix_analytics_sends_variant", "variant_pk", "outcomes", "sent_at"),
    )


class AnalyticsPersonRow(Base):
    """Per person, the first time they were contacted, replied and reached each pipeline
    stage (from stage_changed events): source quality and the funnel read one narrow row
    per person instead of their whole timeline. Derived, like analytics_sends."""

    __tablename__ = "analytics_people"

    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE"), primary_key=True
    )
    first_contact_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    first_reply_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    contacted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    engaged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    screen_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    interview_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    final_round_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    offer_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    hired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class AnalyticsCursorRow(Base):
    """How far a follower of the timeline got (pk), and what it could not attribute."""

    __tablename__ = "analytics_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    unattributed: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


# ---------------------------------------------------------------- auth (DESIGN §9)


class ApiKeyRow(Base):
    """An API key: looked up by its public prefix, checked against the SHA-256 of the whole
    token (keys are 256-bit random, so a fast hash is right; the plaintext is never stored).
    `scopes` lists what a scoped role may see, e.g. ["pool:<id>", "role:<id>"]."""

    __tablename__ = "api_keys"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(30))
    team: Mapped[str] = mapped_column(String(100), default="")
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


# ---------------------------------------------------------------- privacy (issue 7, B1)


class PrivacyKeyRow(Base):
    """Per-installation secrets of the privacy layer (the tombstone salt), made on first use."""

    __tablename__ = "privacy_keys"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ErasureRow(Base):
    """One erasure at a person's request: which record id went, when, by whom. No personal
    data: `reference` is the request's ticket or reason as given (a free text the caller
    must keep free of personal data, as the audit row)."""

    __tablename__ = "erasures"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    candidate_id: Mapped[str] = mapped_column(String(36), unique=True)
    reference: Mapped[str] = mapped_column(String(300), default="")
    actor: Mapped[str] = mapped_column(String(200), default="")
    identities: Mapped[int] = mapped_column(Integer, default=0)
    records: Mapped[int] = mapped_column(Integer, default=1)  # the record and its merged-in
    erased_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ErasureTombstoneRow(Base):
    """A keyed hash (HMAC-SHA256, installation salt) of one normalised identity of an erased
    person, so that importing or creating them again is refused without keeping who they were."""

    __tablename__ = "erasure_tombstones"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    erasure_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("erasures.pk", ondelete="CASCADE"), index=True
    )


class ConsentEventRow(Base):
    """Consent history: every change of a person's consent state (the candidate row holds
    the current one), with its lawful basis, where it came from and who recorded it."""

    __tablename__ = "consent_events"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE")
    )
    state: Mapped[str] = mapped_column(String(30))
    basis: Mapped[str] = mapped_column(String(30), default="")  # consent | legitimate_interest
    source: Mapped[str] = mapped_column(String(100), default="")
    channel: Mapped[str] = mapped_column(String(20), default="")  # "" all channels
    actor: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_consent_events_candidate", "candidate_pk", "recorded_at"),)


class ChannelPreferenceRow(Base):
    """Per person and channel: may we use it, and for which topics only (empty: any)."""

    __tablename__ = "channel_preferences"

    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    topics: Mapped[list] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RetentionRunRow(Base):
    """One retention run (or dry run): the policy applied and how many records it changed."""

    __tablename__ = "retention_runs"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    policy: Mapped[dict] = mapped_column(JSON, default=dict)
    anonymised: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


# ---------------------------------------------------------------- scheduling (issue 9)


class CalendarRow(Base):
    """A recruiter's availability: working hours and slot rules, and where busy events come
    from (an ICS feed URL, or a document given inline). `ics` holds the inline document or
    the last good copy of the feed, read at `feed_read_at`. The owner's address is a work
    address of the recruiting team, not candidate data."""

    __tablename__ = "calendars"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    owner_name: Mapped[str] = mapped_column(String(300), default="")
    owner_email: Mapped[str] = mapped_column(String(320), unique=True)  # normalised
    timezone: Mapped[str] = mapped_column(String(64))
    feed_url: Mapped[str] = mapped_column(String(2000), default="")
    ics: Mapped[str] = mapped_column(Text, default="")
    working_hours: Mapped[list] = mapped_column(JSON, default=list)  # [[weekday, "HH:MM", ..]]
    slot_minutes: Mapped[int] = mapped_column(SmallInteger, default=30)
    buffer_minutes: Mapped[int] = mapped_column(SmallInteger, default=0)
    min_notice_hours: Mapped[int] = mapped_column(SmallInteger, default=12)
    horizon_days: Mapped[int] = mapped_column(SmallInteger, default=14)
    busy_events: Mapped[int] = mapped_column(Integer, default=0)
    feed_read_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BookingRow(Base):
    """A call a candidate booked on a calendar. At most one active booking starts at a
    given time on a calendar: the partial unique index is what makes two racing bookers
    of one slot end with exactly one winner, on SQLite and PostgreSQL alike."""

    __tablename__ = "bookings"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    calendar_pk: Mapped[int] = mapped_column(BigPk, ForeignKey("calendars.pk", ondelete="CASCADE"))
    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    timezone: Mapped[str] = mapped_column(String(64))  # the candidate's, for labels
    status: Mapped[str] = mapped_column(String(12), default="booked")  # booked | cancelled
    note: Mapped[str] = mapped_column(String(1000), default="")  # the candidate's own words
    cancel_reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        Index(
            "uq_bookings_active_start",
            "calendar_pk",
            "starts_at",
            unique=True,
            sqlite_where=text("status = 'booked'"),
            postgresql_where=text("status = 'booked'"),
        ),
    )


__all__ = [
    "AnalyticsCursorRow",
    "AnalyticsPersonRow",
    "AnalyticsSendRow",
    "AnalyticsVariantRow",
    "ApiKeyRow",
    "AuditHeadRow",
    "AuditRow",
    "Base",
    "BookingRow",
    "CalendarRow",
    "CandidateDemographicsRow",
    "CandidateRow",
    "CandidateSkillRow",
    "ChangeFeedRow",
    "ChannelPreferenceRow",
    "ConsentEventRow",
    "ContentDecisionRow",
    "ContentEmbeddingRow",
    "ContentItemRow",
    "ContentOutcomeRow",
    "ErasureRow",
    "ErasureTombstoneRow",
    "IdentityRow",
    "ImportFingerprintRow",
    "ImportRunRow",
    "MergeRow",
    "OutreachCursorRow",
    "OutreachEnrolmentRow",
    "OutreachReplyRow",
    "OutreachSendRow",
    "OutreachSequenceRow",
    "OutreachStepRow",
    "OutreachTriggerFiringRow",
    "OutreachTriggerRow",
    "PoolMemberRow",
    "PoolRow",
    "PrivacyKeyRow",
    "RetentionRunRow",
    "RoleRow",
    "SegmentRow",
    "SkillRow",
    "TimelineEventRow",
]


# ---------------------------------------------------------------- ATS sync (issue 9)


class AtsLinkRow(Base):
    """Which CRM candidate an ATS candidate is: web hooks name the ATS's ids, and a person
    found once (by email, or created) is found by this link from then on."""

    __tablename__ = "ats_links"

    ats: Mapped[str] = mapped_column(String(40), primary_key=True)
    ats_candidate_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AtsJobRow(Base):
    """The pool that mirrors one ATS job: its members' stages follow the ATS stages."""

    __tablename__ = "ats_jobs"

    ats: Mapped[str] = mapped_column(String(40), primary_key=True)
    ats_job_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    pool_pk: Mapped[int] = mapped_column(BigPk, ForeignKey("pools.pk", ondelete="CASCADE"))


class AtsOutboxRow(Base):
    """What the CRM owes the ATS and web hook subscribers: submissions of candidates to
    jobs and outgoing events, each delivered with retries by the ATS worker.
    `dedupe_key` makes a retried request land on the row already queued."""

    __tablename__ = "ats_outbox"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # submission | webhook
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE"), index=True
    )
    ats: Mapped[str] = mapped_column(String(40), default="")
    ats_job_id: Mapped[str] = mapped_column(String(100), default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)  # ids only, never contacts
    status: Mapped[str] = mapped_column(String(20))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    ats_candidate_id: Mapped[str] = mapped_column(String(100), default="")
    ats_application_id: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_ats_outbox_due", "status", "next_attempt_at"),)


class AtsReceiptRow(Base):
    """Every inbound ATS event once: a redelivered web hook or a re-synced application
    finds its receipt and changes nothing again."""

    __tablename__ = "ats_receipts"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    delivery_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    outcome: Mapped[str] = mapped_column(String(20))  # applied | refused | duplicate
    candidate_id: Mapped[str] = mapped_column(String(36), default="")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AtsCursorRow(Base):
    """How far the pull sync has read an ATS (applications changed up to `position`)."""

    __tablename__ = "ats_cursors"

    ats: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[datetime] = mapped_column(UtcDateTime)


# ---------------------------------------------------------------- candidate portal (issue 9)


class SignInLinkRow(Base):
    """One single-use sign-in link of the candidate portal. Only the SHA-256 of the token
    is kept (a database reader cannot sign in with it); a link is used at most once
    (`used_at`) and only before `expires_at`. Links go with the person (cascade, and the
    erasure deletes them explicitly)."""

    __tablename__ = "portal_sign_in_links"

    pk: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    candidate_pk: Mapped[int] = mapped_column(
        BigPk, ForeignKey("candidates.pk", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
