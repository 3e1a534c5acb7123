"""Client verbs for matching: rank, similar, roles and the index."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rapport.cli.client import ClientOptions, channel
from rapport.cli.engagement import band_text
from rapport.cli.output import as_dict, console, emit_json, key_value_table
from rapport.core.validation import parse_seniority
from rapport.v1 import matching_pb2 as pb
from rapport.v1 import matching_pb2_grpc as pb_grpc

roles_app = typer.Typer(no_args_is_help=True, help="Roles (jobs) to rank candidates for.")
index_app = typer.Typer(no_args_is_help=True, help="The matching index: status and rebuild.")

ROLE_KEYS = {
    "title",
    "description",
    "required_skills",
    "nice_to_have_skills",
    "seniority",
    "min_seniority",
    "max_seniority",
    "countries",
    "timezones",
    "timezone_window",
    "languages",
}


def _stub(ch) -> pb_grpc.MatchingServiceStub:
    return pb_grpc.MatchingServiceStub(ch)


def _seniority_number(text: str) -> int:
    try:
        level = parse_seniority(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return list(type(level)).index(level)


def _list(data: dict, key: str) -> list[str]:
    value = data.get(key, [])
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise typer.BadParameter(f"role.{key}: expected a list of strings")
    return value


def role_from_json(data: dict) -> pb.Role:
    """A role file (DESIGN §10) as a message. `seniority` is one level, [min, max] or
    {"min": .., "max": ..}; `timezones` are IANA names."""
    if not isinstance(data, dict):
        raise typer.BadParameter("the role file must hold one JSON object")
    unknown = sorted(set(data) - ROLE_KEYS - {"id"})
    if unknown:
        raise typer.BadParameter(f"unknown role keys {unknown}; known: {sorted(ROLE_KEYS)}")
    role = pb.Role(
        title=str(data.get("title", "")),
        description=str(data.get("description", "")),
        required_skills=_list(data, "required_skills"),
        nice_to_have_skills=_list(data, "nice_to_have_skills"),
        countries=_list(data, "countries"),
        timezones=_list(data, "timezones"),
        languages=_list(data, "languages"),
    )
    seniority = data.get("seniority")
    lo = data.get("min_seniority", "")
    hi = data.get("max_seniority", "")
    if isinstance(seniority, str):
        lo = hi = seniority
    elif isinstance(seniority, list) and len(seniority) == 2:
        lo, hi = seniority
    elif isinstance(seniority, dict):
        lo, hi = seniority.get("min", ""), seniority.get("max", "")
    elif seniority is not None:
        raise typer.BadParameter('role.seniority: a level, [min, max] or {"min":..,"max":..}')
    role.min_seniority = _seniority_number(lo or "")
    role.max_seniority = _seniority_number(hi or "")
    window = data.get("timezone_window")
    if window is not None:
        try:
            role.timezone_window.min_utc_offset_hours = float(window["min_utc_offset_hours"])
            role.timezone_window.max_utc_offset_hours = float(window["max_utc_offset_hours"])
        except (KeyError, TypeError, ValueError):
            raise typer.BadParameter(
                "role.timezone_window: {min_utc_offset_hours, max_utc_offset_hours}"
            ) from None
    return role


def _read_role(path: str) -> pb.Role:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise typer.BadParameter(f"cannot read role file {path}: {exc}") from None
    return role_from_json(data)


def _filters(pool: str, segment: str, not_contacted: int, strict: list[str]) -> pb.MatchFilters:
    bad = sorted(set(strict) - {"seniority", "location", "languages"})
    if bad:
        raise typer.BadParameter(f"--strict takes seniority, location or languages, not {bad}")
    return pb.MatchFilters(
        pool_id=pool,
        segment_id=segment,
        not_contacted_days=not_contacted,
        enforce_seniority="seniority" in strict,
        enforce_location="location" in strict,
        enforce_languages="languages" in strict,
    )


def ranking_json(response: pb.RankCandidatesResponse) -> dict:
    """The stable shape of `rapport rank --json` (DESIGN §10); the engagement component
    is there when the ranking used it (`--engagement-weight`)."""
    components = ["semantic", "skills", "seniority", "location"]
    if response.engagement_model:
        components.append("engagement")
    return {
        "results": [
            {
                "candidate_id": r.candidate_id,
                "rank": r.rank,
                "score": round(r.score, 4),
                "components": {k: round(getattr(r.components, k), 4) for k in components},
                "engagement_band": r.engagement_band,
                "engagement_model_version": r.engagement_model_version,
                "matched_skills": [m.label for m in r.matched_skills],
                "matched_detail": [
                    {
                        "skill_id": m.skill_id,
                        "label": m.label,
                        "credit": round(m.credit, 2),
                        "via": m.via,
                    }
                    for m in r.matched_skills
                ],
                "missing_skills": list(r.missing_skills),
                "reason": r.reason,
                "display_name": r.display_name,
                "headline": r.headline,
            }
            for r in response.results
        ],
        "index_version": response.index_version,
        "index_seq": response.index_seq,
        "encoder": response.encoder,
        "considered": response.considered,
        "skill_mappings": [as_dict(m) for m in response.skill_mappings],
        "next_page_token": response.next_page_token,
        "engagement_model": response.engagement_model,
        "engagement_note": response.engagement_note,
    }


def ranking_table(response: pb.RankCandidatesResponse, title: str) -> Table:
    """The ranking; with engagement blended in, its probability and band too."""
    engaged = bool(response.engagement_model)
    table = Table(title=title, show_lines=False)
    columns = [
        ("#", {"justify": "right"}),
        ("candidate", {}),
        ("score", {"justify": "right"}),
        ("sem", {"justify": "right"}),
        ("skills", {"justify": "right"}),
        ("sen", {"justify": "right"}),
        ("loc", {"justify": "right"}),
    ]
    if engaged:
        columns += [("eng", {"justify": "right"}), ("band", {})]
    for col, kw in (*columns, ("reason", {"overflow": "fold"})):
        table.add_column(col, **kw)
    for r in response.results:
        c = r.components
        who = r.display_name or r.candidate_id[:8]
        cells = [
            str(r.rank),
            f"{who}\n[dim]{r.headline[:40]}[/dim]",
            f"{r.score:.3f}",
            f"{c.semantic:.2f}",
            f"{c.skills:.2f}",
            f"{c.seniority:.2f}",
            f"{c.location:.2f}",
        ]
        if engaged:
            cells += [
                f"{c.engagement:.2f}" if r.engagement_band else "-",
                band_text(r.engagement_band),
            ]
        table.add_row(*cells, r.reason)
    return table


def _show_ranking(opts: ClientOptions, response: pb.RankCandidatesResponse, title: str) -> None:
    if opts.json:
        emit_json(ranking_json(response))
        return
    unmapped = [m.text for m in response.skill_mappings if m.method == "none"]
    console.print(ranking_table(response, title))
    console.print(
        f"[dim]{response.considered:,} candidates considered · encoder {response.encoder} · "
        f"index {response.index_version} (feed seq {response.index_seq})[/dim]"
    )
    if unmapped:
        console.print(
            f"[yellow]Skills that map to nothing known (matched by their text only): "
            f"{', '.join(unmapped)}[/yellow]"
        )
    if response.engagement_note:
        style = "dim" if response.engagement_model else "yellow"
        console.print(f"[{style}]{response.engagement_note}[/{style}]")
    if response.next_page_token:
        console.print(f"[dim]more: --page-token {response.next_page_token}[/dim]")


STRICT_HELP = "Exclude instead of score down: seniority, location, languages (repeatable)."


def rank(
    ctx: typer.Context,
    role: str = typer.Option(None, "--role", help="Role JSON file (DESIGN §10)."),
    role_id: str = typer.Option(None, "--role-id", help="A stored role's id instead."),
    pool: str = typer.Option("", "--pool", help="Only members of this pool."),
    segment: str = typer.Option("", "--segment", help="Only candidates this segment selects."),
    top: int = typer.Option(20, "--top", help="How many results (1..1000)."),
    not_contacted: int = typer.Option(
        0, "--not-contacted-days", help="Leave out anyone contacted in the last N days."
    ),
    strict: list[str] = typer.Option([], "--strict", help=STRICT_HELP),
    page_token: str = typer.Option("", "--page-token"),
    engagement_weight: float = typer.Option(
        0.0,
        "--engagement-weight",
        min=0.0,
        max=1.0,
        help="Blend in the engagement model: score = (1-W) * match + W * P(response).",
    ),
) -> None:
    """Rank candidates for a role, with the reason for every place."""
    opts: ClientOptions = ctx.obj
    if bool(role) == bool(role_id):
        raise typer.BadParameter("give exactly one of --role FILE or --role-id ID")
    request = pb.RankCandidatesRequest(
        filters=_filters(pool, segment, not_contacted, strict),
        top_k=top,
        page_token=page_token,
        engagement_weight=engagement_weight,
    )
    if role:
        request.role.CopyFrom(_read_role(role))
    else:
        request.role_id = role_id
    with channel(opts) as ch:
        response = _stub(ch).RankCandidates(request, timeout=opts.timeout, metadata=opts.metadata())
    _show_ranking(opts, response, f"Ranking for {response.role.title or 'the role'}")


def similar(
    ctx: typer.Context,
    candidate_id: str = typer.Argument(..., help="The candidate to find people like."),
    top: int = typer.Option(10, "--top"),
    pool: str = typer.Option("", "--pool"),
    segment: str = typer.Option("", "--segment"),
) -> None:
    """Candidates most like a given one."""
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        response = _stub(ch).SimilarCandidates(
            pb.SimilarCandidatesRequest(
                candidate_id=candidate_id,
                filters=_filters(pool, segment, 0, []),
                top_k=top,
            ),
            timeout=opts.timeout,
            metadata=opts.metadata(),
        )
    _show_ranking(opts, response, f"Candidates like {candidate_id[:8]}")


# ------------------------------------------------------------------------- roles


@roles_app.command("create")
def roles_create(ctx: typer.Context, path: str = typer.Argument(..., help="Role JSON file.")):
    """Store a role so rankings can refer to it by id."""
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        role = _stub(ch).CreateRole(
            pb.CreateRoleRequest(role=_read_role(path)),
            timeout=opts.timeout,
            metadata=opts.metadata(),
        )
    emit_json(role) if opts.json else console.print(f"created role {role.id}: {role.title}")


@roles_app.command("get")
def roles_get(ctx: typer.Context, role_id: str):
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        role = _stub(ch).GetRole(
            pb.GetRoleRequest(id=role_id), timeout=opts.timeout, metadata=opts.metadata()
        )
    emit_json(role) if opts.json else console.print_json(data=as_dict(role))


@roles_app.command("list")
def roles_list(
    ctx: typer.Context,
    limit: int = typer.Option(50, "--limit"),
    page_token: str = typer.Option("", "--page-token"),
):
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        page = _stub(ch).ListRoles(
            pb.ListRolesRequest(page_size=limit, page_token=page_token),
            timeout=opts.timeout,
            metadata=opts.metadata(),
        )
    if opts.json:
        emit_json(page)
        return
    table = Table(title="Roles")
    for col in ("id", "title", "required skills", "created"):
        table.add_column(col, overflow="fold")
    for r in page.roles:
        table.add_row(r.id, r.title, ", ".join(r.required_skills), r.created_at.ToJsonString())
    console.print(table)
    if page.page.next_page_token:
        console.print(f"[dim]more: --page-token {page.page.next_page_token}[/dim]")


# ------------------------------------------------------------------------- index


def _status_rows(s: pb.IndexStatus) -> dict:
    return {
        "state": s.state,
        "encoder": s.encoder,
        "index version": s.index_version,
        "kind": s.kind + (f" (nlist {s.nlist}, nprobe {s.nprobe})" if s.kind == "ivf" else ""),
        "vectors": f"{s.vectors:,}",
        "feed position": f"{s.seq:,} of {s.feed_head:,}",
        "built at": s.built_at.ToJsonString() if s.HasField("built_at") else "",
        "rebuilding": s.rebuilding,
        "message": s.message,
    }


@index_app.command("status")
def index_status(ctx: typer.Context):
    """What the matching index holds and how far behind the store it is."""
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        status = _stub(ch).GetIndexStatus(
            pb.GetIndexStatusRequest(), timeout=opts.timeout, metadata=opts.metadata()
        )
    emit_json(status) if opts.json else console.print(
        key_value_table("Matching index", _status_rows(status))
    )


@index_app.command("rebuild")
def index_rebuild(
    ctx: typer.Context,
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Follow progress until done."),
):
    """Build a fresh index aside and swap it in; queries are served meanwhile."""
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        stub = _stub(ch)
        status = stub.RebuildIndex(
            pb.RebuildIndexRequest(), timeout=opts.timeout, metadata=opts.metadata()
        )
        if wait:
            status = _follow_build(stub, opts, status)
    emit_json(status) if opts.json else console.print(
        key_value_table("Matching index", _status_rows(status))
    )


def _follow_build(stub, opts: ClientOptions, status: pb.IndexStatus) -> pb.IndexStatus:
    """Poll until the rebuild is over, drawing a progress bar on stderr."""
    columns = (
        TextColumn("indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True, disable=opts.json) as bar:
        task = bar.add_task("index", total=None)
        while True:
            time.sleep(0.5)
            status = stub.GetIndexStatus(
                pb.GetIndexStatusRequest(), timeout=opts.timeout, metadata=opts.metadata()
            )
            bar.update(task, completed=status.build_done, total=status.build_total or None)
            if not status.rebuilding or status.state == "failed":
                return status


def register(app: typer.Typer) -> None:
    app.command("rank")(rank)
    app.command("similar")(similar)
    app.add_typer(roles_app, name="roles")
    app.add_typer(index_app, name="index")


__all__ = ["register", "role_from_json"]
