"""The content library: items, their vectors per encoder, and audience rules evaluated for
one person in one query."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from rapport.core.content import ContentItem, ContentKind, embed_text, text_hash, validate_item
from rapport.core.domain import Candidate, Condition, Page, Rule, Seniority
from rapport.core.errors import NotFound, ValidationFailed, Violation
from rapport.core.ids import uuid7
from rapport.core.store import audit, paging
from rapport.core.store.db import dialect_insert
from rapport.core.store.rules import compile_rule
from rapport.core.store.schema import CandidateRow, ContentEmbeddingRow, ContentItemRow, RoleRow


def rule_to_json(rule: Rule) -> dict:
    return {
        "conditions": [
            {"field": c.field, "op": c.op, "values": list(c.values)} for c in rule.conditions
        ]
    }


def rule_from_json(data: Mapping | None) -> Rule:
    return Rule(
        tuple(
            Condition(c["field"], c["op"], tuple(c.get("values", ())))
            for c in (data or {}).get("conditions", ())
        )
    )


def _to_domain(row: ContentItemRow) -> ContentItem:
    return ContentItem(
        id=row.id,
        pk=row.pk,
        kind=ContentKind(row.kind),
        title=row.title,
        subject=row.subject,
        body=row.body,
        url=row.url,
        topics=tuple(row.topics or ()),
        skills=tuple(row.skills or ()),
        audience=rule_from_json(row.audience),
        locale=row.locale,
        channels=tuple(row.channels or ()),
        fallbacks=dict(row.fallbacks or {}),
        role_id=row.role_id,
        active_from=row.active_from,
        active_until=row.active_until,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def create(session: Session, item: ContentItem) -> ContentItem:
    """Validates (templates included) and stores an item; a role_id must name a stored role."""
    item = validate_item(item)
    if item.role_id and (
        session.execute(select(RoleRow.pk).where(RoleRow.id == item.role_id)).first() is None
    ):
        raise ValidationFailed(Violation("item.role_id", f"no role {item.role_id}"))
    now = datetime.now(UTC)
    row = ContentItemRow(
        id=uuid7(),
        kind=item.kind.value,
        title=item.title,
        subject=item.subject,
        body=item.body,
        url=item.url,
        topics=list(item.topics),
        skills=list(item.skills),
        audience=rule_to_json(item.audience) if item.audience.conditions else {},
        locale=item.locale,
        channels=list(item.channels),
        fallbacks=dict(item.fallbacks),
        role_id=item.role_id,
        active_from=item.active_from,
        active_until=item.active_until,
        text_hash=text_hash(embed_text(item)),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(session, "content.create", [row.id], target_type="content")
    return _to_domain(row)


def pk_for(session: Session, content_id: str) -> int:
    pk = session.execute(
        select(ContentItemRow.pk).where(ContentItemRow.id == content_id)
    ).scalar_one_or_none()
    if pk is None:
        raise NotFound("content", content_id)
    return pk


def get(session: Session, content_id: str) -> ContentItem:
    row = session.execute(
        select(ContentItemRow).where(ContentItemRow.id == content_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("content", content_id)
    return _to_domain(row)


def _active(now: datetime):
    return and_(
        or_(ContentItemRow.active_from.is_(None), ContentItemRow.active_from <= now),
        or_(ContentItemRow.active_until.is_(None), ContentItemRow.active_until > now),
    )


def list_page(
    session: Session,
    size: int,
    token: str,
    *,
    kind: ContentKind | None = None,
    active_at: datetime | None = None,
) -> Page:
    """Items newest first, optionally of one kind and active at a moment."""
    size = paging.page_size(size)
    before = paging.decode(token)
    query = select(ContentItemRow).order_by(ContentItemRow.pk.desc()).limit(size + 1)
    if before:
        query = query.where(ContentItemRow.pk < before)
    if kind is not None:
        query = query.where(ContentItemRow.kind == kind.value)
    if active_at is not None:
        query = query.where(_active(active_at))
    rows = list(session.execute(query).scalars())
    more = len(rows) > size
    rows = rows[:size]
    return Page([_to_domain(r) for r in rows], paging.encode(rows[-1].pk) if more and rows else "")


def load_all(session: Session) -> list[ContentItem]:
    """Every item (the service keeps the library in memory; a thousand items is ~2 MB)."""
    rows = session.execute(select(ContentItemRow).order_by(ContentItemRow.pk)).scalars()
    return [_to_domain(r) for r in rows]


def library_version(session: Session) -> tuple[int, int, datetime | None]:
    """(count, highest pk, latest update): changes whenever the library does."""
    count, top, latest = session.execute(
        select(
            func.count(ContentItemRow.pk),
            func.max(ContentItemRow.pk),
            func.max(ContentItemRow.updated_at),
        )
    ).one()
    return int(count or 0), int(top or 0), latest


def embeddings(session: Session, encoder_id: str) -> dict[int, tuple[str, bytes]]:
    """content pk -> (text hash, float32 bytes) for one encoder."""
    rows = session.execute(
        select(
            ContentEmbeddingRow.content_pk,
            ContentEmbeddingRow.text_hash,
            ContentEmbeddingRow.vector,
        ).where(ContentEmbeddingRow.encoder_id == encoder_id)
    )
    return {pk: (h, bytes(v)) for pk, h, v in rows}


def put_embeddings(
    session: Session, encoder_id: str, rows: Iterable[tuple[int, str, bytes]]
) -> None:
    """Stores (or replaces) vectors; a row for an item deleted meanwhile is skipped."""
    values = [
        {
            "content_pk": pk,
            "encoder_id": encoder_id,
            "text_hash": h,
            "vector": vector,
            "created_at": datetime.now(UTC),
        }
        for pk, h, vector in rows
    ]
    if not values:
        return
    existing = set(
        session.execute(
            select(ContentItemRow.pk).where(
                ContentItemRow.pk.in_([v["content_pk"] for v in values])
            )
        ).scalars()
    )
    values = [v for v in values if v["content_pk"] in existing]
    if not values:
        return
    stmt = dialect_insert(session, ContentEmbeddingRow.__table__).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["content_pk", "encoder_id"],
        set_={"text_hash": stmt.excluded.text_hash, "vector": stmt.excluded.vector},
    )
    session.execute(stmt)


# Conditions on a candidate's own columns, decided from the loaded record exactly as
# rules.py's SQL decides them; the others (language and tag text matching, pools, contact
# history, stages) are left to SQL.
_ORDER = [s.value for s in Seniority if s.value]


def _fits(candidate: Candidate, c: Condition) -> bool | None:
    values = set(c.values)
    if c.field == "skill":
        have = {s.skill_id for s in candidate.skills}
        if c.op == "all":
            return values <= have
        hit = bool(values & have)
    elif c.field == "seniority":
        if c.op in ("gte", "lte"):
            r = _ORDER.index(c.values[0])
            values = set(_ORDER[r:] if c.op == "gte" else _ORDER[: r + 1])
        hit = candidate.seniority.value in values
    elif c.field == "country":
        hit = candidate.country in {v.upper() for v in values}
    elif c.field in ("timezone", "source", "engagement_band"):
        hit = getattr(candidate, c.field) in values
    else:
        return None
    return not hit if c.op == "not_in" else hit


def rule_fits(candidate: Candidate, rule: Rule) -> bool | None:
    """Whether `rule` selects `candidate`, decided in memory; None when a condition needs
    the store. (The rule must be valid: validate_rule.)"""
    undecided = False
    for c in rule.conditions:
        fit = _fits(candidate, c)
        if fit is False:
            return False
        undecided |= fit is None
    return None if undecided else True


def audience_matches(
    session: Session, candidate: Candidate, rules: Mapping[str, Rule], now: datetime
) -> set[str]:
    """Keys of `rules` that select this candidate. Rules over the person's own fields are
    decided in memory; the rest are one column each of one query, so a library of a
    thousand items with a dozen audiences costs at most one round trip."""
    matched = set()
    keys: list[str] = []
    for key, rule in rules.items():
        fit = rule_fits(candidate, rule)
        if fit is None:
            keys.append(key)
        elif fit:
            matched.add(key)
    candidate_pk = candidate.pk
    if not keys:
        return matched
    columns = [
        case((and_(*compile_rule(rules[k], now)), literal(1)), else_=literal(0)).label(f"r{i}")
        for i, k in enumerate(keys)
    ]
    row = session.execute(select(*columns).where(CandidateRow.pk == candidate_pk)).first()
    if row is None:
        return matched
    return matched | {k for k, hit in zip(keys, row, strict=True) if hit}


__all__ = [
    "audience_matches",
    "create",
    "embeddings",
    "get",
    "library_version",
    "list_page",
    "load_all",
    "pk_for",
    "put_embeddings",
    "rule_fits",
    "rule_from_json",
    "rule_to_json",
]
