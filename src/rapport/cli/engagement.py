"""Client verb for engagement: `rapport score` (one person, a pool or segment, the model)."""

from __future__ import annotations

import math

import typer
from rich.table import Table

from rapport.cli.client import ClientOptions, channel
from rapport.cli.output import as_dict, console, emit_json, key_value_table
from rapport.v1 import engagement_pb2 as pb
from rapport.v1 import engagement_pb2_grpc as pb_grpc

BAND_STYLE = {"hot": "bold red", "warm": "yellow", "cold": "cyan", "dormant": "dim"}


def band_text(band: str) -> str:
    """A band coloured for a table (plain text when empty)."""
    style = BAND_STYLE.get(band)
    return f"[{style}]{band}[/{style}]" if style else band


def score_json(score: pb.EngagementScore) -> dict:
    """The stable shape of `rapport score ID --json`."""
    return {
        "candidate_id": score.candidate_id,
        "probability": round(score.probability, 6),
        "band": score.band,
        "factors": [
            {
                "feature": f.feature,
                "contribution": round(f.contribution, 6),
                "value": f.value,
                **({} if math.isnan(f.numeric_value) else {"numeric_value": f.numeric_value}),
            }
            for f in score.factors
        ],
        "model_name": score.model_name,
        "model_version": score.model_version,
        "as_of": score.as_of.ToJsonString(),
        "scored_at": score.scored_at.ToJsonString(),
    }


def _score_table(score: pb.EngagementScore) -> Table:
    table = Table(
        title=(
            f"{score.candidate_id[:8]}: {score.probability:.1%} chance of a response · "
            f"{band_text(score.band)}"
        )
    )
    table.add_column("factor")
    table.add_column("value", justify="right")
    table.add_column("push (log-odds)", justify="right")
    for f in score.factors:
        colour = "green" if f.contribution > 0 else "red"
        table.add_row(f.feature, f.value, f"[{colour}]{f.contribution:+.3f}[/{colour}]")
    return table


def _model_rows(info: pb.ModelInfo) -> dict:
    rows = {
        "state": info.state,
        "model": f"{info.name}/{info.version}" if info.version else "",
        "alias": info.alias,
        "run id": info.run_id,
        "feature spec": info.feature_spec_version,
        "trained at": info.trained_at.ToJsonString() if info.HasField("trained_at") else "",
        "loaded from": info.loaded_from,
        "loaded at": info.loaded_at.ToJsonString() if info.HasField("loaded_at") else "",
        "last registry look": (
            info.last_refresh.ToJsonString() if info.HasField("last_refresh") else ""
        ),
        "people scored": f"{info.scored:,}"
        + (f" ({info.scoring})" if info.scoring != "idle" else ""),
        "bands written": info.bands_as_of.ToJsonString() if info.HasField("bands_as_of") else "",
        "tracking uri": info.tracking_uri,
    }
    for key in sorted(info.metrics):  # the registered model's holdout figures
        if key.startswith("model_"):
            rows[f"holdout {key.removeprefix('model_')}"] = f"{info.metrics[key]:.4f}"
    if info.message:
        rows["message"] = info.message
    if info.last_error:
        rows["last error"] = info.last_error
    return rows


def score(
    ctx: typer.Context,
    candidate_id: str = typer.Argument(None, help="The candidate to score."),
    top: int = typer.Option(0, "--top", help="Factors to show (0: the server's default)."),
    pool: str = typer.Option("", "--pool", help="Score every member of this pool instead."),
    segment: str = typer.Option("", "--segment", help="Score everyone this segment selects."),
    factors: bool = typer.Option(False, "--factors", help="With --pool/--segment: factors too."),
    limit: int = typer.Option(50, "--limit", help="With --pool/--segment: rows shown (0: all)."),
    model: bool = typer.Option(False, "--model", help="Show the model being served instead."),
) -> None:
    """How likely a candidate (or a pool, or a segment) is to respond, and why."""
    opts: ClientOptions = ctx.obj
    if sum(map(bool, (candidate_id, pool, segment, model))) != 1:
        raise typer.BadParameter("give one of: a candidate ID, --pool, --segment or --model")
    with channel(opts) as ch:
        stub = pb_grpc.EngagementServiceStub(ch)
        if model:
            info = stub.GetModelInfo(
                pb.GetModelInfoRequest(), timeout=opts.timeout, metadata=opts.metadata()
            )
            if opts.json:
                emit_json(info)
            else:
                console.print(key_value_table("Engagement model served", _model_rows(info)))
            return
        if candidate_id:
            result = stub.ScoreCandidate(
                pb.ScoreCandidateRequest(candidate_id=candidate_id, top_factors=top),
                timeout=opts.timeout,
                metadata=opts.metadata(),
            )
            if opts.json:
                emit_json(score_json(result))
            else:
                console.print(_score_table(result))
                console.print(
                    f"[dim]model {result.model_name}/{result.model_version} · "
                    f"as of {result.as_of.ToJsonString()}[/dim]"
                )
            return
        request = pb.ScoreCandidatesRequest(include_factors=factors, top_factors=top)
        if pool:
            request.pool_id = pool
        else:
            request.segment_id = segment
        _show_many(opts, stub, request, limit)


def _show_many(opts: ClientOptions, stub, request: pb.ScoreCandidatesRequest, limit: int) -> None:
    rows, total, model, bands = [], 0, "", {}
    # a stream may be long: the client deadline covers it all, so give it room
    for batch in stub.ScoreCandidates(
        request, timeout=max(opts.timeout, 600.0), metadata=opts.metadata()
    ):
        total, model = batch.total, f"{batch.model_name}/{batch.model_version}"
        for s in batch.scores:
            bands[s.band] = bands.get(s.band, 0) + 1
            if not limit or len(rows) < limit:
                rows.append(s)
    if opts.json:
        emit_json(
            {
                "model": model,
                "total": total,
                "bands": bands,
                "scores": [as_dict(s) for s in rows],
            }
        )
        return
    table = Table(title=f"{total:,} candidates · model {model}")
    table.add_column("candidate")
    table.add_column("probability", justify="right")
    table.add_column("band")
    if request.include_factors:
        table.add_column("top factors", overflow="fold")
    for s in rows:
        cells = [s.candidate_id, f"{s.probability:.1%}", band_text(s.band)]
        if request.include_factors:
            cells.append(", ".join(f"{f.feature} {f.contribution:+.2f}" for f in s.factors))
        table.add_row(*cells)
    console.print(table)
    console.print(
        "[dim]bands: "
        + " · ".join(f"{b} {bands.get(b, 0):,}" for b in ("hot", "warm", "cold", "dormant"))
        + "[/dim]"
    )


def register(app: typer.Typer) -> None:
    app.command("score")(score)


__all__ = ["band_text", "register", "score_json"]
