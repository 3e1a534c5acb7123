"""`rapport outreach`: sequences, enrolment, triggers, preview and test-send (client verbs),
and the scheduler and inbox (local verbs that act on this machine's store)."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import threading
from collections.abc import Iterator
from datetime import datetime
from email.parser import BytesParser
from email.policy import default as DEFAULT_POLICY
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path

import typer
from rich.table import Table

from rapport.cli.client import ClientOptions, channel
from rapport.cli.output import console, emit_json, errors, key_value_table
from rapport.core.config import Settings
from rapport.v1 import outreach_pb2 as pb
from rapport.v1 import outreach_pb2_grpc as pb_grpc

outreach_app = typer.Typer(
    no_args_is_help=True,
    help="Outreach: sequences, enrolment, triggers, the scheduler and the reply inbox.",
)
sequences_app = typer.Typer(no_args_is_help=True, help="Nurture sequences of personal emails.")
triggers_app = typer.Typer(no_args_is_help=True, help="Event and dormancy triggers.")
outreach_app.add_typer(sequences_app, name="sequences")
outreach_app.add_typer(triggers_app, name="triggers")

CONDITIONS = {
    "": pb.STEP_CONDITION_UNSPECIFIED,
    "always": pb.STEP_CONDITION_UNSPECIFIED,
    "if_not_opened": pb.STEP_CONDITION_IF_NOT_OPENED,
    "not_opened": pb.STEP_CONDITION_IF_NOT_OPENED,
    "if_no_reply": pb.STEP_CONDITION_IF_NO_REPLY,
    "no_reply": pb.STEP_CONDITION_IF_NO_REPLY,
}
STOP_RULES = {
    "reply": pb.STOP_RULE_REPLY,
    "unsubscribe": pb.STOP_RULE_UNSUBSCRIBE,
    "application": pb.STOP_RULE_APPLICATION,
}
SEQUENCE_KEYS = {"name", "description", "sender_name", "stop_on", "steps"}
STEP_KEYS = {
    "key",
    "channel",
    "subject",
    "body",
    "body_file",
    "content_id",
    "delay",
    "condition",
    "next",
}
_DELAY = re.compile(r"^(-)?((?:\d+(?:\.\d+)?[wdhms])+)$")
_DELAY_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_UNIT_S = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def _stub(ch) -> pb_grpc.OutreachServiceStub:
    return pb_grpc.OutreachServiceStub(ch)


def parse_delay(value) -> float:
    """Seconds from 3600, "90s", "12h", "3d", "1d12h" or "2w" (a leading "-" is kept, for
    the server to refuse)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip().replace(" ", "")
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    m = _DELAY.match(text)
    if not m:
        raise typer.BadParameter(f"delay {value!r}: seconds, or like 90s, 12h, 3d, 1d12h, 2w")
    seconds = sum(float(n) * _UNIT_S[u] for n, u in _DELAY_PART.findall(m.group(2)))
    return -seconds if m.group(1) else seconds


def _read_json(path: str) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path}: one JSON object expected")
    return data


def sequence_from_json(data: dict, base: Path) -> pb.Sequence:
    """A sequence file as a message. Steps: key, subject, body (or body_file, relative to
    the file), content_id, delay, condition (always | if_not_opened | if_no_reply), next."""
    unknown = sorted(set(data) - SEQUENCE_KEYS)
    if unknown:
        raise typer.BadParameter(f"unknown sequence keys {unknown}; known: {sorted(SEQUENCE_KEYS)}")
    stop_on = []
    for rule in data.get("stop_on", []):
        if rule not in STOP_RULES:
            raise typer.BadParameter(f"stop_on: {rule!r} is not one of {sorted(STOP_RULES)}")
        stop_on.append(STOP_RULES[rule])
    seq = pb.Sequence(
        name=str(data.get("name", "")),
        description=str(data.get("description", "")),
        sender_name=str(data.get("sender_name", "")),
        stop_on=stop_on,
    )
    steps = data.get("steps", [])
    if not isinstance(steps, list):
        raise typer.BadParameter("steps: a list of step objects")
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            raise typer.BadParameter(f"steps[{i}]: an object")
        unknown = sorted(set(step) - STEP_KEYS)
        if unknown:
            raise typer.BadParameter(
                f"steps[{i}]: unknown keys {unknown}; known: {sorted(STEP_KEYS)}"
            )
        condition = str(step.get("condition", "")).lower()
        if condition not in CONDITIONS:
            raise typer.BadParameter(
                f"steps[{i}].condition: one of always, if_not_opened, if_no_reply"
            )
        body = str(step.get("body", ""))
        if "body_file" in step:
            try:
                body = (base / str(step["body_file"])).read_text(encoding="utf-8")
            except OSError as exc:
                raise typer.BadParameter(f"steps[{i}].body_file: {exc}") from None
        s = seq.steps.add(
            key=str(step.get("key", "")),
            channel=str(step.get("channel", "")),
            subject=str(step.get("subject", "")),
            body=body,
            content_id=str(step.get("content_id", "")),
            condition=CONDITIONS[condition],
            next_key=str(step.get("next", "")),
        )
        delay = parse_delay(step.get("delay", 0))
        s.delay.seconds = int(delay)
        s.delay.nanos = round((delay - int(delay)) * 1e9)
    return seq


def trigger_from_json(data: dict) -> pb.OutreachTrigger:
    """{"name", "on_event": {"kind", "payload": {...}} | "dormant": {"days", "segment_id"},
    "actions": {"add_tag", "add_to_pool", "enrol"}}"""
    unknown = sorted(set(data) - {"name", "on_event", "dormant", "actions"})
    if unknown:
        raise typer.BadParameter(f"unknown trigger keys {unknown}")
    actions = data.get("actions", {}) or {}
    bad = sorted(set(actions) - {"add_tag", "add_to_pool", "enrol"})
    if bad:
        raise typer.BadParameter(f"actions: unknown {bad}; known: add_tag, add_to_pool, enrol")
    t = pb.OutreachTrigger(
        name=str(data.get("name", "")),
        actions=pb.TriggerActions(
            add_tag=str(actions.get("add_tag", "")),
            add_to_pool_id=str(actions.get("add_to_pool", "")),
            enrol_sequence_id=str(actions.get("enrol", "")),
        ),
    )
    if "on_event" in data:
        ev = data["on_event"] or {}
        t.on_event.event_kind = str(ev.get("kind", ""))
        t.on_event.payload_equals.update(
            {str(k): str(v) for k, v in (ev.get("payload") or {}).items()}
        )
    if "dormant" in data:
        d = data["dormant"] or {}
        try:
            t.dormant.dormant_days = int(d.get("days", 0))
        except (TypeError, ValueError):
            raise typer.BadParameter("dormant.days: a whole number of days") from None
        t.dormant.segment_id = str(d.get("segment_id", ""))
    return t


# ------------------------------------------------------------------------ sequences


def _sequence_table(seq: pb.Sequence) -> Table:
    table = Table(title=f"{seq.name}  [dim]{seq.id}[/dim]")
    for col in ("#", "key", "delay", "condition", "subject / content", "next"):
        table.add_column(col, overflow="fold")
    for s in seq.steps:
        condition = pb.StepCondition.Name(s.condition).removeprefix("STEP_CONDITION_").lower()
        table.add_row(
            str(s.position + 1),
            s.key,
            _human_delay(s.delay.seconds),
            "" if condition == "unspecified" else condition,
            f"content {s.content_id}" if s.content_id else (s.subject or "(reply in thread)"),
            s.next_key or "",
        )
    return table


def _human_delay(seconds: int) -> str:
    if seconds == 0:
        return "now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@sequences_app.command("create")
def sequences_create(ctx: typer.Context, path: str = typer.Argument(..., help="Sequence JSON.")):
    """Save a sequence (its templates are checked now, with line and column)."""
    opts: ClientOptions = ctx.obj
    request = pb.CreateSequenceRequest(
        sequence=sequence_from_json(_read_json(path), Path(path).resolve().parent)
    )
    with channel(opts) as ch:
        seq = _stub(ch).CreateSequence(request, timeout=opts.timeout, metadata=opts.metadata())
    if opts.json:
        emit_json(seq)
    else:
        console.print(f"created sequence {seq.id}: {seq.name} ({len(seq.steps)} steps)")


@sequences_app.command("get")
def sequences_get(ctx: typer.Context, sequence_id: str):
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        seq = _stub(ch).GetSequence(
            pb.GetSequenceRequest(id=sequence_id), timeout=opts.timeout, metadata=opts.metadata()
        )
    if opts.json:
        emit_json(seq)
        return
    console.print(_sequence_table(seq))
    c = seq.counts
    console.print(f"[dim]{c.active} active · {c.completed} completed · {c.stopped} stopped[/dim]")


@sequences_app.command("list")
def sequences_list(
    ctx: typer.Context,
    limit: int = typer.Option(50, "--limit"),
    page_token: str = typer.Option("", "--page-token"),
):
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        page = _stub(ch).ListSequences(
            pb.ListSequencesRequest(page_size=limit, page_token=page_token),
            timeout=opts.timeout,
            metadata=opts.metadata(),
        )
    if opts.json:
        emit_json(page)
        return
    table = Table(title="Sequences")
    for col in ("id", "name", "steps", "active", "completed", "stopped"):
        table.add_column(col, overflow="fold")
    for s in page.sequences:
        c = s.counts
        table.add_row(
            s.id, s.name, str(len(s.steps)), str(c.active), str(c.completed), str(c.stopped)
        )
    console.print(table)
    if page.page.next_page_token:
        console.print(f"[dim]more: --page-token {page.page.next_page_token}[/dim]")


# ------------------------------------------------------------------------ enrolment


@outreach_app.command("enrol")
def enrol(
    ctx: typer.Context,
    sequence_id: str = typer.Argument(..., help="The sequence."),
    segment: str = typer.Option("", "--segment", help="Enrol everyone this segment selects now."),
    candidate: list[str] = typer.Option([], "--candidate", help="A candidate id (repeatable)."),
    start_at: str = typer.Option(
        "", "--start-at", help="ISO 8601: the first delay counts from then."
    ),
):
    """Enrol people in a sequence; those who may not be mailed are listed with the reason."""
    opts: ClientOptions = ctx.obj
    if bool(segment) == bool(candidate):
        raise typer.BadParameter("give --segment ID or one or more --candidate ID")
    request = pb.EnrolRequest(sequence_id=sequence_id)
    if segment:
        request.segment_id = segment
    else:
        request.candidates.ids.extend(candidate)
    if start_at:
        try:
            request.start_at.FromDatetime(datetime.fromisoformat(start_at))
        except ValueError:
            raise typer.BadParameter("--start-at: an ISO 8601 time with its offset") from None
    with channel(opts) as ch:
        r = _stub(ch).Enrol(request, timeout=max(opts.timeout, 300), metadata=opts.metadata())
    if opts.json:
        emit_json(r)
        return
    console.print(f"enrolled {r.enrolled}, not enrolled {r.skipped}")
    if r.skips:
        table = Table(title="Not enrolled")
        for col in ("candidate", "reason", "detail"):
            table.add_column(col, overflow="fold")
        for s in r.skips[:50]:
            table.add_row(s.candidate_id, s.reason, s.detail)
        console.print(table)


@outreach_app.command("unenrol")
def unenrol(
    ctx: typer.Context,
    enrolment_id: str = typer.Argument("", help="The enrolment (or --sequence and --candidate)."),
    sequence: str = typer.Option("", "--sequence"),
    candidate: str = typer.Option("", "--candidate"),
):
    """Stop someone's sequence now (nothing more is sent)."""
    opts: ClientOptions = ctx.obj
    request = pb.UnenrolRequest()
    if enrolment_id:
        request.enrolment_id = enrolment_id
    elif sequence and candidate:
        request.member.sequence_id, request.member.candidate_id = sequence, candidate
    else:
        raise typer.BadParameter("an ENROLMENT_ID, or --sequence and --candidate")
    with channel(opts) as ch:
        e = _stub(ch).Unenrol(request, timeout=opts.timeout, metadata=opts.metadata())
    emit_json(e) if opts.json else console.print(f"enrolment {e.id}: {e.state} ({e.stop_reason})")


@outreach_app.command("enrolments")
def enrolments(
    ctx: typer.Context,
    sequence: str = typer.Option("", "--sequence"),
    candidate: str = typer.Option("", "--candidate"),
    state: str = typer.Option("", "--state", help="active | completed | stopped"),
    sends: bool = typer.Option(False, "--sends", help="Include each step's send."),
    limit: int = typer.Option(50, "--limit"),
    page_token: str = typer.Option("", "--page-token"),
):
    """Who is in which sequence, how far along, and why anyone stopped."""
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        page = _stub(ch).ListEnrolments(
            pb.ListEnrolmentsRequest(
                sequence_id=sequence,
                candidate_id=candidate,
                state=state,
                include_sends=sends,
                page_size=limit,
                page_token=page_token,
            ),
            timeout=opts.timeout,
            metadata=opts.metadata(),
        )
    if opts.json:
        emit_json(page)
        return
    table = Table(title="Enrolments")
    for col in ("id", "candidate", "state", "next step", "due", "sends"):
        table.add_column(col, overflow="fold")
    for e in page.enrolments:
        due = e.next_due_at.ToJsonString() if e.HasField("next_due_at") else ""
        done = ", ".join(f"{s.step_key}:{s.state}" for s in e.sends)
        state_text = e.state + (f" ({e.stop_reason})" if e.stop_reason else "")
        table.add_row(e.id[:8], e.candidate_id[:8], state_text, e.next_step_key, due, done)
    console.print(table)
    if page.page.next_page_token:
        console.print(f"[dim]more: --page-token {page.page.next_page_token}[/dim]")


# ------------------------------------------------------------------------ triggers


@triggers_app.command("create")
def triggers_create(ctx: typer.Context, path: str = typer.Argument(..., help="Trigger JSON.")):
    opts: ClientOptions = ctx.obj
    request = pb.CreateTriggerRequest(trigger=trigger_from_json(_read_json(path)))
    with channel(opts) as ch:
        t = _stub(ch).CreateTrigger(request, timeout=opts.timeout, metadata=opts.metadata())
    emit_json(t) if opts.json else console.print(f"created trigger {t.id}: {t.name}")


@triggers_app.command("list")
def triggers_list(ctx: typer.Context):
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        r = _stub(ch).ListTriggers(
            pb.ListTriggersRequest(), timeout=opts.timeout, metadata=opts.metadata()
        )
    if opts.json:
        emit_json(r)
        return
    table = Table(title="Triggers")
    for col in ("id", "name", "when", "actions", "fired"):
        table.add_column(col, overflow="fold")
    for t in r.triggers:
        if t.WhichOneof("when") == "on_event":
            payload = ", ".join(f"{k}={v}" for k, v in sorted(t.on_event.payload_equals.items()))
            when = t.on_event.event_kind + (f" ({payload})" if payload else "")
        else:
            when = f"dormant {t.dormant.dormant_days} days"
        a = t.actions
        acts = ", ".join(
            x
            for x in (
                f"tag {a.add_tag}" if a.add_tag else "",
                f"pool {a.add_to_pool_id}" if a.add_to_pool_id else "",
                f"enrol {a.enrol_sequence_id}" if a.enrol_sequence_id else "",
            )
            if x
        )
        table.add_row(t.id, t.name, when, acts, str(t.fired))
    console.print(table)


# ------------------------------------------------------------------------ preview, test


def _show_message(m: pb.RenderedEmail) -> None:
    console.print(key_value_table("Headers", dict(m.headers)))
    console.print(m.body, markup=False, highlight=False)
    if m.fallbacks_used:
        console.print(f"[yellow]fallbacks used for: {', '.join(m.fallbacks_used)}[/yellow]")


@outreach_app.command("preview")
def preview(
    ctx: typer.Context,
    sequence_id: str = typer.Argument(...),
    candidate: str = typer.Option(..., "--candidate", help="Whose values fill the merge tags."),
    step: str = typer.Option("", "--step", help="Step key (default: the first)."),
):
    """A step as the scheduler would send it to this person now."""
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        r = _stub(ch).PreviewStep(
            pb.PreviewStepRequest(sequence_id=sequence_id, step_key=step, candidate_id=candidate),
            timeout=opts.timeout,
            metadata=opts.metadata(),
        )
    if opts.json:
        emit_json(r)
        return
    _show_message(r.message)
    if not r.would_send:
        console.print(f"[red]would not be sent: {r.reason}[/red]")


@outreach_app.command("test-send")
def test_send(
    ctx: typer.Context,
    sequence_id: str = typer.Argument(...),
    to: str = typer.Option(..., "--to", help="Where the test goes (not the candidate)."),
    candidate: str = typer.Option("", "--candidate", help="Whose values fill the merge tags."),
    step: str = typer.Option("", "--step", help="Step key (default: the first)."),
):
    """Render a step and mail it to --to, marked [TEST]."""
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        r = _stub(ch).TestSend(
            pb.TestSendRequest(
                sequence_id=sequence_id, step_key=step, to_address=to, candidate_id=candidate
            ),
            timeout=opts.timeout,
            metadata=opts.metadata(),
        )
    if opts.json:
        emit_json(r)
    else:
        console.print(f"sent {r.message_id} to {to}: {r.smtp_response}")


@outreach_app.command("reply")
def reply(ctx: typer.Context, path: str = typer.Argument(..., help="A raw message (.eml).")):
    """Record a reply from a saved message (for mailbox pollers and forwarded mail)."""
    opts: ClientOptions = ctx.obj
    try:
        msg = BytesParser(policy=DEFAULT_POLICY).parsebytes(Path(path).read_bytes())
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}") from None
    from rapport.services.outreach.inbox import is_automatic

    sender = parseaddr(str(msg.get("From", "")))[1]
    request = pb.RecordReplyRequest(
        message_id=str(msg.get("Message-ID", "") or ""),
        in_reply_to=str(msg.get("In-Reply-To", "") or ""),
        references=str(msg.get("References", "") or "").split(),
        to_addresses=[a for _, a in _addresses(msg)],
        from_address=sender,
        subject=str(msg.get("Subject", "") or ""),
        automatic=is_automatic(msg, sender),
    )
    if msg.get("Date"):
        with contextlib.suppress(TypeError, ValueError):
            request.received_at.FromDatetime(parsedate_to_datetime(str(msg["Date"])))
    with channel(opts) as ch:
        r = _stub(ch).RecordReply(request, timeout=opts.timeout, metadata=opts.metadata())
    if opts.json:
        emit_json(r)
    elif r.duplicate:
        console.print("already recorded")
    elif r.matched:
        stopped = "; sequence stopped" if r.stopped else ""
        console.print(f"reply from candidate {r.candidate_id} matched by {r.method}{stopped}")
    else:
        console.print("[yellow]recorded, but matched no message we sent[/yellow]")


def _addresses(msg) -> Iterator[tuple[str, str]]:
    from email.utils import getaddresses

    for header in ("To", "Cc", "Delivered-To"):
        yield from getaddresses([str(v) for v in msg.get_all(header, [])])


# ------------------------------------------------------------------------ local verbs


def _until_signal() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@outreach_app.command("run")
def run(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Send what is due now, then exit."),
    batch: int = typer.Option(0, "--batch", min=0, help="Steps claimed per transaction."),
):
    """The scheduler (local): triggers, then due steps over SMTP, until SIGTERM."""
    from rapport.core.store.db import Database
    from rapport.services.common.logging_setup import configure_logging
    from rapport.services.outreach.scheduler import Scheduler

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    db = Database(settings.effective_database_url, settings=settings)
    scheduler = Scheduler(db, settings, batch_size=batch)
    stop = _until_signal()
    json_out = ctx.obj.json

    def progress(stats) -> None:
        if not json_out:
            errors.print(
                f"batch: {stats.claimed} due, {stats.sent} sent, {stats.skipped} skipped, "
                f"{stats.stopped} stopped, {stats.failed} failed, {stats.retried} to retry",
                highlight=False,
            )

    try:
        totals = scheduler.run(once=once, stop=stop, on_batch=progress)
    finally:
        scheduler.close()
        db.close()
    if json_out:
        emit_json(totals.as_dict() | {"worker": scheduler.worker})
    else:
        console.print(key_value_table(f"outreach scheduler {scheduler.worker}", totals.as_dict()))


@outreach_app.command("inbox")
def inbox(
    host: str = typer.Option(None, "--host", help="Address to listen on."),
    port: int = typer.Option(None, "--port", help="Port to listen on."),
):
    """The reply inbox (local): records replies and mailto unsubscribes, until SIGTERM."""
    from rapport.core.store.db import Database
    from rapport.services.common.logging_setup import configure_logging
    from rapport.services.outreach import inbox as inbox_module
    from rapport.services.outreach.mail import MailSettings
    from rapport.services.outreach.use_cases import OutreachUseCases

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    db = Database(settings.effective_database_url, settings=settings)
    mail = MailSettings.from_settings(settings)
    host = host or settings.outreach_inbox_host
    port = settings.outreach_inbox_port if port is None else port
    stop = _until_signal()
    box = inbox_module.Inbox(OutreachUseCases(db, settings, mail), mail, host, port)
    box.start()
    print(f"inbox listening on {host}:{port}", flush=True)
    try:
        stop.wait()
    finally:
        box.stop()
        db.close()


def register(app: typer.Typer) -> None:
    app.add_typer(outreach_app, name="outreach")
