"""Merge two records of one person, and undo it exactly.

A merge stores before-images of both records (row, identities, skills, pool memberships)
and the ids of the timeline events it moved, so unmerge can put everything back.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from rapport.core import context
from rapport.core.domain import Candidate, CandidateDraft, SkillClaim
from rapport.core.errors import NotFound, PreconditionFailed, ValidationFailed, Violation
from rapport.core.ids import uuid7
from rapport.core.store import audit, feed, sealing
from rapport.core.store.candidates import (
    ACTIVE,
    MERGED,
    load_many,
    pk_for,
    replace_skills,
    row_values,
)
from rapport.core.store.schema import (
    CandidateRow,
    CandidateSkillRow,
    IdentityRow,
    MergeRow,
    PoolMemberRow,
    TimelineEventRow,
)

_ROW_FIELDS = [c.key for c in CandidateRow.__table__.columns if c.key not in ("pk", "id")]


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _snapshot(session: Session, pk: int) -> dict:
    """Before-image of a record. Its contact details stay sealed (`row.contacts` is a token);
    its identities are as stored (lookup hashes for contact kinds)."""
    row = session.get(CandidateRow, pk)
    image = {k: _iso(getattr(row, k)) for k in _ROW_FIELDS if k != "contacts"}
    image["contacts"] = sealing.seal_contacts(sealing.keys_of(session), row.contacts)
    return {
        "row": image,
        "identities": [
            list(t)
            for t in session.execute(
                select(IdentityRow.kind, IdentityRow.value)
                .where(IdentityRow.candidate_pk == pk)
                .order_by(IdentityRow.kind, IdentityRow.value)
            )
        ],
        "skills": [
            {
                "skill_id": s.skill_id,
                "position": s.position,
                "level": s.level,
                "years": s.years,
                "source": s.source,
                "evidence": s.evidence,
            }
            for s in session.execute(
                select(CandidateSkillRow).where(CandidateSkillRow.candidate_pk == pk)
            ).scalars()
        ],
        "pools": [
            {
                "pool_pk": m.pool_pk,
                "stage": m.stage,
                "added_at": _iso(m.added_at),
                "stage_changed_at": _iso(m.stage_changed_at),
            }
            for m in session.execute(
                select(PoolMemberRow).where(PoolMemberRow.candidate_pk == pk)
            ).scalars()
        ],
    }


def combine(survivor: CandidateDraft, other: CandidateDraft) -> CandidateDraft:
    """The survivor's values win; its gaps are filled from the other; lists are unioned;
    a skill both hold keeps the higher level and years."""
    out = CandidateDraft()
    for name in CandidateDraft.__dataclass_fields__:
        mine, theirs = getattr(survivor, name), getattr(other, name)
        if name == "skills":
            by_id: dict[str, SkillClaim] = {s.skill_id: s for s in mine}
            for s in theirs:
                if s.skill_id in by_id:
                    m = by_id[s.skill_id]
                    by_id[s.skill_id] = SkillClaim(
                        m.skill_id,
                        m.label,
                        max(m.level, s.level),
                        max(m.years, s.years),
                        m.source,
                        m.evidence or s.evidence,
                    )
                else:
                    by_id[s.skill_id] = s
            value = list(by_id.values())
        elif isinstance(mine, list):
            value = list(dict.fromkeys([*mine, *theirs]))
        else:
            value = mine or theirs
        setattr(out, name, value)
    return out


def merge(
    session: Session, survivor_id: str, merged_id: str, reason: str = ""
) -> tuple[str, Candidate]:
    if survivor_id == merged_id:
        raise ValidationFailed(Violation("merged_id", "must differ from survivor_id"))
    keep_pk = pk_for(session, survivor_id, lock=True)
    gone_pk = pk_for(session, merged_id, lock=True)
    keep, gone = load_many(session, [keep_pk, gone_pk])
    for field, c in (("survivor_id", keep), ("merged_id", gone)):
        if c.merged_into:
            raise PreconditionFailed(
                f"{field}: candidate {c.id} was already merged into {c.merged_into}"
            )
    before = {"survivor": _snapshot(session, keep_pk), "merged": _snapshot(session, gone_pk)}
    now = datetime.now(UTC)

    # identities move over whole (external ids from both systems stay findable)
    session.execute(
        update(IdentityRow).where(IdentityRow.candidate_pk == gone_pk).values(candidate_pk=keep_pk)
    )
    combined = combine(keep.draft(), gone.draft())
    session.execute(
        update(CandidateRow)
        .where(CandidateRow.pk == keep_pk)
        .values(**row_values(combined), version=keep.version + 1, updated_at=now)
    )
    replace_skills(session, keep_pk, combined.skills)

    moved_events = list(
        session.execute(
            select(TimelineEventRow.pk).where(TimelineEventRow.candidate_pk == gone_pk)
        ).scalars()
    )
    session.execute(
        update(TimelineEventRow)
        .where(TimelineEventRow.candidate_pk == gone_pk)
        .values(candidate_pk=keep_pk)
    )

    keep_pools = {m["pool_pk"] for m in before["survivor"]["pools"]}
    added_pools = [m for m in before["merged"]["pools"] if m["pool_pk"] not in keep_pools]
    session.execute(delete(PoolMemberRow).where(PoolMemberRow.candidate_pk == gone_pk))
    if added_pools:
        session.execute(
            insert(PoolMemberRow),
            [
                {
                    "pool_pk": m["pool_pk"],
                    "candidate_pk": keep_pk,
                    "stage": m["stage"],
                    "added_at": datetime.fromisoformat(m["added_at"]),
                    "stage_changed_at": datetime.fromisoformat(m["stage_changed_at"]),
                }
                for m in added_pools
            ],
        )

    session.execute(
        update(CandidateRow)
        .where(CandidateRow.pk == gone_pk)
        .values(status=MERGED, merged_into_pk=keep_pk, version=gone.version + 1, updated_at=now)
    )
    before["moved_events"] = moved_events
    before["added_pools"] = [m["pool_pk"] for m in added_pools]
    merge_id = uuid7()
    session.execute(
        insert(MergeRow),
        {
            "id": merge_id,
            "survivor_pk": keep_pk,
            "merged_pk": gone_pk,
            "reason": reason,
            "before": before,
            "survivor_version_after": keep.version + 1,
            "actor": context.current().actor,
            "merged_at": now,
        },
    )
    feed.append(session, [(survivor_id, "merged"), (merged_id, "merged")], at=now)
    audit.record(
        session,
        "candidate.merge",
        [survivor_id, merged_id],
        details={"merge_id": merge_id, "survivor_id": survivor_id},
    )
    return merge_id, load_many(session, [keep_pk])[0]


def _restore(session: Session, pk: int, snap: dict, version: int, now: datetime) -> None:
    values = {
        k: (datetime.fromisoformat(v) if k in ("created_at", "updated_at") else v)
        for k, v in snap["row"].items()
    }
    values["contacts"] = sealing.open_contacts(sealing.keys_of(session), values.get("contacts"))
    values.update(version=version, updated_at=now)
    session.execute(update(CandidateRow).where(CandidateRow.pk == pk).values(**values))
    session.execute(delete(CandidateSkillRow).where(CandidateSkillRow.candidate_pk == pk))
    if snap["skills"]:
        session.execute(
            insert(CandidateSkillRow), [s | {"candidate_pk": pk} for s in snap["skills"]]
        )
    if snap["identities"]:
        session.execute(
            insert(IdentityRow),
            [{"candidate_pk": pk, "kind": k, "value": v} for k, v in snap["identities"]],
        )


def unmerge(session: Session, merge_id: str) -> tuple[Candidate, Candidate]:
    m = session.execute(select(MergeRow).where(MergeRow.id == merge_id)).scalar_one_or_none()
    if m is None:
        raise NotFound("merge", merge_id)
    if m.unmerged_at is not None:
        raise PreconditionFailed(f"merge {merge_id} was already undone")
    keep = session.get(
        CandidateRow, m.survivor_pk, with_for_update=session.bind.dialect.name == "postgresql"
    )
    if keep.version != m.survivor_version_after or keep.status != ACTIVE:
        raise PreconditionFailed(
            f"candidate {keep.id} changed after the merge (version {keep.version}, merge left "
            f"{m.survivor_version_after}); undo those changes or merge again instead"
        )
    gone = session.get(CandidateRow, m.merged_pk)
    before, now = m.before, datetime.now(UTC)
    session.execute(
        delete(IdentityRow).where(IdentityRow.candidate_pk.in_([m.survivor_pk, m.merged_pk]))
    )
    _restore(session, m.survivor_pk, before["survivor"], keep.version + 1, now)
    _restore(session, m.merged_pk, before["merged"], gone.version + 1, now)
    if before["moved_events"]:
        session.execute(
            update(TimelineEventRow)
            .where(TimelineEventRow.pk.in_(before["moved_events"]))
            .values(candidate_pk=m.merged_pk)
        )
    if before["added_pools"]:
        session.execute(
            delete(PoolMemberRow).where(
                PoolMemberRow.candidate_pk == m.survivor_pk,
                PoolMemberRow.pool_pk.in_(before["added_pools"]),
            )
        )
    if before["merged"]["pools"]:
        session.execute(
            insert(PoolMemberRow),
            [
                {
                    "pool_pk": p["pool_pk"],
                    "candidate_pk": m.merged_pk,
                    "stage": p["stage"],
                    "added_at": datetime.fromisoformat(p["added_at"]),
                    "stage_changed_at": datetime.fromisoformat(p["stage_changed_at"]),
                }
                for p in before["merged"]["pools"]
            ],
        )
    m.unmerged_at = now
    feed.append(session, [(keep.id, "unmerged"), (gone.id, "unmerged")], at=now)
    audit.record(session, "candidate.unmerge", [keep.id, gone.id], details={"merge_id": merge_id})
    survivor, restored = load_many(session, [m.survivor_pk, m.merged_pk])
    return survivor, restored
