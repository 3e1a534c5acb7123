"""Client verbs for the core store: candidates, pools, segments and the change feed."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import typer
from google.protobuf import field_mask_pb2, json_format
from rich.table import Table

from rapport.cli.client import ClientOptions, channel
from rapport.cli.filters import parse_filters
from rapport.cli.output import (
    candidate_detail,
    candidates_table,
    console,
    emit_json,
    errors,
    key_value_table,
)
from rapport.v1 import candidates_pb2 as pb
from rapport.v1 import candidates_pb2_grpc as pb_grpc

candidates_app = typer.Typer(
    no_args_is_help=True, help="Candidates, imports, duplicates, timeline."
)
pools_app = typer.Typer(no_args_is_help=True, help="Static pools with a stage per member.")
segments_app = typer.Typer(no_args_is_help=True, help="Stored rules evaluated on read.")

FORMATS = {
    "csv": pb.IMPORT_FORMAT_CSV,
    "jsonresume": pb.IMPORT_FORMAT_JSON_RESUME,
    "json_resume": pb.IMPORT_FORMAT_JSON_RESUME,
    "ndjson": pb.IMPORT_FORMAT_NDJSON,
}
CHUNK = 256 * 1024
FILTER_HELP = (
    "FIELD[:OP]=V1,V2 — fields: skill, seniority, country, timezone, language, source, "
    "tag, pool, last_contacted_days, engagement_band, reached_final_round"
)


def _stub(ch) -> pb_grpc.CandidateServiceStub:
    return pb_grpc.CandidateServiceStub(ch)


def _opts(ctx: typer.Context) -> ClientOptions:
    return ctx.obj


def _read_json(source: str) -> dict:
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise typer.BadParameter("expected one JSON object")
    return data


def record_to_pb(data: dict) -> pb.Candidate:
    """A candidate JSON object (the NDJSON import shape or the API's own) as a message."""
    data = dict(data)
    loc = data.pop("location", None)
    location = loc if isinstance(loc, dict) else {}
    for key in ("city", "country", "timezone"):
        if key in data:
            location[key] = data.pop(key)
    for single, plural in (("email", "emails"), ("phone", "phones"), ("linkedin", "profile_urls")):
        if single in data:
            data.setdefault(plural, []).append(data.pop(single))
    skills = [
        {"label": s}
        if isinstance(s, str)
        else {"label": s.get("name") or s.get("label", "")}
        | {k: v for k, v in s.items() if k in ("level", "years", "source", "evidence")}
        for s in data.pop("skills", [])
    ]
    if isinstance(data.get("seniority"), str):
        data["seniority"] = "SENIORITY_" + (data["seniority"].upper() or "UNSPECIFIED")
    message = json_format.ParseDict(
        data | {"location": location, "skills": skills}, pb.Candidate(), ignore_unknown_fields=False
    )
    return message


def _show(ctx: typer.Context, c: pb.Candidate) -> None:
    if _opts(ctx).json:
        emit_json(c)
    else:
        console.print(candidate_detail(c))


@candidates_app.command("add")
def add(
    ctx: typer.Context, file: str = typer.Argument(..., help="JSON file, or - for stdin.")
) -> None:
    """Create one candidate from a JSON object."""
    try:
        message = record_to_pb(_read_json(file))
    except json_format.ParseError as exc:
        errors.print(f"INVALID_ARGUMENT: {exc}", markup=False)
        raise typer.Exit(1) from None
    with channel(_opts(ctx)) as ch:
        _show(
            ctx,
            _stub(ch).CreateCandidate(
                pb.CreateCandidateRequest(candidate=message),
                timeout=_opts(ctx).timeout,
                metadata=_opts(ctx).metadata(),
            ),
        )


@candidates_app.command("get")
def get(ctx: typer.Context, candidate_id: str) -> None:
    """Show one candidate."""
    with channel(_opts(ctx)) as ch:
        _show(
            ctx,
            _stub(ch).GetCandidate(
                pb.GetCandidateRequest(id=candidate_id),
                timeout=_opts(ctx).timeout,
                metadata=_opts(ctx).metadata(),
            ),
        )


@candidates_app.command("update")
def update_cmd(
    ctx: typer.Context,
    candidate_id: str,
    file: str = typer.Argument(..., help="JSON with the fields to change, or -."),
    expected_version: int = typer.Option(0, "--expected-version", help="Refuse if stale."),
) -> None:
    """Change the fields present in FILE (others stay as they are)."""
    data = _read_json(file)
    message = record_to_pb(data)
    message.id = candidate_id
    paths = sorted(
        {
            "location"
            if k in ("city", "country", "timezone")
            else {"email": "emails", "phone": "phones", "linkedin": "profile_urls"}.get(k, k)
            for k in data
        }
    )
    with channel(_opts(ctx)) as ch:
        _show(
            ctx,
            _stub(ch).UpdateCandidate(
                pb.UpdateCandidateRequest(
                    candidate=message,
                    update_mask=field_mask_pb2.FieldMask(paths=paths),
                    expected_version=expected_version,
                ),
                timeout=_opts(ctx).timeout,
                metadata=_opts(ctx).metadata(),
            ),
        )


@candidates_app.command("list")
def list_cmd(
    ctx: typer.Context,
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    page_token: str = typer.Option("", "--page-token"),
    filters: list[str] = typer.Option(None, "--filter", help=FILTER_HELP),
) -> None:
    """List candidates, one page at a time."""
    request = pb.ListCandidatesRequest(
        page_size=limit, page_token=page_token, filter=parse_filters(filters)
    )
    with channel(_opts(ctx)) as ch:
        resp = _stub(ch).ListCandidates(
            request, timeout=_opts(ctx).timeout, metadata=_opts(ctx).metadata()
        )
    if _opts(ctx).json:
        emit_json(resp)
        return
    console.print(candidates_table(resp.candidates))
    if resp.page.next_page_token:
        console.print(f"next page: --page-token {resp.page.next_page_token}")


def _import_requests(path: Path, header: pb.ImportHeader) -> Iterator[pb.ImportCandidatesRequest]:
    yield pb.ImportCandidatesRequest(header=header)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield pb.ImportCandidatesRequest(chunk=chunk)


@candidates_app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    fmt: str = typer.Option(..., "--format", help="csv | jsonresume | ndjson"),
    mapping: list[str] = typer.Option(None, "--map", help="CSV column=field (field '' ignores)."),
    source: str = typer.Option("", "--source", help="Source for records that name none."),
    region: str = typer.Option("", "--region", help="Country for national phone numbers."),
    skip: int = typer.Option(0, "--skip", min=0, help="Resume after this many records."),
    all_results: bool = typer.Option(False, "--all-results", help="A result per record."),
) -> None:
    """Stream a file to the server; re-importing the same file changes nothing."""
    if fmt.lower() not in FORMATS:
        raise typer.BadParameter("csv, jsonresume or ndjson", param_hint="--format")
    pairs = dict(m.split("=", 1) for m in mapping or [] if "=" in m)
    header = pb.ImportHeader(
        format=FORMATS[fmt.lower()],
        column_mapping=pairs,
        source=source,
        default_region=region,
        detail=pb.IMPORT_DETAIL_ALL if all_results else pb.IMPORT_DETAIL_ERRORS,
        skip_records=skip,
        file_name=file.name,
    )
    with channel(_opts(ctx)) as ch:
        resp = _stub(ch).ImportCandidates(
            _import_requests(file, header), metadata=_opts(ctx).metadata(), timeout=3600
        )
    if _opts(ctx).json:
        emit_json(resp)
        return
    s = resp.summary
    console.print(
        key_value_table(
            f"import of {file.name}",
            {
                "records": s.records,
                "created": s.created,
                "updated": s.updated,
                "unchanged": s.unchanged,
                "failed": s.failed,
                "skipped": s.skipped,
                "committed through": s.committed_through,
                "seconds": f"{s.seconds:.2f}",
                "records/s": f"{s.records / s.seconds:,.0f}" if s.seconds else "-",
            },
        )
    )
    failed = [r for r in resp.results if r.outcome == pb.IMPORT_OUTCOME_FAILED]
    if failed:
        table = Table(title="failed records")
        for col in ("record", "line", "field", "reason"):
            table.add_column(col)
        for r in failed[:200]:
            for e in r.errors:
                table.add_row(str(r.index), str(r.line), e.field, e.reason)
        console.print(table)


@candidates_app.command("duplicates")
def duplicates_cmd(
    ctx: typer.Context,
    candidate_id: str = typer.Argument("", help="One candidate, or empty for the whole store."),
    min_score: float = typer.Option(0.85, "--min-score", min=0, max=1),
    limit: int = typer.Option(100, "--limit", min=1, max=10000),
) -> None:
    """Likely duplicates, with a score and the evidence."""
    with channel(_opts(ctx)) as ch:
        resp = _stub(ch).FindDuplicates(
            pb.FindDuplicatesRequest(candidate_id=candidate_id, min_score=min_score, limit=limit),
            timeout=120,
            metadata=_opts(ctx).metadata(),
        )
    if _opts(ctx).json:
        emit_json(resp)
        return
    table = Table(title=f"{len(resp.pairs)} likely duplicate pairs")
    for col in ("left", "right", "score", "exact", "evidence"):
        table.add_column(col, overflow="fold")
    for p in resp.pairs:
        table.add_row(
            p.left_id,
            p.right_id,
            f"{p.score:.2f}",
            "yes" if p.exact else "",
            "; ".join(f"{e.signal} {e.similarity:.2f}" for e in p.evidence),
        )
    console.print(table)


@candidates_app.command("merge")
def merge_cmd(
    ctx: typer.Context, survivor_id: str, merged_id: str, reason: str = typer.Option("", "--reason")
) -> None:
    """Fold MERGED_ID into SURVIVOR_ID (undo with `unmerge MERGE_ID`)."""
    with channel(_opts(ctx)) as ch:
        resp = _stub(ch).MergeCandidates(
            pb.MergeCandidatesRequest(survivor_id=survivor_id, merged_id=merged_id, reason=reason),
            timeout=_opts(ctx).timeout,
            metadata=_opts(ctx).metadata(),
        )
    if _opts(ctx).json:
        emit_json(resp)
    else:
        console.print(f"merged; undo with: rapport candidates unmerge {resp.merge_id}")
        console.print(candidate_detail(resp.survivor))


@candidates_app.command("unmerge")
def unmerge_cmd(ctx: typer.Context, merge_id: str) -> None:
    """Restore both records of a merge as they were."""
    with channel(_opts(ctx)) as ch:
        resp = _stub(ch).UnmergeCandidates(
            pb.UnmergeCandidatesRequest(merge_id=merge_id),
            timeout=_opts(ctx).timeout,
            metadata=_opts(ctx).metadata(),
        )
    if _opts(ctx).json:
        emit_json(resp)
    else:
        console.print(candidates_table([resp.survivor, resp.restored], title="restored"))


@candidates_app.command("timeline")
def timeline_cmd(
    ctx: typer.Context,
    candidate_id: str,
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    kinds: list[str] = typer.Option(None, "--kind"),
    page_token: str = typer.Option("", "--page-token"),
) -> None:
    """A candidate's timeline, newest first."""
    with channel(_opts(ctx)) as ch:
        resp = _stub(ch).ListTimeline(
            pb.ListTimelineRequest(
                candidate_id=candidate_id, page_size=limit, kinds=kinds or [], page_token=page_token
            ),
            timeout=_opts(ctx).timeout,
            metadata=_opts(ctx).metadata(),
        )
    if _opts(ctx).json:
        emit_json(resp)
        return
    table = Table(title=f"timeline of {candidate_id}")
    for col in ("when", "kind", "channel", "stage", "actor"):
        table.add_column(col)
    for e in resp.events:
        table.add_row(
            e.occurred_at.ToDatetime().strftime("%Y-%m-%d %H:%M"),
            e.kind,
            e.channel,
            e.stage,
            e.actor,
        )
    console.print(table)


@candidates_app.command("event")
def event_cmd(
    ctx: typer.Context,
    candidate_id: str,
    kind: str = typer.Option(..., "--kind"),
    channel_name: str = typer.Option("", "--channel"),
    stage: str = typer.Option("", "--stage"),
    note: str = typer.Option("", "--note", help="Free text stored in the payload."),
) -> None:
    """Append an event to a candidate's timeline."""
    event = pb.TimelineEvent(
        candidate_id=candidate_id, kind=kind, channel=channel_name, stage=stage
    )
    if note:
        event.payload.update({"note": note})
    with channel(_opts(ctx)) as ch:
        resp = _stub(ch).AddTimelineEvent(
            pb.AddTimelineEventRequest(event=event),
            timeout=_opts(ctx).timeout,
            metadata=_opts(ctx).metadata(),
        )
    emit_json(resp) if _opts(ctx).json else console.print(f"recorded {resp.kind} ({resp.id})")


# ------------------------------------------------------------------ pools


@pools_app.command("create")
def pool_create(
    ctx: typer.Context,
    name: str,
    description: str = typer.Option("", "--description"),
    stages: list[str] = typer.Option(None, "--stage", help="Ordered stages."),
) -> None:
    """Create a pool."""
    with channel(_opts(ctx)) as ch:
        resp = _stub(ch).CreatePool(
            pb.CreatePoolRequest(
                pool=pb.Pool(name=name, description=description, stages=stages or [])
            ),
            timeout=_opts(ctx).timeout,
            metadata=_opts(ctx).metadata(),
        )
    emit_json(resp) if _opts(ctx).json else console.print(f"pool {resp.name}: {resp.id}")


@pools_app.command("list")
def pool_list(ctx: typer.Context) -> None:
    """All pools with their member counts."""
    with channel(_opts(ctx)) as ch:
        resp = _stub(ch).ListPools(
            pb.ListPoolsRequest(), timeout=_opts(ctx).timeout, metadata=_opts(ctx).metadata()
        )
    if _opts(ctx).json:
        emit_json(resp)
        return
    table = Table(title="pools")
    for col in ("id", "name", "members", "stages"):
        table.add_column(col, overflow="fold")
    for p in resp.pools:
        table.add_row(p.id, p.name, str(p.member_count), " > ".join(p.stages))
    console.print(table)


@pools_app.command("add")
def pool_add(
    ctx: typer.Context,
    pool_id: str,
    candidate_ids: list[str],
    stage: str = typer.Option("", "--stage"),
) -> None:
    """Add candidates to a pool, or move members to a stage."""
    with channel(_opts(ctx)) as ch:
        resp = _stub(ch).AddToPool(
            pb.AddToPoolRequest(pool_id=pool_id, candidate_ids=candidate_ids, stage=stage),
            timeout=_opts(ctx).timeout,
            metadata=_opts(ctx).metadata(),
        )
    if _opts(ctx).json:
        emit_json(resp)
    else:
        console.print(f"added {resp.added}, moved {resp.moved}, unchanged {resp.unchanged}")


@pools_app.command("members")
def pool_members(
    ctx: typer.Context,
    pool_id: str,
    stage: str = typer.Option("", "--stage"),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    page_token: str = typer.Option("", "--page-token"),
) -> None:
    """Members of a pool with their stage."""
    with channel(_opts(ctx)) as ch:
        resp = _stub(ch).ListPool(
            pb.ListPoolRequest(
                pool_id=pool_id, stage=stage, page_size=limit, page_token=page_token
            ),
            timeout=_opts(ctx).timeout,
            metadata=_opts(ctx).metadata(),
        )
    if _opts(ctx).json:
        emit_json(resp)
        return
    table = Table(title="pool members")
    for col in ("id", "name", "headline", "stage"):
        table.add_column(col, overflow="fold")
    for m in resp.members:
        c = m.candidate
        table.add_row(c.id[:8], f"{c.first_name} {c.last_name}", c.headline, m.stage)
    console.print(table)


# ------------------------------------------------------------------ segments


@segments_app.command("create")
def segment_create(
    ctx: typer.Context,
    name: str,
    filters: list[str] = typer.Option(..., "--filter", help=FILTER_HELP),
    description: str = typer.Option("", "--description"),
) -> None:
    """Store a rule; membership is computed whenever it is read."""
    with channel(_opts(ctx)) as ch:
        resp = _stub(ch).CreateSegment(
            pb.CreateSegmentRequest(
                segment=pb.Segment(name=name, description=description, rule=parse_filters(filters))
            ),
            timeout=_opts(ctx).timeout,
            metadata=_opts(ctx).metadata(),
        )
    emit_json(resp) if _opts(ctx).json else console.print(f"segment {resp.name}: {resp.id}")


@segments_app.command("list")
def segment_list(ctx: typer.Context) -> None:
    """Stored segments and their rules."""
    with channel(_opts(ctx)) as ch:
        resp = _stub(ch).ListSegments(
            pb.ListSegmentsRequest(), timeout=_opts(ctx).timeout, metadata=_opts(ctx).metadata()
        )
    if _opts(ctx).json:
        emit_json(resp)
        return
    table = Table(title="segments")
    for col in ("id", "name", "rule"):
        table.add_column(col, overflow="fold")
    for s in resp.segments:
        table.add_row(
            s.id,
            s.name,
            " AND ".join(f"{c.field} {c.op} {','.join(c.values)}" for c in s.rule.conditions),
        )
    console.print(table)


@segments_app.command("preview")
def segment_preview(
    ctx: typer.Context,
    segment_id: str = typer.Argument("", help="A stored segment, or use --filter."),
    filters: list[str] = typer.Option(None, "--filter", help=FILTER_HELP),
    limit: int = typer.Option(20, "--limit", min=1, max=1000),
    page_token: str = typer.Option("", "--page-token"),
) -> None:
    """How many candidates a segment selects now, and the first page."""
    with channel(_opts(ctx)) as ch:
        resp = _stub(ch).PreviewSegment(
            pb.PreviewSegmentRequest(
                segment_id=segment_id,
                rule=parse_filters(filters),
                page_size=limit,
                page_token=page_token,
            ),
            timeout=_opts(ctx).timeout,
            metadata=_opts(ctx).metadata(),
        )
    if _opts(ctx).json:
        emit_json(resp)
        return
    console.print(candidates_table(resp.candidates, title=f"{resp.count} candidates match"))


def watch(
    ctx: typer.Context,
    since: int = typer.Option(0, "--since", min=0),
    limit: int = typer.Option(0, "--limit", min=0, help="Stop after N events (0: never)."),
) -> None:
    """Follow the change feed (one JSON object per line with --json)."""
    with channel(_opts(ctx)) as ch:
        stream = _stub(ch).WatchChanges(
            pb.WatchChangesRequest(since_seq=since), metadata=_opts(ctx).metadata()
        )
        for n, event in enumerate(stream, start=1):
            if _opts(ctx).json:
                print(
                    json.dumps(json_format.MessageToDict(event, preserving_proto_field_name=True)),
                    flush=True,
                )
            else:
                console.print(f"{event.seq:>8} {event.op:<9} {event.candidate_id}")
            if limit and n >= limit:
                stream.cancel()
                break
