"""`rapport ats ...`: submissions to the ATS and the pull sync (gRPC client verbs), the web
hook endpoint and a fake ATS for local trials (local verbs)."""

from __future__ import annotations

import typer
from rich.table import Table

from rapport.cli.client import ClientOptions, channel
from rapport.cli.output import console, emit_json, key_value_table
from rapport.core.config import Settings
from rapport.v1 import ats_pb2 as pb
from rapport.v1 import ats_pb2_grpc as pb_grpc

ats_app = typer.Typer(
    no_args_is_help=True,
    help="ATS two-way sync: submit candidates to jobs, sync, receive web hooks.",
)


def _stub(ch) -> pb_grpc.AtsServiceStub:
    return pb_grpc.AtsServiceStub(ch)


def _submission_rows(s: pb.Submission) -> dict:
    return {
        "id": s.id,
        "candidate": s.candidate_id,
        "ats job": f"{s.ats} {s.ats_job_id}",
        "status": s.status,
        "attempts": s.attempts,
        "ats candidate": s.ats_candidate_id,
        "ats application": s.ats_application_id,
        "last error": s.last_error,
    }


@ats_app.command("submit")
def submit(
    ctx: typer.Context,
    candidate_id: str = typer.Argument(..., help="The CRM candidate."),
    job_id: str = typer.Argument(..., help="The ATS job id."),
    key: str = typer.Option("", "--idempotency-key", help="Retries with it return the same."),
):
    """Queue a candidate for an ATS job (delivered with retries; run again safely)."""
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        s = _stub(ch).SubmitCandidate(
            pb.SubmitCandidateRequest(
                candidate_id=candidate_id, ats_job_id=job_id, idempotency_key=key
            ),
            timeout=opts.timeout,
            metadata=opts.metadata(),
        )
    emit_json(s) if opts.json else console.print(key_value_table("submission", _submission_rows(s)))


@ats_app.command("submissions")
def submissions(
    ctx: typer.Context,
    candidate: str = typer.Option("", "--candidate"),
    status: str = typer.Option("", "--status", help="pending | delivered | failed"),
    limit: int = typer.Option(50, "--limit"),
    page_token: str = typer.Option("", "--page-token"),
):
    """Submissions to the ATS, newest first."""
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        page = _stub(ch).ListSubmissions(
            pb.ListSubmissionsRequest(
                candidate_id=candidate, status=status, page_size=limit, page_token=page_token
            ),
            timeout=opts.timeout,
            metadata=opts.metadata(),
        )
    if opts.json:
        emit_json(page)
        return
    columns = ("id", "candidate", "ats job", "status", "attempts", "last error")
    table = Table(title="ATS submissions")
    for column in columns:
        table.add_column(column)
    for s in page.submissions:
        row = _submission_rows(s)
        table.add_row(*(str(row[c]) for c in columns))
    console.print(table)
    if page.next_page_token:
        console.print(f"next page: --page-token {page.next_page_token}")


@ats_app.command("sync")
def sync(ctx: typer.Context):
    """Pull what changed in the ATS since the last sync (when web hooks were missed)."""
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        r = _stub(ch).SyncNow(
            pb.SyncNowRequest(), timeout=max(opts.timeout, 600), metadata=opts.metadata()
        )
    if opts.json:
        emit_json(r)
        return
    console.print(
        key_value_table(
            "ATS sync",
            {
                "applications": r.applications,
                "events applied": r.events_applied,
                "events refused (erased people)": r.events_refused,
                "events already applied": r.events_duplicate,
                "cursor": r.cursor.ToDatetime().isoformat() if r.HasField("cursor") else "",
            },
        )
    )


@ats_app.command("webhooks")
def webhooks(
    host: str = typer.Option(None, "--host", help="Address to listen on."),
    port: int = typer.Option(None, "--port", help="Port to listen on."),
):
    """Serve the ATS web hook endpoint (local), until SIGTERM.

    POST /hooks/ats/greenhouse and /hooks/ats/generic; events are applied to this machine's
    store."""
    import uvicorn

    from rapport.core.store.db import Database
    from rapport.services.ats.use_cases import AtsUseCases, build_adapter
    from rapport.services.ats.webhooks import build_app
    from rapport.services.common.logging_setup import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    db = Database(settings.effective_database_url, settings=settings)
    # no worker here: what this process queues (outgoing web hooks) the ATS service delivers
    use_cases = AtsUseCases(db, settings, build_adapter(settings))
    host = host or settings.ats_webhooks_host
    port = settings.ats_webhooks_port if port is None else port
    print(f"ATS web hooks listening on http://{host}:{port}/hooks/ats/", flush=True)
    try:
        uvicorn.run(build_app(use_cases), host=host, port=port, log_level="warning")
    finally:
        use_cases.close()
        db.close()


@ats_app.command("fake-server")
def fake_server(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8089, "--port"),
    api_key: str = typer.Option("fake-harvest-key", "--api-key", help="Harvest key it accepts."),
    webhook_url: str = typer.Option(
        "",
        "--webhook-url",
        help="Where its web hooks go, e.g. http://127.0.0.1:8088/hooks/ats/greenhouse",
    ),
    webhook_secret: str = typer.Option("fake-webhook-secret", "--webhook-secret"),
    job: list[str] = typer.Option(
        ["Backend engineer"], "--job", help="A job to open (repeatable)."
    ),
):
    """Serve a fake Greenhouse for local trials (in memory).

    The Harvest endpoints the adapter uses, signed web hooks to --webhook-url, and controls
    under /_fake/: apply, applications/{id}/move|reject|hire, faults, state."""
    import uvicorn

    from rapport.services.ats.fake_server import FakeAts

    fake = FakeAts(api_key=api_key, webhook_secret=webhook_secret, webhook_url=webhook_url)
    for name in job:
        console.print(f"job {fake.add_job(name)}: {name}")
    console.print(
        f"fake ATS on http://{host}:{port} (RAPPORT_ATS_BASE_URL); "
        f"state: GET /_fake/state; apply: POST /_fake/apply"
    )
    uvicorn.run(fake.app(), host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    app.add_typer(ats_app, name="ats")


__all__ = ["register"]
