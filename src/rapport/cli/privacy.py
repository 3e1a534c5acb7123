"""Client verbs of PrivacyService: `rapport privacy erase|export ID`, consent and
channel preferences, `rapport privacy retention run [--dry-run]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from rapport.cli.client import ClientOptions, channel
from rapport.cli.output import as_dict, console, emit_json, key_value_table
from rapport.v1 import privacy_pb2 as pb
from rapport.v1 import privacy_pb2_grpc as pb_grpc

privacy_app = typer.Typer(
    no_args_is_help=True, help="Erasure, subject-access export, consent, retention."
)
consent_app = typer.Typer(no_args_is_help=True, help="Consent state and channel preferences.")
retention_app = typer.Typer(no_args_is_help=True, help="Anonymise records idle past the policy.")
privacy_app.add_typer(consent_app, name="consent")
privacy_app.add_typer(retention_app, name="retention")


def _opts(ctx: typer.Context) -> ClientOptions:
    return ctx.obj


def _call(ctx: typer.Context, method: str, request, timeout: float | None = None):
    opts = _opts(ctx)
    with channel(opts) as ch:
        stub = pb_grpc.PrivacyServiceStub(ch)
        return getattr(stub, method)(
            request, timeout=timeout or opts.timeout, metadata=opts.metadata()
        )


@privacy_app.command("erase")
def erase(
    ctx: typer.Context,
    candidate_id: str,
    reason: str = typer.Option(
        "", "--reason", help="Request reference (ticket number); no personal data."
    ),
) -> None:
    """Erase a person at their request: store, index, scores, caches, future training sets."""
    res = _call(
        ctx,
        "EraseCandidate",
        pb.EraseCandidateRequest(candidate_id=candidate_id, reason=reason),
        timeout=120.0,
    )
    if _opts(ctx).json:
        emit_json(res)
        return
    rows = {
        "erased": ", ".join(res.erased_ids),
        "identities tombstoned": res.identities_tombstoned,
        "rows deleted": sum(res.rows_deleted.values()),
        "erased at": res.erased_at.ToDatetime().isoformat() + "Z",
    }
    console.print(key_value_table(f"Erased {res.candidate_id}", rows))


@privacy_app.command("export")
def export(
    ctx: typer.Context,
    candidate_id: str,
    output: Path = typer.Option(None, "--output", "-o", help="Write the JSON here."),
) -> None:
    """Everything held about one person, as JSON (subject access request)."""
    res = _call(ctx, "ExportCandidate", pb.ExportCandidateRequest(candidate_id=candidate_id))
    text = res.document.decode("utf-8")
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
        if not _opts(ctx).json:
            console.print(f"wrote {output}")
        return
    sys.stdout.write(text + "\n")


def _show_consent(ctx: typer.Context, res: pb.Consent) -> None:
    if _opts(ctx).json:
        emit_json(res)
        return
    verdict = "yes" if res.may_contact else f"no ({res.reason})"
    console.print(
        key_value_table(
            f"Consent of {res.candidate_id}", {"state": res.state, "may contact": verdict}
        )
    )
    if res.preferences:
        table = Table(title="Channel preferences")
        for col in ("channel", "allowed", "topics", "source"):
            table.add_column(col)
        for p in res.preferences:
            table.add_row(p.channel, "yes" if p.allowed else "no", ", ".join(p.topics), p.source)
        console.print(table)
    if res.history:
        table = Table(title="History")
        for col in ("recorded at", "state", "basis", "source", "channel", "actor"):
            table.add_column(col)
        for e in res.history:
            table.add_row(
                e.recorded_at.ToDatetime().isoformat(timespec="seconds"),
                e.state,
                e.basis,
                e.source,
                e.channel,
                e.actor,
            )
        console.print(table)


@consent_app.command("get")
def consent_get(ctx: typer.Context, candidate_id: str) -> None:
    """Show consent state, history and channel preferences."""
    _show_consent(ctx, _call(ctx, "GetConsent", pb.GetConsentRequest(candidate_id=candidate_id)))


def _preference(spec: str, allowed: bool) -> pb.ChannelPreference:
    channel_name, _, topics = spec.partition(":")
    return pb.ChannelPreference(
        channel=channel_name.strip(),
        allowed=allowed,
        topics=[t.strip() for t in topics.split(";") if t.strip()],
    )


@consent_app.command("set")
def consent_set(
    ctx: typer.Context,
    candidate_id: str,
    state: str = typer.Option(
        "", "--state", help="granted | legitimate_interest | opted_out | unknown"
    ),
    basis: str = typer.Option("", "--basis", help="consent | legitimate_interest"),
    source: str = typer.Option("", "--source", help="Where it came from (form, call...)."),
    allow: list[str] = typer.Option(
        [], "--allow", help="CHANNEL[:topic;topic] the person accepts (repeatable)."
    ),
    deny: list[str] = typer.Option(
        [], "--deny", help="CHANNEL the person refuses: stops all outreach (repeatable)."
    ),
) -> None:
    """Record consent and/or channel preferences."""
    prefs = [_preference(a, True) for a in allow] + [_preference(d, False) for d in deny]
    req = pb.SetConsentRequest(
        candidate_id=candidate_id, state=state, basis=basis, source=source, preferences=prefs
    )
    _show_consent(ctx, _call(ctx, "SetConsent", req))


@retention_app.command("run")
def retention_run(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would change; write nothing."),
    idle_months: int = typer.Option(
        0, "--idle-months", help="Override the policy (0: configured)."
    ),
) -> None:
    """Anonymise records idle past the retention policy (not those in an open process)."""
    res = _call(
        ctx,
        "RunRetention",
        pb.RunRetentionRequest(dry_run=dry_run, idle_months=idle_months),
        timeout=3600.0,
    )
    if _opts(ctx).json:
        data = as_dict(res)
        data.setdefault("candidates", [])
        data.setdefault("anonymised", 0)
        data.setdefault("dry_run", False)
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    what = "would anonymise" if res.dry_run else "anonymised"
    count = len(res.candidates) if res.dry_run else res.anonymised
    console.print(
        key_value_table(
            f"Retention run {res.run_id}",
            {
                "policy": f"idle {res.idle_months} months; kept: {', '.join(res.keep_stages)}",
                "cutoff": res.cutoff.ToDatetime().isoformat(timespec="seconds") + "Z",
                what: count,
            },
        )
    )
    for c in res.candidates[:50]:
        console.print(f"  {c.candidate_id}  last activity {c.last_activity.ToDatetime():%Y-%m-%d}")
    if len(res.candidates) > 50:
        console.print(f"  ... and {len(res.candidates) - 50} more (use --json)")


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")


__all__ = ["register"]
