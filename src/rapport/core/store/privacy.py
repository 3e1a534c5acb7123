"""Privacy in the store (issue 7): erasure, subject-access export, consent history and
channel preferences, retention. Each write runs in the caller's one transaction, appends
to the change feed and writes an audit row without personal data.

Erasure deletes the candidate row and everything that hangs off it (the records merged
into it too: they are the same person), and keeps only keyed hashes of their identities
(`tombstones`) so a re-import is refused. Nothing of the person is left for a training job
to read: `models.engagement.features` reads the store, and the rows are gone. Followers of
the change feed (matching index, engagement scores) see op "erased" and forget them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.orm import Session

from rapport.core import context
from rapport.core.domain import ConsentState, IdentityKind
from rapport.core.errors import NotFound, PreconditionFailed, ValidationFailed, Violation
from rapport.core.ids import uuid7
from rapport.core.privacy import (
    DEFAULT_BASIS,
    PREFERENCE_CHANNELS,
    ChannelPreference,
    ConsentBasis,
    ConsentEvent,
    ConsentRecord,
    ErasureReport,
    RetentionCandidate,
    RetentionPolicy,
    RetentionReport,
)
from rapport.core.store import ats, audit, bulk, candidates, feed, outreach, tombstones
from rapport.core.store.schema import (
    AnalyticsPersonRow,
    AnalyticsSendRow,
    AtsLinkRow,
    BookingRow,
    CandidateDemographicsRow,
    CandidateRow,
    CandidateSkillRow,
    ChannelPreferenceRow,
    ConsentEventRow,
    ContentDecisionRow,
    ContentItemRow,
    ContentOutcomeRow,
    ErasureRow,
    ErasureTombstoneRow,
    IdentityRow,
    ImportFingerprintRow,
    MergeRow,
    OutreachEnrolmentRow,
    OutreachReplyRow,
    OutreachSendRow,
    OutreachSequenceRow,
    OutreachTriggerFiringRow,
    PoolMemberRow,
    PoolRow,
    RetentionRunRow,
    SignInLinkRow,
    TimelineEventRow,
)
from rapport.core.store.sealing import CONTACT_KINDS, EMPTY, keys_of, open_contacts

ANONYMISED = "anonymised"
ANONYMISE_BATCH = 500  # records per statement (SQLite bounds the number of parameters)


class AlreadyErased(NotFound):
    """NOT_FOUND still (the person is not here), saying so for a retried erasure."""

    def __init__(self, candidate_id: str, when: datetime) -> None:
        super().__init__("candidate", candidate_id)
        at = when.isoformat(timespec="seconds")
        self.args = (f"candidate {candidate_id} was erased at {at}",)


# Tables keyed by candidate_pk, deleted child-first (foreign keys without cascade on SQLite
# connections that do not enforce them must not matter: every row goes explicitly).
_PERSON_TABLES: tuple[type, ...] = (
    OutreachTriggerFiringRow,
    ContentOutcomeRow,
    ContentDecisionRow,
    AnalyticsSendRow,
    AnalyticsPersonRow,
    CandidateDemographicsRow,
    ConsentEventRow,
    ChannelPreferenceRow,
    PoolMemberRow,
    TimelineEventRow,
    CandidateSkillRow,
    IdentityRow,
    ImportFingerprintRow,
    SignInLinkRow,  # the portal's sign-in links (issue 9)
    BookingRow,  # calls booked through SchedulingService (issue 9): the note is theirs
)


# ---------------------------------------------------------------- erasure


def _person_pks(session: Session, pk: int) -> list[int]:
    """The record and every record merged into it, transitively (the same person)."""
    pks, frontier = [pk], [pk]
    while frontier:
        frontier = list(
            session.execute(
                select(CandidateRow.pk).where(CandidateRow.merged_into_pk.in_(frontier))
            ).scalars()
        )
        frontier = [p for p in frontier if p not in pks]
        pks += frontier
    return pks


def _identities_of(session: Session, pks: Sequence[int]) -> set[tuple[str, str]]:
    """Every identity the store holds for these records: the identities table, the rows'
    own lists, and those in merge before-images (a merge may have dropped some).
    Tombstones hash the normalised plaintext, as `candidates.identity_keys` gives it to
    writers. The identities table (and the identities of before-images) hold lookup hashes
    for contact kinds: only their external ids are taken; contact values come from the
    records' and the before-images' sealed contact details, opened here."""
    pairs: set[tuple[str, str]] = set(
        (k, v)
        for k, v in session.execute(
            select(IdentityRow.kind, IdentityRow.value).where(
                IdentityRow.candidate_pk.in_(pks), IdentityRow.kind.not_in(CONTACT_KINDS)
            )
        ).all()
    )
    for person in candidates.load_many(session, list(pks)):
        pairs.update(candidates.identity_keys(person.draft()))
    # The ATS's ids of this person: a later ATS webhook about them must not bring them back
    # (a person created here and submitted to the ATS may have no other identity it shows).
    pairs.update(
        (IdentityKind.EXTERNAL_ID.value, ats.ats_reference(system, ats_id))
        for system, ats_id in session.execute(
            select(AtsLinkRow.ats, AtsLinkRow.ats_candidate_id).where(
                AtsLinkRow.candidate_pk.in_(pks)
            )
        ).all()
    )
    keys = keys_of(session)
    for before in session.execute(
        select(MergeRow.before).where(
            or_(MergeRow.survivor_pk.in_(pks), MergeRow.merged_pk.in_(pks))
        )
    ).scalars():
        for side in ("survivor", "merged"):
            image = (before or {}).get(side, {})
            for item in image.get("identities", []):
                ok = isinstance(item, list | tuple) and len(item) == 2
                if ok and str(item[0]) not in CONTACT_KINDS:
                    pairs.add((str(item[0]), str(item[1])))
            sealed = image.get("row", {}).get("contacts")
            if sealed:
                c = open_contacts(keys, sealed)
                pairs.update(("email", v) for v in c.emails)
                pairs.update(("phone", v) for v in c.phones)
                pairs.update(("profile_url", v) for v in c.profile_urls)
    return {(k, v) for k, v in pairs if v}


def _delete(session: Session, row_type: type, where) -> int:
    return session.execute(delete(row_type).where(where)).rowcount or 0


def erase(
    session: Session, candidate_id: str, *, reference: str = "", configured_salt: str = ""
) -> ErasureReport:
    """Erase a person: every row about them goes, tombstones of their identities stay."""
    try:
        pk = candidates.pk_for(session, candidate_id, lock=True)
    except NotFound:
        when = session.execute(
            select(ErasureRow.erased_at).where(ErasureRow.candidate_id == candidate_id)
        ).scalar_one_or_none()
        if when is None:
            raise
        raise AlreadyErased(candidate_id, when) from None
    row = session.get(CandidateRow, pk)
    if row.merged_into_pk is not None:
        survivor = session.execute(
            select(CandidateRow.id).where(CandidateRow.pk == row.merged_into_pk)
        ).scalar_one()
        raise PreconditionFailed(
            f"candidate {candidate_id} was merged into {survivor}: erase that record "
            "(the records merged into it are erased with it)"
        )
    pks = _person_pks(session, pk)
    ids = list(session.execute(select(CandidateRow.id).where(CandidateRow.pk.in_(pks))).scalars())
    pairs = _identities_of(session, pks)
    now = datetime.now(UTC)
    ctx = context.current()
    erasure_pk = session.execute(
        ErasureRow.__table__.insert()
        .returning(ErasureRow.__table__.c.pk)
        .values(
            candidate_id=candidate_id,
            reference=reference[:300],
            actor=ctx.actor,
            identities=len(pairs),
            records=len(pks),
            erased_at=now,
        )
    ).scalar_one()
    key = tombstones.salt(session, create=True, configured=configured_salt)
    digests = tombstones.digests(key, pairs)
    known = (
        set(
            session.execute(
                select(ErasureTombstoneRow.digest).where(
                    ErasureTombstoneRow.digest.in_(list(digests))
                )
            ).scalars()
        )
        if digests
        else set()
    )
    fresh = [
        {"digest": d, "kind": kind, "erasure_pk": erasure_pk}
        for d, (kind, _) in digests.items()
        if d not in known
    ]
    if fresh:
        session.execute(ErasureTombstoneRow.__table__.insert(), fresh)

    counts: dict[str, int] = {}
    sends = select(OutreachSendRow.pk).where(OutreachSendRow.candidate_pk.in_(pks))
    counts["outreach_replies"] = _delete(
        session,
        OutreachReplyRow,
        or_(OutreachReplyRow.candidate_pk.in_(pks), OutreachReplyRow.send_pk.in_(sends)),
    )
    counts["outreach_sends"] = _delete(
        session, OutreachSendRow, OutreachSendRow.candidate_pk.in_(pks)
    )
    counts["outreach_enrolments"] = _delete(
        session, OutreachEnrolmentRow, OutreachEnrolmentRow.candidate_pk.in_(pks)
    )
    for row_type in _PERSON_TABLES:
        counts[row_type.__tablename__] = _delete(session, row_type, row_type.candidate_pk.in_(pks))
    counts["merges"] = _delete(
        session, MergeRow, or_(MergeRow.survivor_pk.in_(pks), MergeRow.merged_pk.in_(pks))
    )
    session.execute(
        update(CandidateRow).where(CandidateRow.pk.in_(pks)).values(merged_into_pk=None)
    )
    counts["candidates"] = _delete(session, CandidateRow, CandidateRow.pk.in_(pks))
    counts = {k: v for k, v in counts.items() if v}
    feed.append(session, [(i, "erased") for i in ids], at=now)
    # ids and counts only: never a name, an address or the request's text
    audit.record(
        session,
        "candidate.erased",
        [candidate_id],
        details={"records": len(pks), "identities": len(pairs), "rows": counts},
    )
    return ErasureReport(candidate_id, tuple(ids), len(pairs), counts, now)


def erasures_since(session: Session, since: datetime) -> list[str]:
    """Candidate ids erased since `since` (for training jobs and caches that want them)."""
    return list(
        session.execute(
            select(ErasureRow.candidate_id).where(ErasureRow.erased_at >= since)
        ).scalars()
    )


def _chunks(values: Sequence, size: int = 10_000) -> Iterable[Sequence]:
    return (values[i : i + size] for i in range(0, len(values), size))


def no_longer_trainable(session: Session, candidate_pks: Sequence[int]) -> set[int]:
    """Those of `candidate_pks` that are gone (erased) or anonymised now: a training job
    drops their rows from a dataset read before the erasure committed."""
    wanted = sorted({int(pk) for pk in candidate_pks})
    active: set[int] = set()
    for part in _chunks(wanted):
        active.update(
            session.execute(
                select(CandidateRow.pk).where(
                    bulk.member_of(session, CandidateRow.pk, part),
                    CandidateRow.status != ANONYMISED,
                )
            ).scalars()
        )
    return set(wanted) - active


# ---------------------------------------------------------------- export


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _rows(session: Session, table: Table, where, *, drop: Iterable[str] = ()) -> list[dict]:
    dropped = set(drop)
    out = []
    for r in session.execute(select(table).where(where)).mappings():
        out.append({k: _plain(v) for k, v in r.items() if k not in dropped})
    return out


def export(session: Session, candidate_id: str, *, scores: dict | None = None) -> dict:
    """Everything the store holds about one person, as a JSON-ready document.
    `scores`: what the engagement service serves for them (model and version), if known."""
    pk = candidates.pk_for(session, candidate_id)
    person = candidates.load_many(session, [pk])[0]
    row = session.get(CandidateRow, pk)
    pks = _person_pks(session, pk)
    profile = {
        name: _plain(getattr(person, name))
        for name in (
            "id",
            "external_id",
            "first_name",
            "last_name",
            "emails",
            "phones",
            "profile_urls",
            "headline",
            "summary",
            "current_company",
            "city",
            "country",
            "timezone",
            "languages",
            "source",
            "tags",
            "version",
            "merged_into",
            "created_at",
            "updated_at",
        )
    }
    profile["seniority"] = str(person.seniority.value)
    profile["consent_state"] = str(person.consent_state.value)
    profile["status"] = row.status
    skills = [
        {
            "skill_id": s.skill_id,
            "label": s.label,
            "level": s.level,
            "years": s.years,
            "source": s.source,
            "evidence": s.evidence,
        }
        for s in person.skills
    ]
    # contact identities are held as lookup hashes: the person's own values are shown
    held = {
        (k, v)
        for k, v in session.execute(
            select(IdentityRow.kind, IdentityRow.value).where(
                IdentityRow.candidate_pk.in_(pks), IdentityRow.kind.not_in(CONTACT_KINDS)
            )
        )
    }
    held.update(kv for kv in candidates.identity_keys(person.draft()) if kv[0] in CONTACT_KINDS)
    identities = [{"kind": k, "value": v} for k, v in sorted(held)]
    timeline = _rows(
        session,
        TimelineEventRow.__table__,
        TimelineEventRow.candidate_pk.in_(pks),
        drop=("pk", "candidate_pk"),
    )
    timeline.sort(key=lambda e: e["occurred_at"])
    pools = [
        {
            "pool_id": pid,
            "pool": name,
            "stage": stage,
            "added_at": _plain(added),
            "stage_changed_at": _plain(changed),
        }
        for pid, name, stage, added, changed in session.execute(
            select(
                PoolRow.id,
                PoolRow.name,
                PoolMemberRow.stage,
                PoolMemberRow.added_at,
                PoolMemberRow.stage_changed_at,
            )
            .join(PoolRow, PoolRow.pk == PoolMemberRow.pool_pk)
            .where(PoolMemberRow.candidate_pk.in_(pks))
            .order_by(PoolRow.name)
        )
    ]
    record = consent_record(session, candidate_id)
    decisions = [
        {
            "id": d.id,
            "content_id": content_id or "",
            "channel": d.channel,
            "no_send": d.no_send,
            "reason": d.reason,
            "propensity": d.propensity,
            "score": d.score,
            "predicted_response": d.predicted_response,
            "policy": f"{d.policy_name}/{d.policy_version}",
            "engagement_model": d.engagement_model,
            "created_at": _plain(d.created_at),
            "sent_at": _plain(d.sent_at),
            "replied_at": _plain(d.replied_at),
        }
        for d, content_id in session.execute(
            select(ContentDecisionRow, ContentItemRow.id)
            .outerjoin(ContentItemRow, ContentItemRow.pk == ContentDecisionRow.content_pk)
            .where(ContentDecisionRow.candidate_pk.in_(pks))
            .order_by(ContentDecisionRow.created_at)
        )
    ]
    enrolments = [
        {
            "id": e.id,
            "sequence": name,
            "state": e.state,
            "stop_reason": e.stop_reason,
            "enrolled_at": _plain(e.enrolled_at),
        }
        for e, name in session.execute(
            select(OutreachEnrolmentRow, OutreachSequenceRow.name)
            .join(OutreachSequenceRow, OutreachSequenceRow.pk == OutreachEnrolmentRow.sequence_pk)
            .where(OutreachEnrolmentRow.candidate_pk.in_(pks))
            .order_by(OutreachEnrolmentRow.enrolled_at)
        )
    ]
    sends = _rows(
        session,
        OutreachSendRow.__table__,
        OutreachSendRow.candidate_pk.in_(pks),
        drop=("pk", "enrolment_pk", "candidate_pk", "token", "idempotency_key", "worker"),
    )
    merged_ids = [
        i
        for i in session.execute(select(CandidateRow.id).where(CandidateRow.pk.in_(pks))).scalars()
        if i != candidate_id
    ]
    return {
        "format": "rapport.subject-access/1",
        "exported_at": datetime.now(UTC).isoformat(),
        "candidate": profile,
        "merged_records": merged_ids,
        "identities": identities,
        "skills": skills,
        "timeline": timeline,
        "consent": {
            "state": record.state.value,
            "history": [
                {
                    "state": e.state.value,
                    "basis": e.basis,
                    "source": e.source,
                    "channel": e.channel,
                    "actor": e.actor,
                    "recorded_at": _plain(e.recorded_at),
                }
                for e in record.history
            ],
            "preferences": [
                {
                    "channel": p.channel,
                    "allowed": p.allowed,
                    "topics": list(p.topics),
                    "source": p.source,
                    "updated_at": _plain(p.updated_at),
                }
                for p in record.preferences
            ],
        },
        "pools": pools,
        # Self-reported demographic answers are kept apart and read only in aggregate
        # (core.store.demographics); the export says whether any are held, not what.
        "demographics": {
            "held": session.execute(
                select(func.count())
                .select_from(CandidateDemographicsRow)
                .where(CandidateDemographicsRow.candidate_pk.in_(pks))
            ).scalar_one()
            > 0
        },
        "engagement": {"band": row.engagement_band, **(scores or {})},
        "content_decisions": decisions,
        "outreach": {"enrolments": enrolments, "sends": sends},
        # calls booked through SchedulingService (issue 9), with the person's own note
        "calls": _rows(
            session,
            BookingRow.__table__,
            BookingRow.candidate_pk.in_(pks),
            drop=("pk", "calendar_pk", "candidate_pk"),
        ),
    }


def export_json(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False, default=str)


def record_export(session: Session, candidate_id: str, sections: Iterable[str]) -> None:
    audit.record(
        session, "candidate.exported", [candidate_id], details={"sections": sorted(sections)}
    )


# ---------------------------------------------------------------- consent and preferences


def consent_record(session: Session, candidate_id: str) -> ConsentRecord:
    pk = candidates.pk_for(session, candidate_id)
    state = session.execute(
        select(CandidateRow.consent_state).where(CandidateRow.pk == pk)
    ).scalar_one()
    history = tuple(
        ConsentEvent(ConsentState(r.state), r.basis, r.source, r.channel, r.actor, r.recorded_at)
        for r in session.execute(
            select(ConsentEventRow)
            .where(ConsentEventRow.candidate_pk == pk)
            .order_by(ConsentEventRow.recorded_at, ConsentEventRow.pk)
        ).scalars()
    )
    return ConsentRecord(candidate_id, ConsentState(state), history, preferences_of(session, pk))


def preferences_of(session: Session, candidate_pk: int) -> tuple[ChannelPreference, ...]:
    return tuple(
        ChannelPreference(r.channel, r.allowed, tuple(r.topics or ()), r.source, r.updated_at)
        for r in session.execute(
            select(ChannelPreferenceRow)
            .where(ChannelPreferenceRow.candidate_pk == candidate_pk)
            .order_by(ChannelPreferenceRow.channel)
        ).scalars()
    )


def topics_for(session: Session, candidate_pk: int, channel: str) -> frozenset[str]:
    """The topics a person limited this channel to (empty: any topic)."""
    topics = session.execute(
        select(ChannelPreferenceRow.topics).where(
            ChannelPreferenceRow.candidate_pk == candidate_pk,
            ChannelPreferenceRow.channel == channel,
        )
    ).scalar_one_or_none()
    return frozenset(t.lower() for t in topics or ())


def _check_consent(state: ConsentState, basis: str, preferences: Sequence[ChannelPreference]):
    problems = []
    if basis and basis not in {b.value for b in ConsentBasis}:
        problems.append(Violation("basis", "consent or legitimate_interest"))
    if state == ConsentState.GRANTED and basis == ConsentBasis.LEGITIMATE_INTEREST:
        problems.append(Violation("basis", "granted consent has basis consent"))
    if state == ConsentState.LEGITIMATE_INTEREST and basis == ConsentBasis.CONSENT:
        problems.append(Violation("basis", "legitimate_interest state has that basis"))
    seen = set()
    for i, p in enumerate(preferences):
        if p.channel not in PREFERENCE_CHANNELS:
            problems.append(
                Violation(f"preferences[{i}].channel", f"one of {', '.join(PREFERENCE_CHANNELS)}")
            )
        if p.channel in seen:
            problems.append(Violation(f"preferences[{i}].channel", "given twice"))
        seen.add(p.channel)
        if len(p.topics) > 50 or any(not t or len(t) > 100 for t in p.topics):
            problems.append(Violation(f"preferences[{i}].topics", "at most 50, 1-100 chars each"))
    if problems:
        raise ValidationFailed(problems)


def set_consent(
    session: Session,
    candidate_id: str,
    state: ConsentState | None,
    *,
    basis: str = "",
    source: str = "",
    preferences: Sequence[ChannelPreference] = (),
) -> ConsentRecord:
    """Record a consent change and/or channel preferences. Refusing any channel is an opt-out
    from all outreach: the state becomes opted_out (matching, content and outreach all read
    it), active sequence enrolments stop at once."""
    preferences = [
        ChannelPreference(
            p.channel.strip().lower(),
            p.allowed,
            tuple(dict.fromkeys(t.strip().lower() for t in p.topics)),
            p.source or source,
        )
        for p in preferences
    ]
    if state is not None:
        basis = basis or DEFAULT_BASIS.get(state, "")
    _check_consent(state or ConsentState.UNKNOWN, basis, preferences)
    pk = candidates.pk_for(session, candidate_id, lock=True)
    row = session.get(CandidateRow, pk)
    if row.status != candidates.ACTIVE:
        raise PreconditionFailed(f"candidate {candidate_id} is {row.status}: not an active record")
    now = datetime.now(UTC)
    actor = context.current().actor
    refused = [p.channel for p in preferences if not p.allowed]
    if refused and state is None:
        state = ConsentState.OPTED_OUT
    events = []
    if state is not None:
        events.append(
            {
                "candidate_pk": pk,
                "state": state.value,
                "basis": basis if state != ConsentState.OPTED_OUT else "",
                "source": source[:100],
                "channel": ",".join(refused)[:20] if state == ConsentState.OPTED_OUT else "",
                "actor": actor,
                "recorded_at": now,
            }
        )
    for p in preferences:
        values = {
            "allowed": p.allowed,
            "topics": list(p.topics),
            "source": p.source[:100],
            "updated_at": now,
        }
        done = session.execute(
            update(ChannelPreferenceRow)
            .where(
                ChannelPreferenceRow.candidate_pk == pk, ChannelPreferenceRow.channel == p.channel
            )
            .values(**values)
        ).rowcount
        if not done:
            session.execute(
                ChannelPreferenceRow.__table__.insert().values(
                    candidate_pk=pk, channel=p.channel, **values
                )
            )
    if events:
        session.execute(ConsentEventRow.__table__.insert(), events)
    if state is not None:
        session.execute(
            update(CandidateRow)
            .where(CandidateRow.pk == pk)
            .values(consent_state=state.value, version=CandidateRow.version + 1, updated_at=now)
        )
        feed.append(session, [(candidate_id, "consent")], at=now)
    stopped = []
    if state == ConsentState.OPTED_OUT:
        stopped = outreach.stop_for_candidate(session, pk, "unsubscribe", "unsubscribed")
    audit.record(
        session,
        "candidate.consent",
        [candidate_id],
        details={
            "state": state.value if state is not None else "",
            "basis": basis,
            "channels": {p.channel: p.allowed for p in preferences},
            "enrolments_stopped": len(stopped),
        },
    )
    return consent_record(session, candidate_id)


# ---------------------------------------------------------------- retention


def _months_ago(now: datetime, months: int) -> datetime:
    return now - timedelta(days=round(months * 30.4375))


def idle_candidates(
    session: Session, policy: RetentionPolicy, now: datetime, limit: int = 100_000
) -> tuple[datetime, list[RetentionCandidate]]:
    """Active records with no update and no timeline event since the cutoff, not in a
    pool stage of an open process. (cutoff, who)"""
    cutoff = _months_ago(now, policy.idle_months)
    if policy.idle_months <= 0:
        return cutoff, []
    last_event = (
        select(
            TimelineEventRow.candidate_pk.label("pk"),
            func.max(TimelineEventRow.occurred_at).label("last"),
        )
        .group_by(TimelineEventRow.candidate_pk)
        .subquery()
    )
    kept = select(PoolMemberRow.candidate_pk).where(
        PoolMemberRow.stage.in_(list(policy.keep_stages) or [""])
    )
    active_enrolment = select(OutreachEnrolmentRow.candidate_pk).where(
        OutreachEnrolmentRow.state == "active"
    )
    rows = session.execute(
        select(CandidateRow.id, CandidateRow.updated_at, last_event.c.last)
        .outerjoin(last_event, last_event.c.pk == CandidateRow.pk)
        .where(
            CandidateRow.status == candidates.ACTIVE,
            CandidateRow.updated_at < cutoff,
            or_(last_event.c.last.is_(None), last_event.c.last < cutoff),
            CandidateRow.pk.not_in(kept),
            CandidateRow.pk.not_in(active_enrolment),
        )
        .order_by(CandidateRow.pk)
        .limit(limit)
    ).all()
    out = []
    for cid, updated, last in rows:
        last = last.replace(tzinfo=UTC) if last is not None and last.tzinfo is None else last
        out.append(RetentionCandidate(cid, max(d for d in (updated, last) if d is not None)))
    return cutoff, out


_BLANK_PROFILE = {
    "external_id": "",
    "first_name": "",
    "last_name": "",
    "headline": "",
    "summary": "",
    "current_company": "",
    "city": "",
    "contacts": EMPTY,
    "contact_kinds": 0,
    "tags": [],
    "content_hash": "",
}


def anonymise(session: Session, candidate_pks: Sequence[int], now: datetime) -> int:
    """Strip identity from these records, keeping aggregate value: source, country,
    seniority, languages, time zone, skills (without evidence text), event counts and kinds."""
    if not candidate_pks:
        return 0
    pks = list(candidate_pks)
    ids = list(session.execute(select(CandidateRow.id).where(CandidateRow.pk.in_(pks))).scalars())
    session.execute(
        update(CandidateRow)
        .where(CandidateRow.pk.in_(pks))
        .values(
            **_BLANK_PROFILE,
            status=ANONYMISED,
            version=CandidateRow.version + 1,
            updated_at=now,
        )
    )
    for row_type in (IdentityRow, ImportFingerprintRow, ChannelPreferenceRow):
        _delete(session, row_type, row_type.candidate_pk.in_(pks))
    _delete(session, MergeRow, or_(MergeRow.survivor_pk.in_(pks), MergeRow.merged_pk.in_(pks)))
    session.execute(
        update(CandidateSkillRow).where(CandidateSkillRow.candidate_pk.in_(pks)).values(evidence="")
    )
    session.execute(
        update(TimelineEventRow)
        .where(TimelineEventRow.candidate_pk.in_(pks))
        .values(payload={}, actor="")
    )
    session.execute(
        update(OutreachSendRow)
        .where(OutreachSendRow.candidate_pk.in_(pks))
        .values(to_address="", to_hash="", subject="")
    )
    session.execute(
        update(OutreachReplyRow).where(OutreachReplyRow.candidate_pk.in_(pks)).values(subject="")
    )
    session.execute(
        update(ContentDecisionRow)
        .where(ContentDecisionRow.candidate_pk.in_(pks))
        .values(context={})
    )
    session.execute(
        update(ContentOutcomeRow)
        .where(ContentOutcomeRow.candidate_pk.in_(pks))
        .values(user_agent="")
    )
    feed.append(session, [(i, ANONYMISED) for i in ids], at=now)
    audit.record(session, "candidate.anonymised", ids, details={"policy": "retention"})
    return len(ids)


def run_retention(
    session: Session, policy: RetentionPolicy, *, dry_run: bool, now: datetime | None = None
) -> RetentionReport:
    """Anonymise idle records under `policy` (or, dry, only list them: nothing written)."""
    now = now or datetime.now(UTC)
    cutoff, found = idle_candidates(session, policy, now)
    run_id = uuid7()
    if dry_run:
        return RetentionReport(run_id, True, policy, cutoff, tuple(found), 0)
    ids = [c.candidate_id for c in found]
    pks = [
        pk
        for part in _chunks(ids)
        for pk in session.execute(
            select(CandidateRow.pk).where(bulk.member_of(session, CandidateRow.id, part))
        ).scalars()
    ]
    done = sum(
        anonymise(session, pks[i : i + ANONYMISE_BATCH], now)
        for i in range(0, len(pks), ANONYMISE_BATCH)
    )
    session.execute(
        RetentionRunRow.__table__.insert().values(
            id=run_id,
            dry_run=False,
            policy=policy.as_dict(),
            anonymised=done,
            actor=context.current().actor,
            started_at=now,
            finished_at=datetime.now(UTC),
        )
    )
    audit.record(
        session,
        "retention.run",
        [run_id],
        target_type="retention_run",
        details={"anonymised": done, **policy.as_dict()},
    )
    return RetentionReport(run_id, False, policy, cutoff, tuple(found), done)


__all__ = [
    "ANONYMISED",
    "anonymise",
    "consent_record",
    "erase",
    "erasures_since",
    "export",
    "export_json",
    "idle_candidates",
    "preferences_of",
    "record_export",
    "run_retention",
    "set_consent",
    "topics_for",
]
