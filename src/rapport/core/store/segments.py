"""Stored segment rules; membership is computed on every read, never stored."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.core.domain import Condition, Page, Rule, Segment
from rapport.core.errors import AlreadyExists, NotFound, ValidationFailed, Violation
from rapport.core.ids import uuid7
from rapport.core.store import audit, candidates
from rapport.core.store.rules import validate_rule
from rapport.core.store.schema import SegmentRow


def rule_to_json(rule: Rule) -> dict:
    return {"conditions": [asdict(c) | {"values": list(c.values)} for c in rule.conditions]}


def rule_from_json(data: dict) -> Rule:
    return Rule(
        tuple(
            Condition(c["field"], c["op"], tuple(c["values"])) for c in data.get("conditions", [])
        )
    )


def _to_domain(row: SegmentRow) -> Segment:
    return Segment(row.id, row.name, row.description, rule_from_json(row.rule), row.created_at)


def create(session: Session, name: str, description: str, rule: Rule) -> Segment:
    name = name.strip()
    if not name:
        raise ValidationFailed(Violation("segment.name", "required"))
    validate_rule(rule, "segment.rule")
    if session.execute(select(SegmentRow.pk).where(SegmentRow.name == name)).first():
        raise AlreadyExists(f"segment.name: a segment named {name!r} exists")
    row = SegmentRow(
        id=uuid7(),
        name=name,
        description=description,
        rule=rule_to_json(rule),
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    audit.record(session, "segment.create", [row.id], target_type="segment")
    return _to_domain(row)


def get(session: Session, segment_id: str) -> Segment:
    row = session.execute(
        select(SegmentRow).where(SegmentRow.id == segment_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("segment", segment_id)
    return _to_domain(row)


def list_all(session: Session) -> list[Segment]:
    return [
        _to_domain(r)
        for r in session.execute(select(SegmentRow).order_by(SegmentRow.name)).scalars()
    ]


def preview(session: Session, rule: Rule, size: int, token: str) -> Page:
    """Count and one page of the candidates the rule selects right now."""
    return candidates.list_page(session, rule, size, token, count=True)
