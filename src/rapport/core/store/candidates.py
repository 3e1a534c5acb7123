"""Candidates and their identities and skills: reads, writes and the bulk upsert that
imports use. Every write bumps the version, appends to the change feed and the audit log
in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from rapport.core.domain import (
    ENGAGEMENT_BANDS,
    Candidate,
    CandidateDraft,
    ConsentState,
    IdentityKind,
    Page,
    Rule,
    Seniority,
    SkillClaim,
)
from rapport.core.errors import (
    AlreadyExists,
    NotFound,
    PreconditionFailed,
    StaleVersion,
    ValidationFailed,
    Violation,
)
from rapport.core.ids import uuid7, uuid7s
from rapport.core.privacy import ERASED_MESSAGE
from rapport.core.store import audit, bulk, feed, paging, sealing, tombstones
from rapport.core.store.db import dialect_insert
from rapport.core.store.rules import compile_for_count, compile_rule
from rapport.core.store.schema import CandidateRow, CandidateSkillRow, IdentityRow, SkillRow
from rapport.core.store.sealing import Contacts, kinds_mask

ACTIVE = "active"
MERGED = "merged"


# ---------------------------------------------------------------- row <-> domain


def row_values(draft: CandidateDraft, content_hash: str = "") -> dict:
    """Column values for a draft (identities and skills live in their own tables)."""
    return dict(zip(_ROW_FIELDS, _row_tuple(draft), strict=True)) | {
        "content_hash": content_hash or draft.content_hash()
    }


_ROW_FIELDS = (
    "external_id",
    "first_name",
    "last_name",
    "headline",
    "summary",
    "current_company",
    "seniority",
    "city",
    "country",
    "timezone",
    "languages",
    "contacts",
    "contact_kinds",
    "source",
    "tags",
)
_NEW_CANDIDATE_COLUMNS = (
    "pk",
    "id",
    *_ROW_FIELDS,
    "content_hash",
    "version",
    "status",
    "consent_state",
    "engagement_band",
    "created_at",
    "updated_at",
)


def _row_tuple(draft: CandidateDraft) -> tuple:
    """The candidates columns a draft fills, in `_ROW_FIELDS` order (the bulk insert of
    an import builds its rows from this, with no dict per row). Lists are the draft's."""
    return (
        draft.external_id,
        draft.first_name,
        draft.last_name,
        draft.headline,
        draft.summary,
        draft.current_company,
        str(draft.seniority),
        draft.city,
        draft.country,
        draft.timezone,
        draft.languages,
        Contacts(draft.emails, draft.phones, draft.profile_urls),  # sealed by the column type
        kinds_mask(draft.emails, draft.phones, draft.profile_urls),
        draft.source,
        draft.tags,
    )


def _to_domain(row, skills: Sequence[SkillClaim], merged_into: str) -> Candidate:
    contacts = row.contacts  # opened by the column type
    return Candidate(
        id=row.id,
        pk=row.pk,
        external_id=row.external_id,
        first_name=row.first_name,
        last_name=row.last_name,
        emails=list(contacts.emails),
        phones=list(contacts.phones),
        profile_urls=list(contacts.profile_urls),
        headline=row.headline,
        summary=row.summary,
        current_company=row.current_company,
        seniority=Seniority(row.seniority),
        city=row.city,
        country=row.country,
        timezone=row.timezone,
        languages=list(row.languages),
        skills=list(skills),
        source=row.source,
        tags=list(row.tags),
        version=row.version,
        consent_state=ConsentState(row.consent_state),
        engagement_band=row.engagement_band,
        merged_into=merged_into,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


CANDIDATES = CandidateRow.__table__
CANDIDATE_SKILLS = CandidateSkillRow.__table__
IDENTITIES = IdentityRow.__table__
_SKILL_ROW_COLUMNS = (
    "candidate_pk",
    "skill_id",
    "position",
    "level",
    "years",
    "source",
    "evidence",
)
_SKILL_COLUMNS = (
    CANDIDATE_SKILLS.c.candidate_pk,
    CANDIDATE_SKILLS.c.skill_id,
    SkillRow.label,
    CANDIDATE_SKILLS.c.level,
    CANDIDATE_SKILLS.c.years,
    CANDIDATE_SKILLS.c.source,
    CANDIDATE_SKILLS.c.evidence,
)


def load_many(session: Session, pks: Sequence[int]) -> list[Candidate]:
    """Candidates for `pks`, in that order, with skills; missing pks are skipped.

    Core selects, not ORM entities: this is the read path of every page and import batch.
    """
    if not pks:
        return []
    rows = {
        r.pk: r
        for r in session.execute(
            select(CANDIDATES).where(bulk.member_of(session, CANDIDATES.c.pk, pks))
        )
    }
    skills: dict[int, list[SkillClaim]] = {}
    for pk, *claim in session.execute(
        select(*_SKILL_COLUMNS)
        .join(SkillRow, SkillRow.id == CANDIDATE_SKILLS.c.skill_id)
        .where(bulk.member_of(session, CANDIDATE_SKILLS.c.candidate_pk, pks))
        .order_by(CANDIDATE_SKILLS.c.candidate_pk, CANDIDATE_SKILLS.c.position)
    ):
        skills.setdefault(pk, []).append(SkillClaim(*claim))
    survivor_pks = {r.merged_into_pk for r in rows.values() if r.merged_into_pk}
    survivor_ids = (
        dict(
            session.execute(
                select(CANDIDATES.c.pk, CANDIDATES.c.id).where(CANDIDATES.c.pk.in_(survivor_pks))
            ).all()
        )
        if survivor_pks
        else {}
    )
    return [
        _to_domain(rows[pk], skills.get(pk, ()), survivor_ids.get(rows[pk].merged_into_pk, ""))
        for pk in pks
        if pk in rows
    ]


def pk_for(session: Session, candidate_id: str, *, lock: bool = False) -> int:
    """The integer key of a candidate id, or NotFound (ids that are not UUIDs included)."""
    try:
        uuid.UUID(candidate_id)
    except (ValueError, AttributeError, TypeError):
        raise NotFound("candidate", candidate_id) from None
    stmt = select(CandidateRow.pk).where(CandidateRow.id == candidate_id)
    if lock and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    pk = session.execute(stmt).scalar_one_or_none()
    if pk is None:
        raise NotFound("candidate", candidate_id)
    return pk


def get(session: Session, candidate_id: str) -> Candidate:
    return load_many(session, [pk_for(session, candidate_id)])[0]


# ---------------------------------------------------------------- writing helpers


def ensure_skills(session: Session, claims: Iterable[SkillClaim]) -> None:
    """Add unseen canonical skills to the catalogue (idempotent under concurrency)."""
    labels = {c.skill_id: c.label for c in claims}
    if not labels:
        return
    known = set(
        session.execute(
            select(SkillRow.id).where(bulk.member_of(session, SkillRow.id, labels))
        ).scalars()
    )
    missing = [{"id": k, "label": v} for k, v in labels.items() if k not in known]
    if missing:
        session.execute(dialect_insert(session, SkillRow).on_conflict_do_nothing(), missing)


def _skill_rows(pk: int, claims: Sequence[SkillClaim]) -> list[dict]:
    return [
        {
            "candidate_pk": pk,
            "skill_id": c.skill_id,
            "position": i,
            "level": c.level,
            "years": c.years,
            "source": c.source,
            "evidence": c.evidence,
        }
        for i, c in enumerate(claims)
    ]


_EMAIL, _PHONE, _PROFILE_URL, _EXTERNAL_ID = (
    IdentityKind.EMAIL.value,
    IdentityKind.PHONE.value,
    IdentityKind.PROFILE_URL.value,
    IdentityKind.EXTERNAL_ID.value,
)


def identity_keys(draft: CandidateDraft) -> list[tuple[str, str]]:
    """`draft.identities()` as (kind, value) string pairs, in the same order; the import
    path asks twice per record, and enum member lookups are slow."""
    out = [(_EMAIL, e) for e in draft.emails]
    out += [(_PHONE, p) for p in draft.phones]
    out += [(_PROFILE_URL, u) for u in draft.profile_urls]
    if draft.external_id:
        out.append((_EXTERNAL_ID, draft.external_id))
    return out


def new_pks(session: Session, n: int) -> list[int]:
    """`n` unused candidate keys, ascending, so a batch's rows in every table can be built
    before any is written. PostgreSQL draws them from the key's sequence (as the column
    default would); SQLite continues after the largest key (as its rowid choice would),
    which the writer's transaction keeps stable."""
    if n <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return sorted(
            session.execute(
                text(
                    # the sequence's name is looked up once, not once per key
                    "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('candidates', 'pk')"
                    "::regclass AS seq) SELECT nextval(s.seq) FROM s, generate_series(1, :n)"
                ),
                {"n": n},
            ).scalars()
        )
    last = session.execute(select(func.coalesce(func.max(CANDIDATES.c.pk), 0))).scalar_one()
    return list(range(last + 1, last + n + 1))


def identity_owners(
    session: Session,
    pairs: Iterable[tuple[str, str]],
    stored: sealing.StoredValues | None = None,
) -> dict[tuple[str, str], int]:
    """Which candidate pk holds each (kind, value) identity, for those that are held.
    Contact kinds are looked up by their keyed hash (the identities table holds no values);
    `stored` caches those hashes across calls."""
    by_stored = sealing.stored_pairs(session, set(pairs), stored)
    if not by_stored:
        return {}
    values = {v for _, v in by_stored}
    found: dict[tuple[str, str], int] = {}
    rows = session.execute(
        select(IdentityRow.kind, IdentityRow.value, IdentityRow.candidate_pk).where(
            bulk.member_of(session, IdentityRow.value, values)
        )
    )
    for kind, value, pk in rows:
        pair = by_stored.get((kind, value))
        if pair is not None:
            found[pair] = pk
    return found


def _field_for(kind: str, draft: CandidateDraft, value: str) -> str:
    lists = {"email": draft.emails, "phone": draft.phones, "profile_url": draft.profile_urls}
    if kind == IdentityKind.EXTERNAL_ID:
        return "external_id"
    name = kind + "s"
    return f"{name}[{lists[kind].index(value)}]"


def check_identities_free(session: Session, draft: CandidateDraft, owner_pk: int | None) -> None:
    """AlreadyExists when an identity of the draft belongs to another candidate;
    PreconditionFailed when it belonged to someone erased (a tombstone holds its hash)."""
    erased = tombstones.erased_keys(session, identity_keys(draft))
    if erased:
        kind, value = sorted(erased)[0]
        raise PreconditionFailed(
            f"{_field_for(kind, draft, value)}: this person was {ERASED_MESSAGE}; "
            "they may not be added again"
        )
    owners = identity_owners(session, [(str(k), v) for k, v in draft.identities()])
    taken = [(kv, pk) for kv, pk in owners.items() if pk != owner_pk]
    if taken:
        ids = dict(
            session.execute(
                select(CandidateRow.pk, CandidateRow.id).where(
                    CandidateRow.pk.in_([pk for _, pk in taken])
                )
            ).all()
        )
        (kind, value), pk = taken[0]
        field = _field_for(kind, draft, value)
        raise AlreadyExists(f"{field}: {kind} {value!r} already belongs to candidate {ids[pk]}")


def sync_identities(
    session: Session, pk: int, draft: CandidateDraft, previous_external_id: str = ""
) -> None:
    """Make the identities table hold the draft's identities for this candidate.

    External ids other than the record's own (gained by merging in another record) stay,
    so re-imports from either source system still find the survivor.
    """
    stored = sealing.lookup_mapper(session)
    previous_external_id = stored(_EXTERNAL_ID, previous_external_id)
    wanted = {(str(k), stored(str(k), v)) for k, v in draft.identities()}
    have = set(
        session.execute(
            select(IdentityRow.kind, IdentityRow.value).where(IdentityRow.candidate_pk == pk)
        )
    )
    stale = {
        (k, v)
        for k, v in have - wanted
        if k != IdentityKind.EXTERNAL_ID or v == previous_external_id
    }
    for kind, value in stale:
        session.execute(
            delete(IdentityRow).where(
                IdentityRow.candidate_pk == pk, IdentityRow.kind == kind, IdentityRow.value == value
            )
        )
    new = [{"candidate_pk": pk, "kind": k, "value": v} for k, v in wanted - have]
    if new:
        session.execute(insert(IDENTITIES), new)


def replace_skills(session: Session, pk: int, claims: Sequence[SkillClaim]) -> None:
    session.execute(delete(CandidateSkillRow).where(CandidateSkillRow.candidate_pk == pk))
    if claims:
        ensure_skills(session, claims)
        session.execute(insert(CANDIDATE_SKILLS), _skill_rows(pk, claims))


# ---------------------------------------------------------------- single-record writes


def create(
    session: Session,
    draft: CandidateDraft,
    *,
    created_at: datetime | None = None,
    candidate_id: str | None = None,
) -> Candidate:
    check_identities_free(session, draft, None)
    now = datetime.now(UTC)
    values = row_values(draft) | {
        "id": candidate_id or uuid7(),
        "version": 1,
        "status": ACTIVE,
        "consent_state": ConsentState.UNKNOWN.value,
        "engagement_band": "",
        "created_at": created_at or now,
        "updated_at": now,
    }
    pk = session.execute(insert(CANDIDATES).returning(CANDIDATES.c.pk), values).scalar_one()
    sync_identities(session, pk, draft)
    replace_skills(session, pk, draft.skills)
    feed.append(session, [(values["id"], "created")])
    audit.record(session, "candidate.create", [values["id"]])
    return load_many(session, [pk])[0]


def update(
    session: Session, candidate_id: str, draft: CandidateDraft, expected_version: int = 0
) -> Candidate:
    """Replace the writable fields; ABORTED (StaleVersion) if someone wrote in between."""
    pk = pk_for(session, candidate_id, lock=True)
    row = session.get(CandidateRow, pk)
    if row.status != ACTIVE:
        raise ValidationFailed(
            Violation(
                "candidate.id", "candidate was merged into another; update the surviving record"
            )
        )
    if expected_version and row.version != expected_version:
        raise StaleVersion("candidate", candidate_id, expected_version, row.version)
    values = row_values(draft)
    if values["content_hash"] == row.content_hash:
        return load_many(session, [pk])[0]
    check_identities_free(session, draft, pk)
    result = session.execute(
        sql_update(CandidateRow)
        .where(CandidateRow.pk == pk, CandidateRow.version == row.version)
        .values(**values, version=row.version + 1, updated_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # a concurrent writer won between our read and write
        current = session.execute(
            select(CandidateRow.version).where(CandidateRow.pk == pk)
        ).scalar_one()
        raise StaleVersion("candidate", candidate_id, row.version, current)
    sync_identities(session, pk, draft, previous_external_id=row.external_id)
    replace_skills(session, pk, draft.skills)
    feed.append(session, [(candidate_id, "updated")])
    changed = {
        k
        for k, v in values.items()
        if getattr(row, k, v) != v and k not in ("content_hash", "contacts", "contact_kinds")
    }
    changed.update(
        name
        for name, old, new in zip(Contacts._fields, row.contacts, values["contacts"], strict=True)
        if list(old) != list(new)
    )
    audit.record(session, "candidate.update", [candidate_id], details={"fields": sorted(changed)})
    session.expire(row)
    return load_many(session, [pk])[0]


# ---------------------------------------------------------------- listing


def list_page(
    session: Session,
    rule: Rule,
    size: int,
    token: str,
    *,
    now: datetime | None = None,
    count: bool = False,
) -> Page:
    """Active candidates matching `rule`, in creation order, one keyset page at a time.

    The page and the count are separate queries: the page stops after `size` matches in key
    order, which a window count over the same query would prevent on PostgreSQL.
    """
    size = paging.page_size(size)
    after = paging.decode(token)
    now = now or datetime.now(UTC)
    where = [CandidateRow.status == ACTIVE, *compile_rule(rule, now)]
    pks = list(
        session.execute(
            select(CandidateRow.pk)
            .where(*where, CandidateRow.pk > after)
            .order_by(CandidateRow.pk)
            .limit(size + 1)
        ).scalars()
    )
    total = -1
    if count:
        counted = compile_for_count(rule, now, session.bind.dialect.name)
        total = session.execute(
            select(func.count())
            .select_from(CandidateRow)
            .where(CandidateRow.status == ACTIVE, *counted)
        ).scalar_one()
    more = len(pks) > size
    pks = pks[:size]
    return Page(load_many(session, pks), paging.encode(pks[-1]) if more else "", total)


# ---------------------------------------------------------------- derived: engagement bands

BAND_CHUNK = 10_000  # pks per UPDATE: under SQLite's bound-parameter limit


def set_engagement_bands(session: Session, bands: Mapping[int, str]) -> int:
    """Store engagement bands ({candidate pk: band}); returns how many rows changed.

    The band is derived data, a cache of the engagement model's output that the engagement
    service rewrites whenever a model or a person's history changes, so unlike every other
    candidate write this one does not bump `version`, touch `updated_at`, append to the
    change feed or audit each row:
    - a client holding version N of a profile must not get ABORTED because a model
      rescored the person in between (nothing the client could see or merge changed);
    - a feed row per band would wake every feed consumer for each rescore of the whole
      store, and the engagement service itself follows the feed (a write loop);
    - it records nobody's personal data: callers audit one summary row per run instead.
    Only rows whose band differs are written; merged records are left alone. The caller
    chooses the transaction size (one transaction holds SQLite's writer lock throughout).
    """
    by_band: dict[str, list[int]] = {}
    for pk, band in bands.items():
        by_band.setdefault(band, []).append(int(pk))
    unknown = sorted(set(by_band) - {"", *ENGAGEMENT_BANDS})
    if unknown:
        raise ValidationFailed(
            Violation("engagement_band", f"unknown band {unknown[0]!r}; one of {ENGAGEMENT_BANDS}")
        )
    changed = 0
    for band, pks in by_band.items():
        pks.sort()
        for start in range(0, len(pks), BAND_CHUNK):
            chunk = pks[start : start + BAND_CHUNK]
            result = session.execute(
                sql_update(CandidateRow)
                .where(
                    bulk.member_of(session, CandidateRow.pk, chunk),
                    CandidateRow.status == ACTIVE,
                    CandidateRow.engagement_band != band,
                )
                .values(engagement_band=band)
                .execution_options(synchronize_session=False)
            )
            changed += max(result.rowcount, 0)
    return changed


# ---------------------------------------------------------------- bulk upsert (imports)


class Outcome:
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass
class UpsertResult:
    outcome: str
    candidate_id: str = ""
    candidate_pk: int = 0
    errors: list[Violation] = field(default_factory=list)


def merge_into(existing: CandidateDraft, incoming: CandidateDraft) -> CandidateDraft:
    """An import never erases: non-empty incoming scalars win, lists are unioned in order,
    skills are unioned by id with the incoming level/years/evidence winning."""
    out = CandidateDraft()
    for name in CandidateDraft.__dataclass_fields__:
        old, new = getattr(existing, name), getattr(incoming, name)
        if name == "skills":
            by_id = {s.skill_id: s for s in old}
            by_id.update({s.skill_id: s for s in new})
            value = list(by_id.values())
        elif isinstance(old, list):
            value = list(dict.fromkeys([*old, *new]))
        else:
            value = new if new else old
        setattr(out, name, value)
    return out


def _sealed_row(draft: CandidateDraft, token: str) -> tuple:
    row = list(_row_tuple(draft))
    row[_CONTACTS_AT] = sealing.SealedToken(token)
    return tuple(row)


_CONTACTS_AT = _ROW_FIELDS.index("contacts")


def _prepared(session, keys_of, content_hashes, stored) -> dict[int, str]:
    """What the validation worker sealed and hashed for these drafts (see sealing.Prepared):
    lookup values go into `stored`; returns {draft index: sealed contacts}. Nothing is
    used unless the worker's keys are this writer's (checked on the first prepared draft),
    and the sealed contacts are used only for drafts inserted as they are."""
    if not content_hashes:
        return {}
    ready = [
        i
        for i, h in enumerate(content_hashes)
        if type(h) is sealing.Prepared and len(h.stored) == len(keys_of[i])
    ]
    if not ready:
        return {}
    keys, first = sealing.keys_of(session), content_hashes[ready[0]]
    probe = next(iter(keys_of[ready[0]]), None)
    same_lookup = probe is None or stored[probe] == first.stored[0]
    if not (same_lookup and keys.sealed_with_first(first.sealed)):
        return {}
    out = {}
    for i in ready:
        h = content_hashes[i]
        stored.update(zip(keys_of[i], h.stored, strict=True))
        out[i] = h.sealed
    return out


def upsert_batch(
    session: Session,
    drafts: Sequence[CandidateDraft],
    created_at: Sequence[datetime | None] | None = None,
    *,
    content_hashes: Sequence[str] | None = None,
) -> list[UpsertResult]:
    """Idempotent bulk upsert keyed on external id, then emails, phones and profile URLs.

    Records that resolve to the same person within the batch are folded together. An
    unchanged record costs one indexed read and no write. Raises IntegrityError only on a
    race with a concurrent writer; the caller retries. `content_hashes`, when given, are
    the drafts' `content_hash()` computed beforehand (the import's validation worker does).
    """
    now = datetime.now(UTC)
    created_at = created_at or [None] * len(drafts)
    keys_of = [identity_keys(d) for d in drafts]
    pairs = {kv for keys in keys_of for kv in keys}
    erased = tombstones.erased_keys(session, pairs)
    stored = sealing.StoredValues(session)  # lookup hashes, computed once per identity
    worker_sealed = _prepared(session, keys_of, content_hashes, stored)  # by draft index
    sealed_new: dict[int, str] = {}  # by temp key: new records inserted as the worker sealed
    owners = identity_owners(session, pairs, stored)
    existing = {c.pk: c for c in load_many(session, sorted(set(owners.values())))}
    existing_drafts = {pk: c.draft() for pk, c in existing.items()}
    stored_hash = (
        dict(
            session.execute(
                select(CANDIDATES.c.pk, CANDIDATES.c.content_hash).where(
                    bulk.member_of(session, CANDIDATES.c.pk, existing)
                )
            ).all()
        )
        if existing
        else {}
    )
    hashes: dict[int, str] = dict(stored_hash)

    def hash_of(pk: int) -> str:
        if pk not in hashes:
            hashes[pk] = (pending_new[pk] if pk < 0 else existing_drafts[pk]).content_hash()
        return hashes[pk]

    results: list[UpsertResult] = []
    pending_new: dict[int, CandidateDraft] = {}  # negative temp keys for new records
    pending_created: dict[int, datetime | None] = {}
    target_of: list[int | None] = []
    for i, draft in enumerate(drafts):
        keys = keys_of[i]
        gone = [kv for kv in keys if kv in erased] if erased else ()
        if gone:
            kind, value = gone[0]
            results.append(
                UpsertResult(
                    Outcome.FAILED,
                    errors=[
                        Violation(
                            _field_for(kind, draft, value),
                            f"this person was {ERASED_MESSAGE}; they may not be imported again",
                        )
                    ],
                )
            )
            target_of.append(None)
            continue
        # external id is the strongest key; then the first identity that is known
        ordered = sorted(keys, key=lambda kv: kv[0] != IdentityKind.EXTERNAL_ID)
        hits = [owners[kv] for kv in ordered if kv in owners]
        distinct = list(dict.fromkeys(hits))
        if len(distinct) > 1:
            other = [existing[p].id if p > 0 else "(earlier record in this file)" for p in distinct]
            results.append(
                UpsertResult(
                    Outcome.FAILED,
                    errors=[
                        Violation(
                            "record",
                            f"identities belong to different candidates: {', '.join(other)}",
                        )
                    ],
                )
            )
            target_of.append(None)
            continue
        if distinct:
            pk = distinct[0]
            if pk < 0:
                sealed_new.pop(pk, None)  # merged: sealed again from the merged lists
            current = pending_new[pk] if pk < 0 else existing_drafts[pk]
            before = hash_of(pk)
            merged = merge_into(current, draft)
            if pk < 0:
                pending_new[pk] = merged
            else:
                existing_drafts[pk] = merged
            merged_hash = merged.content_hash()
            step = Outcome.UPDATED if merged_hash != before else Outcome.UNCHANGED
            hashes[pk] = merged_hash
        else:
            pk = -(len(pending_new) + 1)
            pending_new[pk] = draft
            pending_created[pk] = created_at[i]
            if i in worker_sealed:
                sealed_new[pk] = worker_sealed[i]
            if content_hashes is not None:
                hashes[pk] = str(content_hashes[i])  # a plain str (may be sealing.Prepared)
            step = Outcome.CREATED
        for kv in keys:
            owners[kv] = pk
        target_of.append(pk)
        results.append(UpsertResult(step))

    # inserts: keys drawn beforehand, so every row of every table is known before writing
    new_ids = dict(zip(pending_new, uuid7s(len(pending_new)), strict=True))
    real_pk = dict(zip(pending_new, new_pks(session, len(pending_new)), strict=True))
    bulk.copy_rows(
        session,
        CANDIDATES,
        _NEW_CANDIDATE_COLUMNS,
        (
            (
                real_pk[t],
                new_ids[t],
                *(_row_tuple(d) if t not in sealed_new else _sealed_row(d, sealed_new[t])),
                hash_of(t),
                1,
                ACTIVE,
                ConsentState.UNKNOWN.value,
                "",
                pending_created[t] or now,
                now,
            )
            for t, d in pending_new.items()
        ),
    )

    # updates: only where the merged content differs from what is stored
    changed = [pk for pk in existing_drafts if hashes[pk] != stored_hash[pk]]
    for pk in changed:
        c = existing[pk]
        res = session.execute(
            sql_update(CANDIDATES)
            .where(CANDIDATES.c.pk == pk, CANDIDATES.c.version == c.version)
            .values(
                **row_values(existing_drafts[pk], hashes[pk]), version=c.version + 1, updated_at=now
            )
        )
        if res.rowcount != 1:
            raise StaleVersion("candidate", c.id, c.version, -1)

    final: dict[int, CandidateDraft] = {real_pk[t]: d for t, d in pending_new.items()}
    final.update({pk: existing_drafts[pk] for pk in changed})
    if final:
        ensure_skills(session, (s for d in final.values() for s in d.skills))
        if changed:
            session.execute(
                delete(CandidateSkillRow).where(CandidateSkillRow.candidate_pk.in_(changed))
            )
        bulk.copy_rows(
            session,
            CANDIDATE_SKILLS,
            _SKILL_ROW_COLUMNS,
            (
                (pk, c.skill_id, i, c.level, c.years, c.source, c.evidence)
                for pk, d in final.items()
                for i, c in enumerate(d.skills)
            ),
        )
        held = set(
            identity_owners(
                session, [kv for pk in changed for kv in identity_keys(final[pk])], stored
            )
        )
        bulk.copy_rows(
            session,
            IDENTITIES,
            ("candidate_pk", "kind", "value"),
            (
                (pk, kv[0], stored[kv])
                for pk, d in final.items()
                for kv in identity_keys(d)
                if kv not in held
            ),
        )

    id_of = {pk: c.id for pk, c in existing.items()} | {real_pk[t]: new_ids[t] for t in new_ids}
    for res, tmp in zip(results, target_of, strict=True):
        if tmp is None:
            continue
        pk = real_pk.get(tmp, tmp)
        res.candidate_id, res.candidate_pk = id_of[pk], pk
        if tmp > 0 and pk not in changed:  # later records in the batch undid the change
            res.outcome = Outcome.UNCHANGED
    created_ids = [new_ids[t] for t in pending_new]
    updated_ids = [existing[pk].id for pk in changed]
    feed.append(
        session,
        [(i, "created") for i in created_ids] + [(i, "updated") for i in updated_ids],
        at=now,
    )
    if created_ids:
        audit.record(session, "candidate.import.create", created_ids)
    if updated_ids:
        audit.record(session, "candidate.import.update", updated_ids)
    return results
