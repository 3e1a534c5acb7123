"""The restricted demographics table: written one person at a time, read only in aggregate.

Nothing here returns a person's answers. `selection_counts` joins the answers to a set of
people and a selection inside the database and hands back counts per (sex, race/ethnicity,
selected): what an adverse-impact report needs and no more. Every write and every aggregate
read is audited, so who looked at demographic data, and for what, is on record (callers
read inside a write transaction so that the audit row is kept).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapport.core.demographics import validate_answers
from rapport.core.store import audit, bulk, candidates
from rapport.core.store.schema import CandidateDemographicsRow, CandidateRow

DEMO = CandidateDemographicsRow
SQLITE_CHUNK = 20_000  # ids per IN list on SQLite (its default limit is 32,766 variables)

# (sex, race_ethnicity, selected) -> people
Counts = dict[tuple[str, str, bool], int]


def record(
    session: Session, candidate_id: str, sex: str, race_ethnicity: str, *, source: str = ""
) -> tuple[str, str]:
    """Store (or replace) a person's answers; both may be empty (declined). Returns the
    normalised answers."""
    sex, race = validate_answers(sex, race_ethnicity)
    pk = candidates.pk_for(session, candidate_id)
    now = datetime.now(UTC)
    values = {
        "sex": sex,
        "race_ethnicity": race,
        "source": source or "self_reported",
        "recorded_at": now,
    }
    existing = session.get(DEMO, pk)
    if existing is None:
        session.add(DEMO(candidate_pk=pk, **values))
    else:
        for key, value in values.items():
            setattr(existing, key, value)
    session.flush()
    audit.record(session, "demographics.record", [candidate_id], details={"source": source})
    return sex, race


def record_many(session: Session, rows: Iterable[tuple[int, str, str]], source: str) -> int:
    """Bulk load of already validated answers by candidate pk (tests, benchmarks, imports
    of a survey export): no audit row per person, one for the load."""
    now = datetime.now(UTC)
    data = [(pk, sex, race, source, now) for pk, sex, race in rows]
    bulk.copy_rows(
        session,
        DEMO.__table__,
        ("candidate_pk", "sex", "race_ethnicity", "source", "recorded_at"),
        data,
    )
    audit.record(
        session,
        "demographics.load",
        target_type="demographics",
        details={"rows": len(data), "source": source},
    )
    return len(data)


def _count_rows(session: Session, population, selected: bool) -> Counts:
    """People of `population` (a subquery of candidate pks) per (sex, race/ethnicity);
    people without a row are the unknown category ("", "")."""
    answers = (
        select(
            func.coalesce(DEMO.sex, "").label("sex"),
            func.coalesce(DEMO.race_ethnicity, "").label("race"),
        )
        .select_from(population)
        .outerjoin(DEMO, DEMO.candidate_pk == population.c.pk)
        .subquery("answers")
    )
    stmt = select(answers.c.sex, answers.c.race, func.count()).group_by(
        answers.c.sex, answers.c.race
    )
    out: Counts = {}
    for sex, race, n in session.execute(stmt):
        key = (sex or "", race or "", selected)
        out[key] = out.get(key, 0) + int(n)
    return out


def resolve_ranked(
    session: Session, ranked_ids: Sequence[str], top_k: int
) -> tuple[list[int], list[int], list[str]]:
    """(pks in the top k, pks below it, ids that name no candidate) of a ranked id list;
    a repeated id keeps its first place."""
    positions = {cid: i for i, cid in enumerate(dict.fromkeys(ranked_ids))}
    ids = list(positions)
    found: dict[str, int] = {}
    for part in _chunks(session, ids):
        found.update(
            session.execute(
                select(CandidateRow.id, CandidateRow.pk).where(
                    bulk.member_of(session, CandidateRow.id, part)
                )
            ).all()
        )
    selected = [found[c] for c in ids if c in found and positions[c] < top_k]
    others = [found[c] for c in ids if c in found and positions[c] >= top_k]
    return selected, others, [cid for cid in ids if cid not in found]


def selection_counts(
    session: Session, selected_pks: Sequence[int], other_pks: Sequence[int], *, purpose: str
) -> Counts:
    """Counts by (sex, race/ethnicity, selected) of the people `selected_pks` (selected)
    and `other_pks` (not selected); people without a row count as unknown. Audited with
    `purpose`: demographic data was read, in aggregate, for this."""
    counts: Counts = {}
    for flag, pks in ((True, selected_pks), (False, other_pks)):
        for part in _chunks(session, list(pks)):
            population = (
                select(CandidateRow.pk).where(bulk.member_of(session, CandidateRow.pk, part))
            ).subquery()
            for key, n in _count_rows(session, population, flag).items():
                counts[key] = counts.get(key, 0) + n
    audit.record(
        session,
        "demographics.aggregate",
        target_type="demographics",
        details={
            "purpose": purpose[:200],
            "people": len(selected_pks) + len(other_pks),
            "selected": len(selected_pks),
        },
    )
    return counts


def _chunks(session: Session, values: list) -> list[list]:
    """SQLite caps bound variables per statement; PostgreSQL takes one array."""
    if session.get_bind().dialect.name != "sqlite":
        return [values] if values else []
    return [values[i : i + SQLITE_CHUNK] for i in range(0, len(values), SQLITE_CHUNK)]


def answered(session: Session) -> int:
    """How many people have a row (answered or declined): a report can say when there is
    nothing to audit with."""
    return int(session.execute(select(func.count()).select_from(DEMO)).scalar_one())


__all__ = [
    "Counts",
    "answered",
    "record",
    "record_many",
    "resolve_ranked",
    "selection_counts",
]
