"""Campaign and pool reports: counts from the database (`core.store.analytics`), rates,
intervals and tests here (`analytics_stats`).

The database does the heavy lifting (one GROUP BY per question); this module rolls the
finest-grain counts up into the views a person reads (per template, content item,
sequence, step, channel), turns counts into rates that never divide by zero, and runs the
A/B tests. A rate whose denominator is under the minimum is kept but marked "not enough
data", so nothing shows "100%" for 1 of 1.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from rapport.core.errors import NotFound, ValidationFailed, Violation
from rapport.core.store import analytics as store
from rapport.models.analytics_stats import RateCI, compare, holm, rate

METRICS = ("reply", "open", "click")
INTERVALS = ("week", "month", "quarter")
SIGNIFICANCE = 0.05
MAX_TEMPLATES = 200
# The funnel: everyone who joined, then each ladder stage reached (see store.LADDER).
FUNNEL = ("sourced", *store.LADDER)


@dataclass(frozen=True)
class Limits:
    min_n: int = 30  # a rate over fewer is "not enough data"
    dormant_days: float = 180.0


# ------------------------------------------------------------------ date ranges


def resolve_range(
    since: datetime | None, until: datetime | None, default_days: int, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """[since, until) with defaults: until = now, since = until - default_days. An empty or
    inverted range, or one that starts in the future, is refused."""
    now = now or datetime.now(UTC)
    until = until or now
    since = since or until - timedelta(days=default_days)
    for name, value in (("since", since), ("until", until)):
        if value.tzinfo is None:
            raise ValidationFailed(Violation(f"range.{name}", "needs a time zone"))
    if since > now:
        raise ValidationFailed(Violation("range.since", "is in the future: nothing to report"))
    if since >= until:
        raise ValidationFailed(
            Violation(
                "range",
                f"since ({since:%Y-%m-%d %H:%M}) must be before until "
                f"({until:%Y-%m-%d %H:%M}): the range is empty",
            )
        )
    return since.astimezone(UTC), until.astimezone(UTC)


# ------------------------------------------------------------------ campaigns


@dataclass
class SendStats:
    key: str
    label: str
    channel: str
    sent: int = 0
    email_sent: int = 0  # sends on the email channel: the denominator of delivery/bounce
    delivered: int = 0
    opened: int = 0
    machine_opens: int = 0
    clicked: int = 0
    replied: int = 0
    unsubscribed: int = 0
    bounced: int = 0
    first: int = 0
    rates: dict[str, RateCI] = field(default_factory=dict)

    def add(self, c: store.SendCounts) -> None:
        self.sent += c.sent
        if c.channel == "email":
            self.email_sent += c.sent
        self.delivered += c.delivered
        self.opened += c.opened
        self.machine_opens += c.machine_opened
        self.clicked += c.clicked
        self.replied += c.replied
        self.unsubscribed += c.unsubscribed
        self.bounced += c.bounced
        self.first += c.first
        if self.channel != c.channel:
            self.channel = c.channel if not self.channel else "mixed"

    def finish(self, min_n: int) -> SendStats:
        self.rates = {
            "delivery_rate": rate(self.delivered, self.email_sent, min_n),
            "open_rate": rate(self.opened, self.delivered, min_n),
            "click_rate": rate(self.clicked, self.delivered, min_n),
            "reply_rate": rate(self.replied, self.sent, min_n),
            "unsubscribe_rate": rate(self.unsubscribed, self.sent, min_n),
            "bounce_rate": rate(self.bounced, self.email_sent, min_n),
        }
        return self

    def metric(self, name: str) -> tuple[int, int]:
        """(successes, trials) of an A/B metric."""
        if name == "reply":
            return self.replied, self.sent
        if name == "open":
            return self.opened, self.delivered
        return self.clicked, self.delivered


@dataclass(frozen=True)
class Comparison:
    group: str
    metric: str
    leader: str
    variant: str
    leader_rate: RateCI
    variant_rate: RateCI
    difference: float
    low: float
    high: float
    test: str
    p_value: float
    p_adjusted: float
    significant: bool
    enough_data: bool
    verdict: str


@dataclass
class CampaignReport:
    since: datetime
    until: datetime
    totals: SendStats
    by_template: list[SendStats]
    by_content: list[SendStats]
    by_sequence: list[SendStats]
    by_step: list[SendStats]
    by_channel: list[SendStats]
    comparisons: list[Comparison]
    unknown_templates: list[str]
    campaigns: int
    unattributed: int
    notes: list[str]


def _roll(
    counts: Iterable[store.SendCounts], key, label, min_n: int, order: str = "sent"
) -> list[SendStats]:
    groups: dict[str, SendStats] = {}
    for c in counts:
        k = key(c)
        if not k:
            continue
        if k not in groups:
            groups[k] = SendStats(k, label(c, k), "")
        groups[k].add(c)
    out = [g.finish(min_n) for g in groups.values()]
    if order == "key":
        return sorted(out, key=lambda g: g.key)
    return sorted(out, key=lambda g: (-g.sent, g.key))


def _step_key(c: store.SendCounts) -> str:
    if c.sequence_id and c.step:
        return f"{c.sequence_id}/{c.step}"
    if c.step:
        return f"campaign/{c.step}"
    return ""


def campaign_report(
    session: Session,
    since: datetime,
    until: datetime,
    *,
    templates: Sequence[str] = (),
    metric: str = "reply",
    limits: Limits = Limits(),
    unattributed: int = 0,
) -> CampaignReport:
    """Sends made in [since, until) and what came of them, per template, content item,
    sequence, step and channel, with A/B tests between variants of the same step."""
    metric = metric or "reply"
    if metric not in METRICS:
        raise ValidationFailed(Violation("metric", f"one of {', '.join(METRICS)}"))
    wanted = list(dict.fromkeys(t.strip() for t in templates if t.strip()))
    if len(wanted) > MAX_TEMPLATES:
        raise ValidationFailed(Violation("templates", f"at most {MAX_TEMPLATES}"))
    notes: list[str] = []
    counts = store.send_counts(session, since, until)
    content = store.content_counts(session, since, until)
    unknown: list[str] = []
    if wanted:
        sent_in_range = {c.template for c in counts}
        unknown = [t for t in wanted if t not in sent_in_range]
        if unknown and len(unknown) == len(wanted):
            ever = store.known_templates(session, unknown)
            never = [t for t in unknown if t not in ever]
            if never:
                raise NotFound("template", ", ".join(never))
        if unknown:
            notes.append(f"no sends in this range for: {', '.join(unknown)}")
        counts = [c for c in counts if c.template in set(wanted)]
    min_n = limits.min_n
    totals = SendStats("all", "all sends", "")
    for c in counts:
        totals.add(c)
    totals.finish(min_n)
    seq_names = store.sequence_names(session, {c.sequence_id for c in counts})
    titles = store.content_titles(
        session, {c.content_id for c in counts} | {c.content_id for c in content}
    )
    by_template = _roll(counts, lambda c: c.template, lambda c, k: k, min_n, order="key")
    by_content = _roll(
        [*content, *(c for c in counts if c.content_id)],
        lambda c: c.content_id,
        lambda c, k: titles.get(k, k),
        min_n,
    )
    by_sequence = _roll(counts, lambda c: c.sequence_id, lambda c, k: seq_names.get(k, k), min_n)
    by_step = _roll(
        counts,
        _step_key,
        lambda c, k: (
            f"{seq_names.get(c.sequence_id, c.sequence_id)} / {c.step}"
            if c.sequence_id
            else f"campaign step {c.step}"
        ),
        min_n,
        order="key",
    )
    by_channel = _roll(counts, lambda c: c.channel or "other", lambda c, k: k, min_n)
    comparisons = _comparisons(counts, metric, min_n, explicit=wanted)
    if totals.sent == 0 and not content:
        notes.append("no sends in this range")
    if content:
        notes.append(
            f"{sum(c.sent for c in content):,} NextBestContent sends are reported per content "
            "item (from the decision log), not in the totals above"
        )
    if totals.machine_opens:
        notes.append(
            f"{totals.machine_opens:,} sends had machine opens (security scanners, image "
            "proxies): not counted as opens"
        )
    if unattributed:
        notes.append(
            f"{unattributed:,} outcomes on the timeline (all time) had no earlier send of their "
            "campaign or sequence and are left out"
        )
    return CampaignReport(
        since=since,
        until=until,
        totals=totals,
        by_template=by_template,
        by_content=by_content,
        by_sequence=by_sequence,
        by_step=by_step,
        by_channel=by_channel,
        comparisons=comparisons,
        unknown_templates=unknown,
        campaigns=totals.first,
        unattributed=unattributed,
        notes=notes,
    )


def _comparisons(
    counts: Sequence[store.SendCounts], metric: str, min_n: int, explicit: Sequence[str]
) -> list[Comparison]:
    """Within each group of variants (templates sent on the same channel at the same step,
    or the templates asked for), every variant against the leader (highest rate among the
    variants with enough data); p-values Holm-adjusted across the whole report."""
    groups: dict[str, dict[str, SendStats]] = defaultdict(dict)
    for c in counts:
        if not c.template:
            continue
        if explicit:
            group = "templates asked for"
        elif c.step:
            group = f"{c.channel or 'other'}, step {c.step}"
        else:
            continue
        stats = groups[group].setdefault(c.template, SendStats(c.template, c.template, ""))
        stats.add(c)
    raw: list[tuple[str, SendStats, SendStats]] = []
    for group, variants in sorted(groups.items()):
        if len(variants) < 2:
            continue
        judged = [v for v in variants.values() if v.metric(metric)[1] >= min_n]
        pool = judged or list(variants.values())

        def share(v: SendStats) -> float:
            k, n = v.metric(metric)
            return k / n if n else -1.0

        leader = max(pool, key=lambda v: (share(v), v.metric(metric)[1], v.key))
        for v in sorted(variants.values(), key=lambda v: v.key):
            if v is not leader:
                raw.append((group, leader, v))
    tests = [compare(*lead.metric(metric), *var.metric(metric)) for _, lead, var in raw]
    adjusted = holm([t.p_value for t in tests]) if tests else []
    out = []
    for (group, lead, var), test, p_adj in zip(raw, tests, adjusted, strict=True):
        k1, n1 = lead.metric(metric)
        k2, n2 = var.metric(metric)
        enough = n1 >= min_n and n2 >= min_n
        significant = enough and p_adj < SIGNIFICANCE
        if not enough:
            verdict = f"not enough data (need {min_n} per variant; have {n1:,} and {n2:,})"
        elif significant:
            verdict = (
                f"{var.key} has a lower {metric} rate than {lead.key} "
                f"({k2 / n2:.1%} vs {k1 / n1:.1%}; adjusted p = {p_adj:.3g})"
            )
        else:
            verdict = (
                f"no significant difference ({k2 / n2:.1%} vs {k1 / n1:.1%}; "
                f"adjusted p = {p_adj:.3g})"
            )
        out.append(
            Comparison(
                group=group,
                metric=metric,
                leader=lead.key,
                variant=var.key,
                leader_rate=rate(k1, n1, min_n),
                variant_rate=rate(k2, n2, min_n),
                difference=test.difference,
                low=test.low,
                high=test.high,
                test=test.test,
                p_value=test.p_value,
                p_adjusted=p_adj,
                significant=significant,
                enough_data=enough,
                verdict=verdict,
            )
        )
    return out


# ------------------------------------------------------------------ pools and pipeline


@dataclass(frozen=True)
class GrowthPoint:
    period_start: str  # YYYY-MM-DD
    source: str
    added: int
    cumulative: int


@dataclass(frozen=True)
class SourceQuality:
    source: str
    candidates: int
    contacted: RateCI
    replied: RateCI
    interview: RateCI
    final_round: RateCI
    hired: RateCI


@dataclass(frozen=True)
class FunnelStage:
    stage: str
    count: int
    from_previous: RateCI
    from_start: RateCI


@dataclass(frozen=True)
class Duration:
    count: int
    median_hours: float
    p90_hours: float
    enough_data: bool


@dataclass(frozen=True)
class Reengagement:
    dormant_days: float
    contacted: int
    replied: RateCI


@dataclass
class PoolReport:
    since: datetime
    until: datetime
    pool_id: str
    interval: str
    pool_size: int
    added: int
    growth: list[GrowthPoint]
    sources: list[SourceQuality]
    funnel: list[FunnelStage]
    time_to_first_contact: Duration
    time_to_reply: Duration
    reengagement: Reengagement
    notes: list[str]


def duration(stats: store.HourStats, min_n: int) -> Duration:
    """Median and p90 from the database's HourStats; nothing measured is 0 with a flag."""
    if not stats.count:
        return Duration(0, 0.0, 0.0, False)
    return Duration(stats.count, stats.median, stats.p90, stats.count >= min_n)


def pool_report(
    session: Session,
    since: datetime,
    until: datetime,
    *,
    pool_pk: int | None = None,
    pool_id: str = "",
    interval: str = "month",
    limits: Limits = Limits(),
) -> PoolReport:
    """Who joined the pool in [since, until), from where, and how far they got."""
    interval = interval or "month"
    if interval not in INTERVALS:
        raise ValidationFailed(Violation("interval", f"one of {', '.join(INTERVALS)}"))
    min_n = limits.min_n
    before, rows = store.growth(session, since, until, interval, pool_pk)
    running = dict(before)
    growth = []
    for period, source, n in rows:
        running[source] = running.get(source, 0) + n
        growth.append(GrowthPoint(period, source, n, running[source]))
    reach = store.reach(session, since, until, pool_pk)
    per_source: dict[str, list[store.ReachCounts]] = defaultdict(list)
    for r in reach:
        per_source[r.source].append(r)

    def at_least(rows: Iterable[store.ReachCounts], rank: int) -> int:
        return sum(r.people for r in rows if r.furthest >= rank)

    sources = []
    for source, rs in sorted(per_source.items(), key=lambda kv: -sum(r.people for r in kv[1])):
        n = sum(r.people for r in rs)
        contacted = sum(r.people for r in rs if r.contacted or r.furthest >= 1)
        sources.append(
            SourceQuality(
                source=source or "(none)",
                candidates=n,
                contacted=rate(contacted, n, min_n),
                replied=rate(sum(r.people for r in rs if r.replied), n, min_n),
                interview=rate(at_least(rs, store.RANK["interview"]), n, min_n),
                final_round=rate(at_least(rs, store.RANK["final_round"]), n, min_n),
                hired=rate(at_least(rs, store.RANK["hired"]), n, min_n),
            )
        )
    added = sum(r.people for r in reach)
    funnel = []
    previous = added
    for rank, stage in enumerate(FUNNEL):
        if rank == 0:
            count = added
        elif stage == "contacted":
            count = sum(r.people for r in reach if r.contacted or r.furthest >= 1)
        else:
            count = at_least(reach, rank)
        funnel.append(
            FunnelStage(stage, count, rate(count, previous, min_n), rate(count, added, min_n))
        )
        previous = count
    first_contact = duration(store.first_contact_hours(session, since, until, pool_pk), min_n)
    reply = duration(store.reply_hours(session, since, until, pool_pk), min_n)
    dormant, came_back = store.reengagement(session, since, until, limits.dormant_days, pool_pk)
    notes = []
    if added == 0:
        notes.append("nobody joined in this range: source quality and the funnel are empty")
    notes.append(
        "source quality and the funnel follow the people who joined in the range, as far "
        "as they got before its end"
    )
    return PoolReport(
        since=since,
        until=until,
        pool_id=pool_id,
        interval=interval,
        pool_size=store.population_size(session, until, pool_pk),
        added=added,
        growth=growth,
        sources=sources,
        funnel=funnel,
        time_to_first_contact=first_contact,
        time_to_reply=reply,
        reengagement=Reengagement(limits.dormant_days, dormant, rate(came_back, dormant, min_n)),
        notes=notes,
    )


__all__ = [
    "FUNNEL",
    "INTERVALS",
    "METRICS",
    "CampaignReport",
    "Comparison",
    "Duration",
    "FunnelStage",
    "GrowthPoint",
    "Limits",
    "PoolReport",
    "Reengagement",
    "SendStats",
    "SourceQuality",
    "campaign_report",
    "duration",
    "pool_report",
    "resolve_range",
]
