"""Segment rules and list filters compiled to SQL, so they are evaluated on read.

A rule is a conjunction of conditions. The vocabulary (field -> allowed ops):

  skill                in | all | not_in      canonical skill ids
  seniority            in | not_in | gte | lte
  country, timezone, source, engagement_band   in | not_in  (bands: hot warm cold dormant)
  language, tag        in | not_in             (language "en" also matches "en-GB")
  pool                 in | not_in             pool ids
  last_contacted_days  within | not_within     one integer N (days)
  reached_final_round  is                      "true" | "false"
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Text, and_, cast, not_, or_, select

from rapport.core.domain import (
    CONTACT_KINDS,
    ENGAGEMENT_BANDS,
    FINAL_ROUND_STAGES,
    Condition,
    Rule,
    Seniority,
)
from rapport.core.errors import ValidationFailed, Violation
from rapport.core.store.schema import (
    CandidateRow,
    CandidateSkillRow,
    PoolMemberRow,
    PoolRow,
    TimelineEventRow,
)

SET_OPS = ("in", "not_in")
FIELDS: dict[str, tuple[str, ...]] = {
    "skill": ("in", "all", "not_in"),
    "seniority": ("in", "not_in", "gte", "lte"),
    "country": SET_OPS,
    "timezone": SET_OPS,
    "source": SET_OPS,
    "engagement_band": SET_OPS,
    "language": SET_OPS,
    "tag": SET_OPS,
    "pool": SET_OPS,
    "last_contacted_days": ("within", "not_within"),
    "reached_final_round": ("is",),
}
MAX_CONDITIONS = 50
MAX_VALUES = 500
# Longest value a condition takes: longer than any stored tag, source, id or URL, short
# enough that a value never becomes a megabyte LIKE pattern run against every row.
MAX_VALUE_CHARS = 2048
MAX_DAYS = 36_500  # last_contacted_days: a century
# NUL and other C0 controls are never part of a stored value (and PostgreSQL refuses NUL
# in text outright, which would surface as an internal error instead of a bad request).
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def validate_rule(rule: Rule, prefix: str = "rule") -> None:
    """ValidationFailed listing every malformed condition."""
    problems: list[Violation] = []
    if len(rule.conditions) > MAX_CONDITIONS:
        problems.append(Violation(f"{prefix}.conditions", f"at most {MAX_CONDITIONS} conditions"))
    for i, c in enumerate(rule.conditions):
        at = f"{prefix}.conditions[{i}]"
        if c.field not in FIELDS:
            problems.append(
                Violation(
                    f"{at}.field", f"unknown field {c.field!r}; one of " + ", ".join(sorted(FIELDS))
                )
            )
            continue
        if c.op not in FIELDS[c.field]:
            problems.append(Violation(f"{at}.op", f"{c.field} takes {' | '.join(FIELDS[c.field])}"))
            continue
        if not c.values or any(not v.strip() for v in c.values):
            problems.append(Violation(f"{at}.values", "needs at least one non-empty value"))
        elif len(c.values) > MAX_VALUES:
            problems.append(Violation(f"{at}.values", f"at most {MAX_VALUES} values"))
        elif any(len(v) > MAX_VALUE_CHARS for v in c.values):
            problems.append(Violation(f"{at}.values", f"at most {MAX_VALUE_CHARS} characters each"))
        elif any(_CONTROL.search(v) for v in c.values):
            problems.append(Violation(f"{at}.values", "contains control characters"))
        elif c.field == "seniority":
            bad = [v for v in c.values if v not in {s.value for s in Seniority} - {""}]
            if bad:
                problems.append(Violation(f"{at}.values", f"unknown seniority {bad[0]!r}"))
            elif c.op in ("gte", "lte") and len(c.values) != 1:
                problems.append(Violation(f"{at}.values", f"{c.op} takes one seniority"))
        elif c.field == "engagement_band":
            bad = [v for v in c.values if v not in ENGAGEMENT_BANDS]
            if bad:
                problems.append(
                    Violation(f"{at}.values", f"unknown band {bad[0]!r}; one of {ENGAGEMENT_BANDS}")
                )
        elif c.field == "last_contacted_days":
            days = c.values[0]
            # ASCII digits only ("²".isdigit() holds, int() refuses it), and a span a date
            # can go back (timedelta overflows past ~2.7 million years)
            if len(c.values) != 1 or not (days.isascii() and days.isdigit()):
                problems.append(Violation(f"{at}.values", "one whole number of days"))
            elif int(days) > MAX_DAYS:
                problems.append(Violation(f"{at}.values", f"at most {MAX_DAYS} days"))
        elif c.field == "reached_final_round" and c.values not in (("true",), ("false",)):
            problems.append(Violation(f"{at}.values", 'either "true" or "false"'))
    if problems:
        raise ValidationFailed(problems)


def _json_list_has(column, values: tuple[str, ...], prefix_match: bool) -> ColumnElement:
    text = cast(column, Text)
    tests = []
    for v in values:
        tests.append(text.like(f'%"{_escape(v)}"%', escape="\\"))
        if prefix_match:
            tests.append(text.like(f'%"{_escape(v)}-%', escape="\\"))
    return or_(*tests)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace('"', '\\"')


def _among(subquery, by_key: bool) -> ColumnElement:
    """`candidates.pk IN (subquery)`: evaluated once into a set, instead of a correlated
    probe per candidate (what EXISTS becomes on SQLite), so counts over 100k stay fast.

    `by_key=False` writes `pk + 0`, which no index serves: SQLite then drives the query from
    another condition's index instead of fetching every listed candidate row by its key.
    """
    key = CandidateRow.pk if by_key else CandidateRow.pk + 0
    return key.in_(subquery)


def _condition(c: Condition, now: datetime, by_key: bool = True) -> ColumnElement:
    values = tuple(c.values)
    negate = c.op == "not_in"
    if c.field == "skill":

        def has(ids):
            return _among(
                select(CandidateSkillRow.candidate_pk).where(CandidateSkillRow.skill_id.in_(ids)),
                by_key,
            )

        if c.op == "all":
            return and_(*(has([v]) for v in values))
        expr = has(values)
    elif c.field == "seniority":
        order = [s.value for s in Seniority if s.value]
        if c.op in ("gte", "lte"):
            r = order.index(values[0])
            values = tuple(order[r:] if c.op == "gte" else order[: r + 1])
        expr = CandidateRow.seniority.in_(values)
    elif c.field in ("country", "timezone", "source", "engagement_band"):
        column = getattr(CandidateRow, c.field)
        expr = column.in_([v.upper() for v in values] if c.field == "country" else values)
    elif c.field == "language":
        expr = _json_list_has(CandidateRow.languages, values, prefix_match=True)
    elif c.field == "tag":
        expr = _json_list_has(CandidateRow.tags, values, prefix_match=False)
    elif c.field == "pool":
        expr = _among(
            select(PoolMemberRow.candidate_pk).join(PoolRow).where(PoolRow.id.in_(values)),
            by_key,
        )
    elif c.field == "last_contacted_days":
        since = now - timedelta(days=int(values[0]))
        expr = _among(
            select(TimelineEventRow.candidate_pk).where(
                TimelineEventRow.kind.in_(sorted(CONTACT_KINDS)),
                TimelineEventRow.occurred_at >= since,
            ),
            by_key,
        )
        negate = c.op == "not_within"
    else:  # reached_final_round
        stages = sorted(FINAL_ROUND_STAGES)
        expr = or_(
            _among(
                select(TimelineEventRow.candidate_pk).where(
                    TimelineEventRow.kind == "stage_changed", TimelineEventRow.stage.in_(stages)
                ),
                by_key,
            ),
            _among(
                select(PoolMemberRow.candidate_pk).where(PoolMemberRow.stage.in_(stages)), by_key
            ),
        )
        negate = values == ("false",)
    return not_(expr) if negate else expr


def compile_rule(rule: Rule, now: datetime) -> list[ColumnElement]:
    validate_rule(rule)
    return [_condition(c, now) for c in rule.conditions]


def compile_for_count(rule: Rule, now: datetime, dialect: str) -> list[ColumnElement]:
    """The rule for a count over every match rather than a page in key order.

    With a country condition, the covering facet index (country, seniority, status; pk)
    yields the candidates without reading their rows. PostgreSQL finds that plan by itself;
    SQLite fetches each member of a skill or pool list by key instead (a wide row each, 44 ms
    for 22k members) unless memberships are written so no key index applies (20 ms).
    """
    validate_rule(rule)
    by_key = dialect != "sqlite" or not any(
        c.field == "country" and c.op == "in" for c in rule.conditions
    )
    return [_condition(c, now, by_key) for c in rule.conditions]
