"""`rapport report campaigns|pools|models|fairness`: the analytics reports (DESIGN §10).

A thin client of AnalyticsService. `--format table` prints Rich tables, `json` the report
as plain JSON (numbers as numbers, times as ISO 8601, NaN as null), `html` one
self-contained page with inline SVG charts (`rapport.cli.report_html`), on stdout or into
`--out FILE`. For an external bias audit, `report fairness --audit-file F --group-column C
--selected-column C` reads the file here and sends only the counts per group.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message
from rich.table import Table

from rapport.cli.client import ClientOptions, channel
from rapport.cli.output import console, errors, key_value_table
from rapport.core.errors import ValidationFailed
from rapport.v1 import analytics_pb2 as pb
from rapport.v1 import analytics_pb2_grpc as pb_grpc

report_app = typer.Typer(
    no_args_is_help=True,
    help="Analytics reports: campaigns, pools and pipeline, the engagement model, fairness.",
)
FORMATS = ("table", "json", "html")
REPORT_TIMEOUT_S = 600.0  # the first report after a bulk load builds the send ledger
RANK_PAGE = 1000


# ------------------------------------------------------------------ plumbing


def to_plain(message: Message) -> dict:
    """A message as plain JSON-able data: every field present (zeros included), int64 as
    numbers, timestamps as ISO 8601 (None when unset), NaN and infinities as None."""
    out = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.message_type is not None and field.message_type.full_name == (
            "google.protobuf.Timestamp"
        ):
            if field.is_repeated:
                out[field.name] = [_time(v) for v in value]
            else:
                out[field.name] = _time(value) if message.HasField(field.name) else None
        elif field.message_type is not None:
            if field.is_repeated:
                out[field.name] = [to_plain(v) for v in value]
            else:
                out[field.name] = to_plain(value)
        elif field.is_repeated:
            out[field.name] = [_scalar(v) for v in value]
        else:
            out[field.name] = _scalar(value)
    return out


def _time(ts: timestamp_pb2.Timestamp) -> str:
    return ts.ToDatetime(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _scalar(value):
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def _when(text: str | None, option: str) -> timestamp_pb2.Timestamp | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date like 2025-06-01 or 2025-06-01T09:00", param_hint=option
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def _range(since: str | None, until: str | None) -> pb.DateRange:
    r = pb.DateRange()
    if (s := _when(since, "--since")) is not None:
        r.since.CopyFrom(s)
    if (u := _when(until, "--until")) is not None:
        r.until.CopyFrom(u)
    return r


def _format(opts: ClientOptions, fmt: str) -> str:
    fmt = "json" if opts.json else fmt
    if fmt not in FORMATS:
        raise typer.BadParameter(f"one of {', '.join(FORMATS)}", param_hint="--format")
    return fmt


def _emit(kind: str, data: dict, fmt: str, out: Path | None, table) -> None:
    if fmt == "json":
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    elif fmt == "html":
        from rapport.cli.report_html import render

        text = render(kind, data)
    else:
        if out is not None:
            raise typer.BadParameter("--out needs --format json or html", param_hint="--out")
        table(data)
        return
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out}", highlight=False)


def _stub(ch) -> pb_grpc.AnalyticsServiceStub:
    return pb_grpc.AnalyticsServiceStub(ch)


def _pct(r: dict) -> str:
    if not r or not r["denominator"]:
        return "n/a"
    if not r["enough_data"]:
        return f"n/a ({r['numerator']}/{r['denominator']})"
    return f"{100 * r['value']:.1f}%"


def _notes(data: dict) -> None:
    for note in data.get("notes", []):
        console.print(f"[dim]• {note}[/dim]", highlight=False)


SINCE = typer.Option(None, "--since", help="Start (inclusive), e.g. 2025-01-01.")
UNTIL = typer.Option(None, "--until", help="End (exclusive); default now.")
FORMAT = typer.Option("table", "--format", help="table | json | html")
OUT = typer.Option(None, "--out", help="Write the report here instead of stdout.")


# ------------------------------------------------------------------ campaigns


def _campaign_tables(d: dict) -> None:
    t = d["totals"]
    console.print(
        key_value_table(
            f"Campaigns {d['since'][:10]} to {d['until'][:10]}",
            {
                "sends": f"{t['sent']:,}",
                "campaigns / threads": f"{d['campaigns']:,}",
                "delivered": _pct(t["delivery_rate"]),
                "opened (human)": _pct(t["open_rate"]),
                "machine-opened sends (excluded)": f"{t['machine_opens']:,}",
                "clicked": _pct(t["click_rate"]),
                "replied": _pct(t["reply_rate"]),
                "unsubscribed": _pct(t["unsubscribe_rate"]),
                "bounced": _pct(t["bounce_rate"]),
            },
        )
    )
    for title, rows, key in (
        ("By template", d["by_template"], "key"),
        ("By step", d["by_step"], "label"),
        ("By sequence", d["by_sequence"], "label"),
        ("By content item", d["by_content"], "label"),
        ("By channel", d["by_channel"], "key"),
    ):
        if not rows:
            continue
        table = Table(title=title)
        for col in ("name", "sent", "delivered", "opened", "clicked", "replied", "reply 95%"):
            table.add_column(col, justify="left" if col == "name" else "right")
        for s in rows:
            r = s["reply_rate"]
            interval = (
                f"{100 * r['ci_low']:.1f}-{100 * r['ci_high']:.1f}%" if r["enough_data"] else ""
            )
            table.add_row(
                s[key],
                f"{s['sent']:,}",
                _pct(s["delivery_rate"]),
                _pct(s["open_rate"]),
                _pct(s["click_rate"]),
                _pct(s["reply_rate"]),
                interval,
            )
        console.print(table)
    if d["comparisons"]:
        table = Table(title="A/B comparisons (Holm-adjusted p)")
        for col in ("group", "leader", "variant", "test", "adj. p", "verdict"):
            table.add_column(col)
        for c in d["comparisons"]:
            p = c["p_adjusted"]
            table.add_row(
                c["group"],
                c["leader"],
                c["variant"],
                c["test"],
                f"{p:.3g}" if p is not None else "",
                c["verdict"],
            )
        console.print(table)
    _notes(d)


@report_app.command("campaigns")
def campaigns(
    ctx: typer.Context,
    since: str = SINCE,
    until: str = UNTIL,
    fmt: str = FORMAT,
    out: Path = OUT,
    template: list[str] = typer.Option([], "--template", help="Only this template (repeat)."),
    metric: str = typer.Option("reply", "--metric", help="A/B metric: reply | open | click."),
) -> None:
    """Sends per template, step, sequence, content item and channel, with A/B tests."""
    opts: ClientOptions = ctx.obj
    fmt = _format(opts, fmt)
    request = pb.CampaignReportRequest(
        range=_range(since, until), templates=template, metric=metric
    )
    with channel(opts) as ch:
        response = _stub(ch).CampaignReport(
            request, timeout=max(opts.timeout, REPORT_TIMEOUT_S), metadata=opts.metadata()
        )
    _emit("campaigns", to_plain(response), fmt, out, _campaign_tables)


# ------------------------------------------------------------------ pools


def _pool_tables(d: dict) -> None:
    fc, rt, re = d["time_to_first_contact"], d["time_to_reply"], d["reengagement"]

    def dur(x: dict) -> str:
        if not x["count"]:
            return "n/a"
        return f"median {x['median_hours']:.1f} h, p90 {x['p90_hours']:.1f} h (n={x['count']:,})"

    console.print(
        key_value_table(
            f"Pool {d['pool_id'] or '(everyone)'} {d['since'][:10]} to {d['until'][:10]}",
            {
                "in the pool": f"{d['pool_size']:,}",
                "joined in the range": f"{d['added']:,}",
                "time to first contact": dur(fc),
                "time to reply": dur(rt),
                f"re-engaged after {re['dormant_days']}+ quiet days": (
                    f"{_pct(re['replied'])} of {re['contacted']:,}"
                ),
            },
        )
    )
    table = Table(title="Funnel")
    for col in ("stage", "people", "of previous", "of everyone"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for f in d["funnel"]:
        table.add_row(
            f["stage"], f"{f['count']:,}", _pct(f["from_previous"]), _pct(f["from_start"])
        )
    console.print(table)
    table = Table(title="Source quality (of those who joined in the range)")
    for col in ("source", "people", "contacted", "replied", "interview", "final round", "hired"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for s in d["sources"]:
        table.add_row(
            s["source"],
            f"{s['candidates']:,}",
            *(_pct(s[k]) for k in ("contacted", "replied", "interview", "final_round", "hired")),
        )
    console.print(table)
    _notes(d)


@report_app.command("pools")
def pools(
    ctx: typer.Context,
    since: str = SINCE,
    until: str = UNTIL,
    fmt: str = FORMAT,
    out: Path = OUT,
    pool: str = typer.Option("", "--pool", help="One pool's members instead of everyone."),
    interval: str = typer.Option("month", "--interval", help="week | month | quarter"),
) -> None:
    """Pool growth by source, source quality, the funnel, time to contact and to reply."""
    opts: ClientOptions = ctx.obj
    fmt = _format(opts, fmt)
    request = pb.PoolReportRequest(range=_range(since, until), pool_id=pool, interval=interval)
    with channel(opts) as ch:
        response = _stub(ch).PoolReport(
            request, timeout=max(opts.timeout, REPORT_TIMEOUT_S), metadata=opts.metadata()
        )
    _emit("pools", to_plain(response), fmt, out, _pool_tables)


# ------------------------------------------------------------------ models


def _model_tables(d: dict) -> None:
    def f(x, spec=".4f"):
        return "n/a" if x is None else format(x, spec)

    console.print(
        key_value_table(
            f"Engagement model {d['model_name']}/{d['model_version']}",
            {
                "horizon (days)": f(d["horizon_days"], ".0f"),
                "people scored now": f"{d['scored']:,}",
                "recent outcomes": f"{d['outcomes']:,}",
                "observed response rate": _pct(d["observed_rate"]),
                "mean predicted": f(d["mean_predicted"]),
                "ROC-AUC": f(d["roc_auc"], ".3f"),
                "Brier": f(d["brier"]),
                "ECE": f(d["ece"]),
                "ranking usage": d["ranking_usage"]["note"],
            },
        )
    )
    if d["drift"]:
        table = Table(title=f"Feature drift (PSI; warning at {d['psi_warning']:g})")
        for col in ("feature", "PSI", ""):
            table.add_column(col)
        for x in d["drift"][:15]:
            table.add_row(
                x["feature"], f(x["psi"], ".3f"), "[red]drift[/red]" if x["warning"] else ""
            )
        console.print(table)
    _notes(d)


@report_app.command("models")
def models(
    ctx: typer.Context,
    since: str = SINCE,
    until: str = UNTIL,
    fmt: str = FORMAT,
    out: Path = OUT,
    version: str = typer.Option("", "--version", help="A model version (default: champion)."),
    sample: int = typer.Option(0, "--sample", help="People scored (0: the server's default)."),
) -> None:
    """Scores, calibration on recent outcomes and feature drift of the engagement model."""
    opts: ClientOptions = ctx.obj
    fmt = _format(opts, fmt)
    request = pb.ModelReportRequest(
        range=_range(since, until), model_version=version, sample=sample
    )
    with channel(opts) as ch:
        response = _stub(ch).ModelReport(
            request, timeout=max(opts.timeout, REPORT_TIMEOUT_S), metadata=opts.metadata()
        )
    _emit("models", to_plain(response), fmt, out, _model_tables)


# ------------------------------------------------------------------ fairness


def _fairness_tables(d: dict) -> None:
    console.print(
        key_value_table(
            f"Adverse impact: {d['label']}",
            {
                "selection": d["selection_rule"],
                "assessed": f"{d['population']:,}",
                "selected": f"{d['selected']:,}",
                "flagged groups": str(d["flagged_groups"]),
            },
        )
    )
    for t in d["tables"]:
        table = Table(title=t["characteristic"])
        for col in ("group", "people", "selected", "rate", "impact ratio", ""):
            table.add_column(col, justify="left" if col in ("group", "") else "right")
        for g in t["groups"]:
            ratio = g["impact_ratio"]
            flag = (
                "too small to judge"
                if g["too_small"]
                else "[red]below threshold[/red]"
                if g["flagged"]
                else "highest"
                if g["reference"]
                else ""
            )
            table.add_row(
                g["group"],
                f"{g['total']:,}",
                f"{g['selected']:,}",
                _pct(g["selection_rate"]),
                f"{ratio:.2f}" if (ratio is not None and not g["too_small"]) else "-",
                flag,
            )
        table.add_row("unknown (excluded)", f"{t['unknown']:,}", "", "", "", "")
        console.print(table)
        if t["note"]:
            console.print(f"[dim]{t['note']}[/dim]", highlight=False)
    console.print(f"[dim]{d['method']}[/dim]", highlight=False)
    _notes(d)


def _ranked_ids(opts: ClientOptions, ch, role_file: str, pool: str, segment: str, depth: int):
    from rapport.cli.matching import role_from_json
    from rapport.v1 import matching_pb2 as mpb
    from rapport.v1 import matching_pb2_grpc as mpb_grpc

    try:
        role = role_from_json(json.loads(Path(role_file).read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        raise typer.BadParameter(f"cannot read the role file: {exc}", param_hint="--role") from None
    stub = mpb_grpc.MatchingServiceStub(ch)
    ids: list[str] = []
    token = ""
    while len(ids) < depth:
        request = mpb.RankCandidatesRequest(
            role=role,
            filters=mpb.MatchFilters(pool_id=pool, segment_id=segment),
            top_k=min(RANK_PAGE, depth - len(ids)),
            page_token=token,
        )
        response = stub.RankCandidates(request, timeout=opts.timeout, metadata=opts.metadata())
        ids += [r.candidate_id for r in response.results]
        token = response.next_page_token
        if not token or not response.results:
            break
    return ids, role.title


@report_app.command("fairness")
def fairness(
    ctx: typer.Context,
    fmt: str = FORMAT,
    out: Path = OUT,
    audit_file: Path = typer.Option(None, "--audit-file", help="CSV of people and outcomes."),
    group_column: list[str] = typer.Option(
        [], "--group-column", help="A group column of the audit file (repeat for several)."
    ),
    selected_column: str = typer.Option(
        "", "--selected-column", help="The audit file's yes/no selection column."
    ),
    role: str = typer.Option(None, "--role", help="Audit a ranking for this role file."),
    top: int = typer.Option(0, "--top", help="With --role: the top K count as selected."),
    depth: int = typer.Option(1000, "--depth", help="With --role: how many ranked people."),
    pool: str = typer.Option("", "--pool", help="With --role: rank this pool."),
    segment: str = typer.Option("", "--segment", help="With --role: rank this segment."),
    model: bool = typer.Option(False, "--model", help="Audit the engagement model's scores."),
    version: str = typer.Option("", "--version", help="With --model: a version (champion)."),
    threshold: float = typer.Option(
        0.0, "--threshold", help="With --model: selected at or above (0: above the median)."
    ),
    until: str = UNTIL,
) -> None:
    """Selection rates and impact ratios by group (NYC Local Law 144 method)."""
    opts: ClientOptions = ctx.obj
    fmt = _format(opts, fmt)
    chosen = sum(map(bool, (audit_file, role, model)))
    if chosen != 1:
        raise typer.BadParameter("give one of --audit-file, --role or --model")
    request = pb.FairnessReportRequest(range=_range(None, until))
    if audit_file is not None:
        from rapport.models.fairness import read_audit_file

        try:
            data = read_audit_file(audit_file, group_column, selected_column)
        except ValidationFailed as exc:
            errors.print(
                "INVALID_ARGUMENT: the audit file cannot be used", markup=False, highlight=False
            )
            for v in exc.violations:
                errors.print(f"  {v.field}: {v.reason}", markup=False, highlight=False)
            raise typer.Exit(1) from None
        request.audit.CopyFrom(
            pb.AuditCounts(
                group_columns=list(data.group_columns),
                counts=[
                    pb.AuditCount(groups=list(k), selected=s, total=t)
                    for k, (s, t) in sorted(data.counts.items())
                ],
                source=data.source,
            )
        )
    elif model:
        request.model.CopyFrom(pb.ModelSelection(model_version=version, threshold=threshold))
    with channel(opts) as ch:
        if role:
            if top <= 0:
                raise typer.BadParameter("with --role, give --top K", param_hint="--top")
            ids, title = _ranked_ids(opts, ch, role, pool, segment, depth)
            request.ranking.CopyFrom(pb.RankingSelection(candidate_ids=ids, top_k=top, label=title))
        response = _stub(ch).FairnessReport(
            request, timeout=max(opts.timeout, REPORT_TIMEOUT_S), metadata=opts.metadata()
        )
    _emit("fairness", to_plain(response), fmt, out, _fairness_tables)


@report_app.command("rebuild-ledger")
def rebuild_ledger(ctx: typer.Context) -> None:
    """Local admin: rebuild the send ledger reports read from the whole timeline (after
    restoring a backup, merging people, or a writer transaction longer than the ledger's
    grace period on PostgreSQL). Reports keep working meanwhile; this can take minutes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from rapport.core.config import Settings
    from rapport.core.store import analytics as ledger
    from rapport.core.store.db import Database

    settings = Settings()
    db = Database(settings.effective_database_url, settings=settings)
    try:
        with db.read() as session:
            _, head, _ = ledger.position(session)
        with db.transaction() as session:
            ledger.rebuild(session)
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=ctx.obj.json,
        ) as bar:
            task = bar.add_task("timeline events", total=head)
            done = ledger.refresh(
                db.transaction,
                grace=timedelta(seconds=settings.analytics_ledger_grace_s),
                batch=settings.analytics_ledger_batch,
                progress=lambda r: bar.update(task, completed=r.position),
            )
    finally:
        db.close()
    summary = {
        "events": done.events,
        "sends": done.sends,
        "outcomes": done.outcomes,
        "unattributed": done.unattributed,
    }
    if ctx.obj.json:
        sys.stdout.write(json.dumps(summary) + "\n")
    else:
        console.print(
            key_value_table("send ledger rebuilt", {k: f"{v:,}" for k, v in summary.items()})
        )


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")


__all__ = ["register", "report_app", "to_plain"]
