"""SQL behind the analytics reports: the send ledger and the aggregates read from it.

The ledger is derived from the timeline by `refresh`, which follows it by pk from a
cursor (`analytics_cursors`), in batches of one write transaction each, all inside the
database:

- new sends (email_sent, sms_sent) are extracted once into a temporary table, their
  variants (channel, template, sequence, step, content item) added to analytics_variants,
  and one row per send inserted into analytics_sends;
- new outcomes (delivered, opened, clicked, replied, unsubscribed, bounced) are attributed
  to the latest earlier send of the same thread (payload `send_id` for outreach sends,
  `campaign` for campaigns) and person, one index probe each, and OR-ed into that send's
  outcome bit set (machine opens, payload machine=true, get a bit of their own);
- contacts, replies and stage changes update analytics_people: per person the first time
  of each.

JSON payload fields are read with SQLAlchemy JSON paths (`json_extract` on SQLite, `->>`
on PostgreSQL). Outcomes of NextBestContent sends (payload `decision_id`) are left to
`content_counts`, which reads the decision log. Rebuilding from scratch gives the same rows.

Report queries return plain counts grouped at the finest grain a report needs; callers
roll them up (counts add up, rates do not) and compute the statistics.

PostgreSQL assigns pks before commit, so a transaction that commits late can land behind
the cursor; `refresh` therefore only advances over rows recorded at least `grace` ago.
A writer transaction open longer than that could still be missed, and a merge moves
events the ledger has already read: `rebuild` (`rapport report rebuild-ledger`) starts over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Float,
    and_,
    case,
    cast,
    delete,
    extract,
    func,
    literal,
    or_,
    select,
    table,
    text,
    true,
    type_coerce,
    update,
)
from sqlalchemy import column as column_
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from rapport.core.errors import NotFound
from rapport.core.store.db import dialect_insert
from rapport.core.store.schema import (
    AnalyticsCursorRow,
    AnalyticsPersonRow,
    AnalyticsSendRow,
    AnalyticsVariantRow,
    CandidateRow,
    ContentDecisionRow,
    ContentItemRow,
    ContentOutcomeRow,
    OutreachSequenceRow,
    PoolMemberRow,
    PoolRow,
    TimelineEventRow,
)

LEDGER = "analytics.sends"
SEND_KINDS = ("email_sent", "sms_sent")
# Bits of analytics_sends.outcomes. A send has a bit once any such outcome was attributed
# to it: two opens of one send count once. MACHINE_OPEN marks a machine open (a security
# scanner or image proxy fetching the pixel, payload machine=true), never counted as an
# open. FIRST marks the first send of its thread (a campaign or sequence for a person).
DELIVERED, OPENED, MACHINE_OPEN, CLICKED, REPLIED, UNSUBSCRIBED, BOUNCED, FIRST = (
    1 << i for i in range(8)
)
BITS = {
    "delivered": DELIVERED,
    "opened": OPENED,
    "machine_opened": MACHINE_OPEN,
    "clicked": CLICKED,
    "replied": REPLIED,
    "unsubscribed": UNSUBSCRIBED,
    "bounced": BOUNCED,
    "first": FIRST,
}
# timeline kind -> the bit it sets (machine opens are told apart in SQL)
OUTCOME_BITS = {
    "email_delivered": DELIVERED,
    "email_opened": OPENED,
    "email_clicked": CLICKED,
    "email_replied": REPLIED,
    "sms_replied": REPLIED,
    "unsubscribed": UNSUBSCRIBED,
    "email_bounced": BOUNCED,
}
# What ends a silence: an outbound touch or a response (opens are too noisy).
ACTIVITY_KINDS = (
    "email_sent",
    "sms_sent",
    "call",
    "email_replied",
    "sms_replied",
    "email_clicked",
    "applied",
)
CONTACT_KINDS = ("email_sent", "sms_sent", "call")
REPLY_KINDS = ("email_replied", "sms_replied")
# Pipeline ladder: reaching a stage means reaching every one before it.
LADDER = ("contacted", "engaged", "screen", "interview", "final_round", "offer", "hired")
RANK = {stage: i + 1 for i, stage in enumerate(LADDER)}
STAGE_COLUMNS = {stage: f"{stage}_at" for stage in LADDER}
PERSON_COLUMNS = ("first_contact_at", "first_reply_at", *STAGE_COLUMNS.values())
DEFAULT_BATCH = 250_000  # timeline pks per refresh transaction

S = AnalyticsSendRow.__table__
P = AnalyticsPersonRow.__table__
V = AnalyticsVariantRow.__table__
E = TimelineEventRow.__table__


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _days_between(later, earlier, dialect: str):
    """(later - earlier) in days, as a float, inside the database."""
    if dialect == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return extract("epoch", later - earlier) / 86_400.0


def _hours_between(later, earlier, dialect: str):
    return _days_between(later, earlier, dialect) * 24.0


def _machine(table, dialect: str):
    """payload.machine is JSON true (never NULL, so it can sit in a CASE)."""
    if dialect == "sqlite":
        kind = func.json_type(table.c.payload, "$.machine")
        return func.coalesce(kind, "") == "true"
    kind = func.json_typeof(table.c.payload.op("->")(literal("machine")))
    value = table.c.payload["machine"].as_string()
    return and_(func.coalesce(kind, "") == "boolean", func.coalesce(value, "") == "true")


def _text(table, key: str):
    return table.c.payload[key].as_string()


def _thread(table):
    return func.coalesce(_text(table, "send_id"), _text(table, "campaign"), "")


# ------------------------------------------------------------------ the ledger


@dataclass(frozen=True)
class RefreshResult:
    events: int  # timeline pks covered
    sends: int
    outcomes: int
    unattributed: int
    position: int
    behind: bool  # more is left than this call was allowed to do


def _cursor(session: Session, lock: bool) -> AnalyticsCursorRow:
    session.execute(
        dialect_insert(session, AnalyticsCursorRow.__table__)
        .values(name=LEDGER, position=0, unattributed=0, updated_at=datetime.now(UTC))
        .on_conflict_do_nothing()
    )
    stmt = select(AnalyticsCursorRow).where(AnalyticsCursorRow.name == LEDGER)
    if lock and _dialect(session) == "postgresql":
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one()


def position(session: Session) -> tuple[int, int, int]:
    """(cursor position, timeline head pk, unattributed outcomes so far)."""
    row = session.execute(
        select(AnalyticsCursorRow.position, AnalyticsCursorRow.unattributed).where(
            AnalyticsCursorRow.name == LEDGER
        )
    ).first()
    head = session.execute(select(func.max(E.c.pk))).scalar() or 0
    return (row[0], head, row[1]) if row else (0, head, 0)


def refresh_batch(
    session: Session, *, grace: timedelta, batch: int = DEFAULT_BATCH
) -> RefreshResult:
    """Bring the ledger forward by up to `batch` timeline pks, in the caller's (write)
    transaction, which holds the cursor until it commits."""
    dialect = _dialect(session)
    cursor = _cursor(session, lock=True)
    lo = cursor.position
    upper = lo + batch
    head_q = select(func.max(E.c.pk)).where(E.c.pk > lo)
    if dialect == "postgresql" and grace > timedelta(0):
        head_q = head_q.where(E.c.recorded_at < datetime.now(UTC) - grace)
    head = session.execute(head_q).scalar()
    if head is None:
        return RefreshResult(0, 0, 0, 0, lo, False)
    hi = min(head, upper)
    window = and_(E.c.pk > lo, E.c.pk <= hi)
    sends = _insert_sends(session, window, dialect)
    outcomes, unattributed = _attribute_outcomes(session, window, dialect)
    _update_people(session, window, dialect)
    session.execute(
        update(AnalyticsCursorRow)
        .where(AnalyticsCursorRow.name == LEDGER)
        .values(
            position=hi,
            unattributed=AnalyticsCursorRow.unattributed + unattributed,
            updated_at=datetime.now(UTC),
        )
    )
    return RefreshResult(hi - lo, sends, outcomes, unattributed, hi, hi < head)


def _kind_in(table, kinds: Sequence[str], dialect: str, *, indexed: bool):
    """`kind IN (...)`; on SQLite, `indexed=False` keeps the planner off the kind index
    (`kind || ''` cannot use it) where a pk range or the per-person index is the better
    path: the kind index would visit every send ever made for each batch."""
    column = table.c.kind
    if dialect == "sqlite" and not indexed:
        column = column.op("||")(literal(""))
    return column.in_(list(kinds))


NEW_SENDS = "analytics_new_sends"
ATTRIBUTED = "analytics_attributed"


def _temp_table(session: Session, name: str, query, dialect: str) -> None:
    """CREATE TEMP TABLE name AS query (dropped at commit on PostgreSQL; dropped by the
    caller on SQLite, whose temp tables live as long as the pooled connection)."""
    sql = str(
        query.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    )
    if dialect == "postgresql":
        session.execute(text(f"DROP TABLE IF EXISTS {name}"))
        session.execute(text(f"CREATE TEMP TABLE {name} ON COMMIT DROP AS {sql}"))
    else:
        session.execute(text(f"DROP TABLE IF EXISTS temp.{name}"))
        session.execute(text(f"CREATE TEMP TABLE {name} AS {sql}"))


def _drop_temp(session: Session, name: str, dialect: str) -> None:
    if dialect != "postgresql":
        session.execute(text(f"DROP TABLE IF EXISTS temp.{name}"))


def _insert_sends(session: Session, window, dialect: str) -> int:
    """New sends of the window: extract their payload fields once into a temporary
    table, add unseen variants, then insert the ledger rows pointing at them."""
    prev = E.alias("prev")
    last_activity = (
        select(func.max(prev.c.occurred_at))
        .where(
            prev.c.candidate_pk == E.c.candidate_pk,
            prev.c.occurred_at < E.c.occurred_at,
            _kind_in(prev, ACTIVITY_KINDS, dialect, indexed=False),
        )
        .scalar_subquery()
    )
    earlier_in_thread = (
        select(prev.c.pk)
        .where(
            prev.c.candidate_pk == E.c.candidate_pk,
            prev.c.occurred_at < E.c.occurred_at,
            _kind_in(prev, SEND_KINDS, dialect, indexed=False),
            _thread(prev) == _thread(E),
        )
        .exists()
    )
    extracted = select(
        E.c.pk.label("event_pk"),
        E.c.candidate_pk.label("candidate_pk"),
        func.substr(_thread(E), 1, 100).label("thread"),
        E.c.occurred_at.label("sent_at"),
        func.coalesce(E.c.channel, "").label("channel"),
        func.substr(func.coalesce(_text(E, "template"), ""), 1, 200).label("template"),
        func.substr(func.coalesce(_text(E, "sequence_id"), ""), 1, 36).label("sequence_id"),
        func.substr(func.coalesce(_text(E, "step"), ""), 1, 100).label("step"),
        func.substr(func.coalesce(_text(E, "content_id"), ""), 1, 36).label("content_id"),
        _days_between(E.c.occurred_at, last_activity, dialect).label("quiet_days"),
        case((earlier_in_thread, 0), else_=FIRST).label("first"),
    ).where(window, _kind_in(E, SEND_KINDS, dialect, indexed=False))
    _temp_table(session, NEW_SENDS, extracted, dialect)
    new = table(
        NEW_SENDS,
        *(
            column_(n)
            for n in (
                "event_pk",
                "candidate_pk",
                "thread",
                "sent_at",
                "channel",
                "template",
                "sequence_id",
                "step",
                "content_id",
                "quiet_days",
                "first",
            )
        ),
    )
    keys = ("channel", "template", "sequence_id", "step", "content_id")
    session.execute(
        dialect_insert(session, V)
        # WHERE true: SQLite would read ON CONFLICT as a join constraint of the SELECT
        .from_select(list(keys), select(*(new.c[k] for k in keys)).distinct().where(true()))
        .on_conflict_do_nothing()
    )
    rows = (
        select(
            new.c.event_pk,
            new.c.candidate_pk,
            V.c.pk,
            new.c.thread,
            new.c.sent_at,
            new.c.first,
            new.c.quiet_days,
        )
        .join(V, and_(*(V.c[k] == new.c[k] for k in keys)))
        .where(true())
    )
    session.execute(
        dialect_insert(session, S)
        .from_select(
            [
                "event_pk",
                "candidate_pk",
                "variant_pk",
                "thread",
                "sent_at",
                "outcomes",
                "quiet_days",
            ],
            rows,
        )
        .on_conflict_do_nothing()
    )
    # (rowcount of INSERT ... SELECT is not reliable across drivers: count the batch)
    inserted = session.execute(select(func.count()).select_from(new)).scalar_one()
    _drop_temp(session, NEW_SENDS, dialect)
    return max(0, inserted or 0)


def _attribute_outcomes(session: Session, window, dialect: str) -> tuple[int, int]:
    """Attribute the window's outcomes to their sends (one index probe each) into a
    temporary table, then fold them into the ledger with one UPDATE ... FROM: OR the
    bits in, keep the first reply time. Returns (attributed, with no earlier send)."""
    target = (
        select(S.c.event_pk)
        .where(
            S.c.candidate_pk == E.c.candidate_pk,
            S.c.thread == _thread(E),
            S.c.sent_at <= E.c.occurred_at,
        )
        .order_by(S.c.sent_at.desc(), S.c.event_pk.desc())
        .limit(1)
        .scalar_subquery()
    )
    bit = case(
        (and_(E.c.kind == "email_opened", _machine(E, dialect)), MACHINE_OPEN),
        *((E.c.kind == kind, b) for kind, b in OUTCOME_BITS.items()),
        else_=0,
    )
    attributed = select(
        target.label("target"), bit.label("bit"), E.c.occurred_at.label("at")
    ).where(
        window,
        _kind_in(E, list(OUTCOME_BITS), dialect, indexed=False),
        _text(E, "decision_id").is_(None),
    )
    _temp_table(session, ATTRIBUTED, attributed, dialect)
    tmp = table(ATTRIBUTED, column_("target"), column_("bit"), column_("at"))
    total, found = session.execute(select(func.count(), func.count(tmp.c.target))).one()
    total, found = int(total or 0), int(found or 0)
    if found:
        # per send, the OR of its new bits (a bitwise-OR aggregate exists on neither
        # dialect: MAX per bit, then a sum of distinct powers of two)
        per_send = (
            select(
                tmp.c.target,
                sum(
                    func.max(case((tmp.c.bit == b, b), else_=0))
                    for b in (
                        DELIVERED,
                        OPENED,
                        MACHINE_OPEN,
                        CLICKED,
                        REPLIED,
                        UNSUBSCRIBED,
                        BOUNCED,
                    )
                ).label("bits"),
                func.min(case((tmp.c.bit == REPLIED, tmp.c.at))).label("replied"),
            )
            .where(tmp.c.target.is_not(None))
            .group_by(tmp.c.target)
            .subquery("per_send")
        )
        bits, replied = per_send.c.bits, per_send.c.replied
        session.execute(
            update(S)
            .where(S.c.event_pk == per_send.c.target)
            .values(
                outcomes=S.c.outcomes.op("|")(bits),
                replied_at=_first(S.c.replied_at, replied),
            )
        )
    _drop_temp(session, ATTRIBUTED, dialect)
    return found, total - found


def _update_people(session: Session, window, dialect: str) -> None:
    """Fold the window's contacts, replies and stage changes into analytics_people: per
    person the earliest time of each (an upsert that keeps the earlier time)."""
    conditions = {
        "first_contact_at": E.c.kind.in_(CONTACT_KINDS),
        "first_reply_at": E.c.kind.in_(REPLY_KINDS),
        **{
            column: and_(E.c.kind == "stage_changed", E.c.stage == stage)
            for stage, column in STAGE_COLUMNS.items()
        },
    }
    kinds = sorted({*CONTACT_KINDS, *REPLY_KINDS, "stage_changed"})
    per_person = (
        select(
            E.c.candidate_pk,
            *(func.min(case((cond, E.c.occurred_at))).label(c) for c, cond in conditions.items()),
        )
        .where(window, _kind_in(E, kinds, dialect, indexed=False))
        .group_by(E.c.candidate_pk)
    )
    stmt = dialect_insert(session, P).from_select(["candidate_pk", *conditions], per_person)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["candidate_pk"],
            set_={c: _first(P.c[c], stmt.excluded[c]) for c in conditions},
        )
    )


def _first(column, new):
    """The earlier of the stored time and a new one (either may be NULL)."""
    return case((or_(column.is_(None), new < column), func.coalesce(new, column)), else_=column)


def refresh(
    session_factory,
    *,
    grace: timedelta,
    batch: int = DEFAULT_BATCH,
    max_batches: int | None = None,
    progress=lambda result: None,
    should_stop=lambda: False,
) -> RefreshResult:
    """Catch the ledger up to the timeline in batches, one write transaction each (so a
    long first build never holds the database for its whole length). `session_factory()`
    is a context manager giving a write transaction (Database.transaction)."""
    done = RefreshResult(0, 0, 0, 0, 0, False)
    n = 0
    while True:
        with session_factory() as session:
            step = refresh_batch(session, grace=grace, batch=batch)
        done = RefreshResult(
            done.events + step.events,
            done.sends + step.sends,
            done.outcomes + step.outcomes,
            done.unattributed + step.unattributed,
            step.position,
            step.behind,
        )
        progress(done)
        n += 1
        if not step.behind or (max_batches is not None and n >= max_batches) or should_stop():
            return done


def rebuild(session: Session) -> None:
    """Forget the ledger; the next refresh rebuilds it from the whole timeline."""
    session.execute(delete(S))
    session.execute(delete(V))
    session.execute(delete(P))
    session.execute(delete(AnalyticsCursorRow).where(AnalyticsCursorRow.name == LEDGER))


# ------------------------------------------------------------------ campaign counts


@dataclass(frozen=True)
class SendCounts:
    """Sends of one variant (channel, template, sequence, step, content item) and how many
    of them had each outcome. `first` counts sends that opened a thread (campaigns)."""

    channel: str
    template: str
    sequence_id: str
    step: str
    content_id: str
    sent: int
    delivered: int
    opened: int
    machine_opened: int
    clicked: int
    replied: int
    unsubscribed: int
    bounced: int
    first: int = 0


def _unindexed(column, dialect: str):
    """On SQLite, the column as an expression no index can serve (`col || ''`): a range
    that spans most of the ledger is faster read from a covering index end to end than
    probed through the time index with a table fetch per row. Same values and type."""
    if dialect != "sqlite":
        return column
    return type_coerce(column.op("||")(literal("")), column.type)


def send_counts(
    session: Session, since: datetime, until: datetime, templates: Sequence[str] = ()
) -> list[SendCounts]:
    """Ledger sends made in [since, until), counted per variant. The database counts
    sends per (variant, outcome bit set): one pass over the covering index (variant,
    outcomes, sent_at), a few hundred groups, no per-row CASE; the bits are unpacked here."""
    sent_at = _unindexed(S.c.sent_at, _dialect(session))
    stmt = (
        select(S.c.variant_pk, S.c.outcomes, func.count())
        .where(sent_at >= since, sent_at < until)
        .group_by(S.c.variant_pk, S.c.outcomes)
    )
    if templates:
        stmt = stmt.where(
            S.c.variant_pk.in_(select(V.c.pk).where(V.c.template.in_(list(templates))))
        )
    per_variant: dict[int, list[int]] = {}
    for variant, bits, n in session.execute(stmt):
        counts = per_variant.setdefault(variant, [0] * (len(BITS) + 1))
        counts[0] += n
        for i, bit in enumerate(BITS.values(), start=1):
            if bits & bit:
                counts[i] += n
    if not per_variant:
        return []
    variants = session.execute(
        select(V.c.pk, V.c.channel, V.c.template, V.c.sequence_id, V.c.step, V.c.content_id).where(
            V.c.pk.in_(list(per_variant))
        )
    )
    return [
        SendCounts(ch, tpl, seq, step, content, *per_variant[pk])
        for pk, ch, tpl, seq, step, content in variants
    ]


def known_templates(session: Session, names: Iterable[str]) -> set[str]:
    """Which of these template names were ever sent (any time)."""
    names = list(names)
    if not names:
        return set()
    return set(
        session.execute(select(V.c.template).where(V.c.template.in_(names)).distinct()).scalars()
    )


def content_counts(session: Session, since: datetime, until: datetime) -> list[SendCounts]:
    """NextBestContent sends per content item from the decision log: a decision went out
    when an outcome says so (`sent_at`); machine opens come from the outcome rows."""
    d = ContentDecisionRow.__table__
    o = ContentOutcomeRow.__table__
    delivered = (
        select(o.c.decision_pk)
        .where(o.c.kind == "delivered")
        .where(o.c.decision_pk == d.c.pk)
        .exists()
    )
    machine = (
        select(o.c.decision_pk)
        .where(o.c.kind == "opened", o.c.machine.is_(True))
        .where(o.c.decision_pk == d.c.pk)
        .exists()
    )
    item = ContentItemRow.__table__
    stmt = (
        select(
            d.c.channel,
            item.c.id,
            func.count(),
            func.count(case((delivered, 1))),
            func.count(d.c.opened_at),
            func.count(case((machine, 1))),
            func.count(d.c.clicked_at),
            func.count(d.c.replied_at),
            func.count(d.c.unsubscribed_at),
            func.count(d.c.bounced_at),
        )
        .join(item, item.c.pk == d.c.content_pk)
        .where(d.c.sent_at >= since, d.c.sent_at < until)
        .group_by(d.c.channel, item.c.id)
    )
    return [
        SendCounts(ch or "email", "", "", "", cid, n, dl, op, m, c, r, u, b)
        for ch, cid, n, dl, op, m, c, r, u, b in session.execute(stmt)
    ]


def content_titles(session: Session, ids: Iterable[str]) -> dict[str, str]:
    ids = [i for i in set(ids) if i]
    if not ids:
        return {}
    rows = session.execute(
        select(ContentItemRow.id, ContentItemRow.title).where(ContentItemRow.id.in_(ids))
    )
    return dict(rows.all())


def sequence_names(session: Session, ids: Iterable[str]) -> dict[str, str]:
    ids = [i for i in set(ids) if i]
    if not ids:
        return {}
    rows = session.execute(
        select(OutreachSequenceRow.id, OutreachSequenceRow.name).where(
            OutreachSequenceRow.id.in_(ids)
        )
    )
    return dict(rows.all())


# ------------------------------------------------------------------ pools and pipeline


def pool_pk(session: Session, pool_id: str) -> int:
    """The integer key of a pool id, or NotFound."""
    pk = session.execute(select(PoolRow.pk).where(PoolRow.id == pool_id)).scalar_one_or_none()
    if pk is None:
        raise NotFound("pool", pool_id)
    return pk


def _population(pool_pk: int | None):
    """(candidate pk, joined-at) of the population a pool report is about: everyone active,
    or one pool's members with the time they were added."""
    c = CandidateRow.__table__
    if pool_pk is None:
        return (
            select(c.c.pk.label("pk"), c.c.created_at.label("joined_at"), c.c.source)
            .where(c.c.status == "active")
            .subquery("population")
        )
    m = PoolMemberRow.__table__
    return (
        select(m.c.candidate_pk.label("pk"), m.c.added_at.label("joined_at"), c.c.source)
        .join(c, c.c.pk == m.c.candidate_pk)
        .where(m.c.pool_pk == pool_pk)
        .subquery("population")
    )


def _period_start(column, interval: str, dialect: str):
    if dialect == "postgresql":
        return func.date_trunc(interval, column, "UTC")
    if interval == "week":  # Monday
        return func.date(column, "weekday 0", "-6 days")
    if interval == "quarter":
        month = cast(func.strftime("%m", column), Float)
        first = ((month - 1) / 3).cast(sqlite.INTEGER) * 3 + 1
        return func.printf("%s-%02d-01", func.strftime("%Y", column), first)
    return func.date(column, "start of month")


def growth(
    session: Session,
    since: datetime,
    until: datetime,
    interval: str,
    pool_pk: int | None = None,
) -> tuple[dict[str, int], list[tuple[str, str, int]]]:
    """(people per source who joined before `since`, [(period start, source, joined)])."""
    dialect = _dialect(session)
    pop = _population(pool_pk)
    before = dict(
        session.execute(
            select(pop.c.source, func.count()).where(pop.c.joined_at < since).group_by(pop.c.source)
        ).all()
    )
    period = _period_start(pop.c.joined_at, interval, dialect).label("period")
    rows = session.execute(
        select(period, pop.c.source, func.count())
        .where(pop.c.joined_at >= since, pop.c.joined_at < until)
        .group_by(period, pop.c.source)
        .order_by(period)
    ).all()
    out = []
    for p, source, n in rows:
        if isinstance(p, datetime):
            day = (p.astimezone(UTC) if p.tzinfo else p).date().isoformat()
        else:
            day = str(p)[:10]
        out.append((day, source or "", int(n)))
    return {k or "": int(v) for k, v in before.items()}, out


@dataclass(frozen=True)
class ReachCounts:
    """People of one source (joined in the range) by the furthest stage reached (0: none)
    and whether they were contacted and replied, as of `until`."""

    source: str
    furthest: int
    contacted: bool
    replied: bool
    people: int


def _furthest(until: datetime):
    """The highest ladder rank reached before `until` (0: none), from analytics_people."""
    return case(
        *((P.c[STAGE_COLUMNS[stage]] < until, RANK[stage]) for stage in reversed(LADDER)),
        else_=0,
    )


def reach(
    session: Session, since: datetime, until: datetime, pool_pk: int | None = None
) -> list[ReachCounts]:
    """The cohort that joined in [since, until): how far each got before `until` (the
    first time of each stage in analytics_people, or a pool member's current stage when
    that is further), counted per (source, furthest, contacted, replied) in the database."""
    pop = _population(pool_pk)
    m = PoolMemberRow.__table__
    member_rank = case(*((m.c.stage == s, r) for s, r in RANK.items()), else_=0)
    members = select(m.c.candidate_pk.label("pk"), func.max(member_rank).label("rank"))
    if pool_pk is not None:
        members = members.where(m.c.pool_pk == pool_pk)
    members = members.group_by(m.c.candidate_pk).subquery("members")
    stage_rank = _furthest(until)
    member = func.coalesce(members.c.rank, 0)
    per_person = (
        select(
            pop.c.source.label("source"),
            case((member > stage_rank, member), else_=stage_rank).label("furthest"),
            case((P.c.first_contact_at < until, 1), else_=0).label("contacted"),
            case((P.c.first_reply_at < until, 1), else_=0).label("replied"),
        )
        .select_from(pop)
        .outerjoin(P, P.c.candidate_pk == pop.c.pk)
        .outerjoin(members, members.c.pk == pop.c.pk)
        .where(pop.c.joined_at >= since, pop.c.joined_at < until)
        .subquery("per_person")
    )
    keys = (
        per_person.c.source,
        per_person.c.furthest,
        per_person.c.contacted,
        per_person.c.replied,
    )
    rows = session.execute(select(*keys, func.count()).group_by(*keys))
    return [
        ReachCounts(source or "", int(f), bool(c), bool(r), int(n)) for source, f, c, r, n in rows
    ]


@dataclass(frozen=True)
class HourStats:
    """Count, median and 90th percentile (linear interpolation) of durations in hours."""

    count: int
    median: float
    p90: float


def _quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks: PostgreSQL's percentile_cont."""
    pos = q * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return float(values[lo] + (values[hi] - values[lo]) * (pos - lo))


def hour_stats(session: Session, query) -> HourStats:
    """HourStats of a one-column query of hours (negative values left out). PostgreSQL
    computes the percentiles itself (percentile_cont); SQLite has no percentile function,
    so the values come back (sorted by SQLite) and are interpolated here the same way."""
    inner = query.subquery("hours")
    (h,) = inner.c
    if _dialect(session) == "postgresql":
        n, median, p90 = session.execute(
            select(
                func.count(h),
                func.percentile_cont(0.5).within_group(h),
                func.percentile_cont(0.9).within_group(h),
            ).where(h >= 0)
        ).one()
        if not n:
            return HourStats(0, float("nan"), float("nan"))
        return HourStats(int(n), float(median), float(p90))
    values = sorted(session.execute(select(h).where(h >= 0)).scalars())
    if not values:
        return HourStats(0, float("nan"), float("nan"))
    return HourStats(len(values), _quantile(values, 0.5), _quantile(values, 0.9))


def first_contact_hours(
    session: Session, since: datetime, until: datetime, pool_pk: int | None = None
) -> HourStats:
    """Hours from joining to the first contact after it, for people who joined in the range
    and were contacted before `until` (one value per person). Everyone: from the first
    contact in analytics_people; a pool: the first contact after being added, from the
    timeline (a pool member may have been contacted long before)."""
    dialect = _dialect(session)
    pop = _population(pool_pk)
    if pool_pk is None:
        first = P.c.first_contact_at
        stmt = (
            select(_hours_between(first, pop.c.joined_at, dialect))
            .select_from(pop)
            .join(P, P.c.candidate_pk == pop.c.pk)
            .where(
                pop.c.joined_at >= since,
                pop.c.joined_at < until,
                first < until,
                first >= pop.c.joined_at,
            )
        )
        return hour_stats(session, stmt)
    first = (
        select(func.min(E.c.occurred_at))
        .where(
            E.c.candidate_pk == pop.c.pk,
            E.c.kind.in_(CONTACT_KINDS),
            E.c.occurred_at >= pop.c.joined_at,
            E.c.occurred_at < until,
        )
        .scalar_subquery()
    )
    inner = (
        select(_hours_between(first, pop.c.joined_at, dialect).label("h"))
        .where(pop.c.joined_at >= since, pop.c.joined_at < until)
        .subquery()
    )
    return hour_stats(session, select(inner.c.h).where(inner.c.h.is_not(None)))


def reply_hours(
    session: Session, since: datetime, until: datetime, pool_pk: int | None = None
) -> HourStats:
    """Hours from a send (made in the range) to its reply, for sends that got one."""
    dialect = _dialect(session)
    stmt = select(_hours_between(S.c.replied_at, S.c.sent_at, dialect)).where(
        S.c.sent_at >= since, S.c.sent_at < until, S.c.replied_at.is_not(None)
    )
    if pool_pk is not None:
        stmt = stmt.where(
            S.c.candidate_pk.in_(
                select(PoolMemberRow.candidate_pk).where(PoolMemberRow.pool_pk == pool_pk)
            )
        )
    return hour_stats(session, stmt)


def reengagement(
    session: Session,
    since: datetime,
    until: datetime,
    dormant_days: float,
    pool_pk: int | None = None,
) -> tuple[int, int]:
    """(dormant threads: sends in the range after at least `dormant_days` without contact
    or response, how many of those threads got a reply)."""
    later = S.alias("later")
    replied = (
        select(later.c.event_pk)
        .where(
            later.c.candidate_pk == S.c.candidate_pk,
            later.c.thread == S.c.thread,
            later.c.sent_at >= S.c.sent_at,
            later.c.replied_at.is_not(None),
        )
        .exists()
    )
    stmt = select(func.count(), func.count(case((replied, 1)))).where(
        S.c.sent_at >= since,
        S.c.sent_at < until,
        S.c.quiet_days >= dormant_days,
    )
    if pool_pk is not None:
        stmt = stmt.where(
            S.c.candidate_pk.in_(
                select(PoolMemberRow.candidate_pk).where(PoolMemberRow.pool_pk == pool_pk)
            )
        )
    total, got = session.execute(stmt).one()
    return int(total or 0), int(got or 0)


def population_size(session: Session, until: datetime, pool_pk: int | None = None) -> int:
    pop = _population(pool_pk)
    return int(
        session.execute(
            select(func.count()).select_from(pop).where(pop.c.joined_at < until)
        ).scalar_one()
    )


__all__ = [
    "LADDER",
    "LEDGER",
    "RANK",
    "HourStats",
    "ReachCounts",
    "RefreshResult",
    "SendCounts",
    "content_counts",
    "content_titles",
    "first_contact_hours",
    "growth",
    "hour_stats",
    "known_templates",
    "pool_pk",
    "population_size",
    "position",
    "reach",
    "rebuild",
    "reengagement",
    "refresh",
    "refresh_batch",
    "reply_hours",
    "send_counts",
    "sequence_names",
]
