"""Adverse-impact (bias-audit) reports following the NYC Local Law 144 method.

The method (6 RCNY §5-301, the Department of Consumer and Worker Protection's rules):

- Selection rate of a category = people in it who were selected / people in it. For a tool
  that scores rather than selects, the "scoring rate" is the share scoring above the
  sample's median; callers pass that as the selection.
- Impact ratio = a category's selection rate / the selection rate of the most selected
  category. Sex categories, race/ethnicity categories and their intersections (e.g.
  "female / hispanic_or_latino") are each calculated separately.
- A category under 2% of the data may be left out of the impact-ratio calculations (the
  audit still reports its count); people of unknown category are reported as a count and
  left out. Here a category is also left out below an absolute minimum size: with a
  handful of people a rate says nothing, and "1 of 1 selected" must never read as 100%.
- Ratios under 0.8 are flagged: the EEOC's four-fifths rule of thumb. Each group's rate
  is also tested against the most selected group's (Fisher exact or z-test, see
  `analytics_stats.compare`), because a ratio from small groups can fall under 0.8 by
  chance; the flag stays the rule, the p-value says how much to trust it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rapport.core.errors import ValidationFailed, Violation
from rapport.models.analytics_stats import RateCI, compare, rate

FOUR_FIFTHS = 0.8
LL144_MIN_SHARE = 0.02
UNKNOWN_WORDS = frozenset(
    {"", "unknown", "declined", "decline", "prefer not to say", "prefer_not_to_say", "n/a", "na"}
)
TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "selected", "advanced", "hired", "pass"})
FALSE_WORDS = frozenset(
    {"0", "false", "f", "no", "n", "not selected", "not_selected", "rejected", "fail", ""}
)
INTERSECTION = " \u00d7 "  # "female x asian" (a multiplication sign)
METHOD = (
    "NYC Local Law 144 bias-audit method: selection rate per category, impact ratio = the "
    "category's rate / the highest category's rate, calculated for each characteristic and "
    "their intersection; unknown categories counted and excluded; categories under the "
    "minimum share or size reported as too small to judge; ratios under {threshold:g} flagged "
    "(four-fifths rule)."
)

# (value per characteristic) -> (selected, total)
GroupCounts = Mapping[tuple[str, ...], tuple[int, int]]


@dataclass(frozen=True)
class Limits:
    threshold: float = FOUR_FIFTHS
    min_share: float = LL144_MIN_SHARE
    min_count: int = 30

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if not 0.0 <= self.min_share < 1.0:
            raise ValueError("min_share must be in [0, 1)")
        if self.min_count < 1:
            raise ValueError("min_count must be at least 1")


@dataclass(frozen=True)
class GroupResult:
    group: str
    values: tuple[str, ...]
    total: int
    selected: int
    rate: RateCI  # enough is False for a group too small to judge
    impact_ratio: float | None  # None: not judged (too small, or no reference rate)
    flagged: bool
    too_small: bool
    share: float  # of the people whose category is known
    p_value: float | None  # against the reference group; None for it and unjudged groups
    reference: bool


@dataclass(frozen=True)
class CharacteristicTable:
    characteristic: str
    groups: list[GroupResult]
    unknown: int
    judged: bool
    note: str = ""


@dataclass(frozen=True)
class FairnessResult:
    tables: list[CharacteristicTable]
    population: int
    selected: int
    limits: Limits
    notes: list[str] = field(default_factory=list)

    @property
    def flagged_groups(self) -> int:
        return sum(g.flagged for t in self.tables for g in t.groups)

    @property
    def method(self) -> str:
        return METHOD.format(threshold=self.limits.threshold)


def impact_table(characteristic: str, counts: GroupCounts, limits: Limits) -> CharacteristicTable:
    """One characteristic (or intersection): rates, ratios and flags per category. Keys
    with an empty value are the unknown category."""
    unknown = 0
    known: dict[tuple[str, ...], tuple[int, int]] = {}
    for values, (sel, total) in counts.items():
        if sel < 0 or total < 0 or sel > total:
            raise ValueError(f"bad counts for {values}: {sel} selected of {total}")
        if total == 0:
            continue
        if any(v == "" for v in values):
            unknown += total
            continue
        s0, t0 = known.get(values, (0, 0))
        known[values] = (s0 + sel, t0 + total)
    n_known = sum(t for _, t in known.values())
    small = {
        v
        for v, (_, t) in known.items()
        if t < limits.min_count or (n_known and t / n_known < limits.min_share)
    }
    judged = [v for v in known if v not in small]
    reference = max(judged, key=lambda v: (known[v][0] / known[v][1], known[v][1]), default=None)
    ref_rate = known[reference][0] / known[reference][1] if reference is not None else 0.0
    note = ""
    can_judge = len(judged) >= 2 and ref_rate > 0.0
    if len(judged) < 2:
        note = (
            "fewer than two categories are large enough to compare "
            f"(at least {limits.min_count} people and {limits.min_share:.0%} of the known)"
        )
    elif ref_rate == 0.0:
        note = "nobody in a category large enough to judge was selected: no impact ratios"
    rows = []
    for values, (sel, total) in known.items():
        too_small = values in small
        r = rate(sel, total, min_n=limits.min_count if not too_small else total + 1)
        ratio = p = None
        flagged = False
        if can_judge and not too_small:
            ratio = (sel / total) / ref_rate
            flagged = ratio < limits.threshold
            if values != reference:
                ref_sel, ref_total = known[reference]
                p = compare(ref_sel, ref_total, sel, total).p_value
        rows.append(
            GroupResult(
                group=INTERSECTION.join(values),
                values=values,
                total=total,
                selected=sel,
                rate=r,
                impact_ratio=ratio,
                flagged=flagged,
                too_small=too_small,
                share=total / n_known if n_known else 0.0,
                p_value=p,
                reference=can_judge and values == reference,
            )
        )
    rows.sort(key=lambda g: (g.too_small, -(g.impact_ratio or 0.0), -g.total, g.group))
    return CharacteristicTable(characteristic, rows, unknown, can_judge, note)


def adverse_impact(
    characteristics: Sequence[str], counts: GroupCounts, limits: Limits | None = None
) -> FairnessResult:
    """Tables for each characteristic alone and, with two or more, their intersection.
    `counts` maps a value per characteristic ("" for unknown) to (selected, total)."""
    limits = limits or Limits()
    names = list(characteristics)
    if not names:
        raise ValueError("at least one characteristic")
    for key in counts:
        if len(key) != len(names):
            raise ValueError(f"group {key} has {len(key)} values for {len(names)} characteristics")
    tables = []
    for i, name in enumerate(names):
        single: dict[tuple[str, ...], tuple[int, int]] = {}
        for key, (sel, total) in counts.items():
            s0, t0 = single.get((key[i],), (0, 0))
            single[(key[i],)] = (s0 + sel, t0 + total)
        tables.append(impact_table(name, single, limits))
    if len(names) >= 2:
        tables.append(impact_table(INTERSECTION.join(names), counts, limits))
    population = sum(t for _, t in counts.values())
    selected = sum(s for s, _ in counts.values())
    notes = []
    if population == 0:
        notes.append("nobody to audit: the population is empty")
    elif selected == 0:
        notes.append("nobody was selected: selection rates are all zero")
    return FairnessResult(tables, population, selected, limits, notes)


# ------------------------------------------------------------------ audit files


@dataclass(frozen=True)
class AuditData:
    group_columns: tuple[str, ...]
    counts: dict[tuple[str, ...], tuple[int, int]]
    rows: int
    source: str


def group_value(text: str) -> str:
    """A group cell as a category: whitespace tidied, the unknown words as unknown ("")."""
    value = " ".join(text.split())
    return "" if value.lower() in UNKNOWN_WORDS else value


def _selected(text: str) -> bool | None:
    value = " ".join(text.split()).lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    return None


def read_audit(
    text: str, group_columns: Sequence[str], selected_column: str, source: str = ""
) -> AuditData:
    """Counts per combination of group values from CSV text (comma, semicolon or tab).
    Missing columns, an empty file or selection values that are not yes/no are refused
    with every problem named (ValidationFailed)."""
    if not group_columns:
        raise ValidationFailed(Violation("group_column", "give at least one group column"))
    if not selected_column:
        raise ValidationFailed(Violation("selected_column", "give the selection column"))
    if not text.strip():
        raise ValidationFailed(Violation("audit_file", "is empty"))
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip() for h in next(reader, [])]
    lookup = {h.lower(): i for i, h in enumerate(header)}
    problems = []
    for col in group_columns:
        if col.strip().lower() not in lookup:
            problems.append(
                Violation("group_column", f"{col!r} is not a column; columns: {', '.join(header)}")
            )
    if selected_column.strip().lower() not in lookup:
        problems.append(
            Violation(
                "selected_column",
                f"{selected_column!r} is not a column; columns: {', '.join(header)}",
            )
        )
    if problems:
        raise ValidationFailed(problems)
    gi = [lookup[c.strip().lower()] for c in group_columns]
    si = lookup[selected_column.strip().lower()]
    counts: dict[tuple[str, ...], tuple[int, int]] = {}
    bad: list[Violation] = []
    rows = 0
    for line_no, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        rows += 1
        if len(row) <= max([*gi, si]):
            bad.append(Violation(f"line {line_no}", f"has {len(row)} cells, fewer than the header"))
            continue
        chosen = _selected(row[si])
        if chosen is None:
            bad.append(
                Violation(
                    f"line {line_no}",
                    f"{selected_column} is {row[si]!r}: expected yes/no, true/false or 1/0",
                )
            )
            continue
        key = tuple(group_value(row[i]) for i in gi)
        sel, total = counts.get(key, (0, 0))
        counts[key] = (sel + int(chosen), total + 1)
    if bad:
        shown = bad[:20]
        if len(bad) > len(shown):
            shown.append(Violation("", f"{len(bad) - len(shown)} more lines with problems"))
        raise ValidationFailed(shown)
    if rows == 0:
        raise ValidationFailed(Violation("audit_file", "has a header but no rows"))
    return AuditData(tuple(c.strip() for c in group_columns), counts, rows, source)


def read_audit_file(
    path: str | Path, group_columns: Sequence[str], selected_column: str
) -> AuditData:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationFailed(Violation("audit_file", f"{p} does not exist")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(Violation("audit_file", f"cannot read {p}: {exc}")) from None
    return read_audit(text, group_columns, selected_column, source=p.name)


def ll144_counts(
    rows: Sequence[tuple[str, str, bool]],
) -> dict[tuple[str, str], tuple[int, int]]:
    """(sex, race/ethnicity, selected) per person -> counts keyed (sex, race/ethnicity)."""
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for sex, race, chosen in rows:
        sel, total = out.get((sex, race), (0, 0))
        out[(sex, race)] = (sel + int(chosen), total + 1)
    return out


__all__ = [
    "FOUR_FIFTHS",
    "LL144_MIN_SHARE",
    "AuditData",
    "CharacteristicTable",
    "FairnessResult",
    "GroupResult",
    "Limits",
    "adverse_impact",
    "group_value",
    "impact_table",
    "ll144_counts",
    "read_audit",
    "read_audit_file",
]
