"""Client verbs for content: `content add|list|next` and `outcome` (DESIGN §10)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer
from google.protobuf import timestamp_pb2
from rich.table import Table

from rapport.cli.client import ClientOptions, channel
from rapport.cli.filters import parse_filters
from rapport.cli.output import as_dict, console, emit_json, key_value_table
from rapport.v1 import common_pb2
from rapport.v1 import content_pb2 as pb
from rapport.v1 import content_pb2_grpc as pb_grpc

content_app = typer.Typer(no_args_is_help=True, help="The content library and next-best content.")

KINDS = {
    "email_template": pb.CONTENT_KIND_EMAIL_TEMPLATE,
    "article": pb.CONTENT_KIND_ARTICLE,
    "whitepaper": pb.CONTENT_KIND_WHITEPAPER,
    "job_ad": pb.CONTENT_KIND_JOB_AD,
    "event_invite": pb.CONTENT_KIND_EVENT_INVITE,
}
KIND_NAMES = {number: name for name, number in KINDS.items()}
OUTCOMES = {
    "delivered": pb.OUTCOME_KIND_DELIVERED,
    "opened": pb.OUTCOME_KIND_OPENED,
    "clicked": pb.OUTCOME_KIND_CLICKED,
    "replied": pb.OUTCOME_KIND_REPLIED,
    "unsubscribed": pb.OUTCOME_KIND_UNSUBSCRIBED,
    "bounced": pb.OUTCOME_KIND_BOUNCED,
}
ITEM_KEYS = {
    "kind",
    "title",
    "subject",
    "body",
    "url",
    "topics",
    "skills",
    "audience",
    "locale",
    "channels",
    "fallbacks",
    "role_id",
    "active_from",
    "active_until",
}


def _stub(ch) -> pb_grpc.ContentServiceStub:
    return pb_grpc.ContentServiceStub(ch)


def _timestamp(text: str, what: str) -> timestamp_pb2.Timestamp:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{what}: not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


def _strings(data: dict, key: str) -> list[str]:
    value = data.get(key, [])
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise typer.BadParameter(f"{key}: expected a list of strings")
    return value


def _audience(value) -> common_pb2.Rule:
    """A list of `--filter` strings ("skill=python", "country:in=DE,NL"), or the rule as JSON
    ({"conditions": [{"field", "op", "values"}]})."""
    if value is None:
        return common_pb2.Rule()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return parse_filters(value)
    if isinstance(value, dict):
        rule = common_pb2.Rule()
        for c in value.get("conditions", []):
            if not isinstance(c, dict):
                raise typer.BadParameter("audience.conditions: a list of objects")
            rule.conditions.add(
                field=str(c.get("field", "")),
                op=str(c.get("op", "in")),
                values=[str(v) for v in c.get("values", [])],
            )
        return rule
    raise typer.BadParameter('audience: ["skill=python", ...] or {"conditions": [...]}')


def item_from_json(data: dict) -> pb.ContentItem:
    """A content file's object as a message (see `rapport content add --help`)."""
    if not isinstance(data, dict):
        raise typer.BadParameter("each content item is a JSON object")
    unknown = sorted(set(data) - ITEM_KEYS - {"id", "created_at", "embedding_encoder"})
    if unknown:
        raise typer.BadParameter(f"unknown keys {unknown}; known: {sorted(ITEM_KEYS)}")
    kind = str(data.get("kind", ""))
    if kind not in KINDS:
        raise typer.BadParameter(f"kind: one of {', '.join(KINDS)}")
    fallbacks = data.get("fallbacks", {})
    if not isinstance(fallbacks, dict):
        raise typer.BadParameter("fallbacks: an object of merge tag -> text")
    item = pb.ContentItem(
        kind=KINDS[kind],
        title=str(data.get("title", "")),
        subject=str(data.get("subject", "")),
        body=str(data.get("body", "")),
        url=str(data.get("url", "")),
        topics=_strings(data, "topics"),
        skills=_strings(data, "skills"),
        audience=_audience(data.get("audience")),
        locale=str(data.get("locale", "")),
        channels=_strings(data, "channels"),
        fallbacks={str(k): str(v) for k, v in fallbacks.items()},
        role_id=str(data.get("role_id", "")),
    )
    for key in ("active_from", "active_until"):
        if data.get(key):
            getattr(item, key).CopyFrom(_timestamp(str(data[key]), key))
    return item


def _read_items(source: str) -> list[pb.ContentItem]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {source}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}") from None
    return [item_from_json(d) for d in (data if isinstance(data, list) else [data])]


def item_json(item: pb.ContentItem) -> dict:
    out = as_dict(item)
    out["kind"] = KIND_NAMES.get(item.kind, "")
    return out


@content_app.command("add")
def add(
    ctx: typer.Context,
    file: str = typer.Argument(
        ...,
        help="JSON file (one item, or a list of items), or - for stdin. Keys: kind "
        "(email_template|article|whitepaper|job_ad|event_invite), title, subject, body "
        "(merge tags such as {{ first_name }}), url, topics, skills, audience (filters like "
        '"skill=python"), locale, channels, fallbacks, role_id, active_from, active_until.',
    ),
) -> None:
    """Add content to the library (templates are checked at save time).

    An unknown merge tag or an unsafe expression fails with its line and column.
    """
    opts: ClientOptions = ctx.obj
    items = _read_items(file)
    created = []
    with channel(opts) as ch:
        stub = _stub(ch)
        for item in items:
            created.append(
                stub.CreateContent(
                    pb.CreateContentRequest(item=item),
                    timeout=opts.timeout,
                    metadata=opts.metadata(),
                )
            )
    if opts.json:
        emit_json(item_json(created[0]) if len(created) == 1 else [item_json(c) for c in created])
        return
    for c in created:
        console.print(f"created {KIND_NAMES.get(c.kind, '')} {c.id}: {c.title}")


@content_app.command("list")
def list_(
    ctx: typer.Context,
    kind: str = typer.Option("", "--kind", help="Only this kind."),
    active: bool = typer.Option(False, "--active", help="Only items inside their window now."),
    limit: int = typer.Option(50, "--limit"),
    page_token: str = typer.Option("", "--page-token"),
) -> None:
    """The library, newest first."""
    opts: ClientOptions = ctx.obj
    if kind and kind not in KINDS:
        raise typer.BadParameter(f"one of {', '.join(KINDS)}", param_hint="--kind")
    with channel(opts) as ch:
        page = _stub(ch).ListContent(
            pb.ListContentRequest(
                kind=KINDS.get(kind, 0), active_only=active, page_size=limit, page_token=page_token
            ),
            timeout=opts.timeout,
            metadata=opts.metadata(),
        )
    if opts.json:
        emit_json(
            {
                "items": [item_json(i) for i in page.items],
                "next_page_token": page.page.next_page_token,
            }
        )
        return
    table = Table(title="Content")
    for col in ("id", "kind", "title", "channels", "locale", "audience", "embedded"):
        table.add_column(col, overflow="fold")
    for i in page.items:
        audience = ", ".join(
            f"{c.field}:{c.op}={','.join(c.values)}" for c in i.audience.conditions
        )
        table.add_row(
            i.id,
            KIND_NAMES.get(i.kind, ""),
            i.title,
            ", ".join(i.channels),
            i.locale,
            audience or "everyone",
            "yes" if i.embedding_encoder else "pending",
        )
    console.print(table)
    if page.page.next_page_token:
        console.print(f"[dim]more: --page-token {page.page.next_page_token}[/dim]")


def next_json(r: pb.NextBestContentResponse) -> dict:
    """The stable shape of `rapport content next --json`."""
    out = {
        "decision_id": r.decision_id,
        "send": r.send,
        "reason": r.reason,
        "no_send": pb.NoSendReason.Name(r.no_send).removeprefix("NO_SEND_REASON_").lower()
        if r.no_send
        else "",
        "policy_name": r.policy_name,
        "policy_version": r.policy_version,
        "eligible_count": r.eligible_count,
    }
    if r.send:
        out |= {
            "content_id": r.item.id,
            "title": r.item.title,
            "kind": KIND_NAMES.get(r.item.kind, ""),
            "score": round(r.score, 6),
            "propensity": round(r.propensity, 6),
            "relevance": round(r.relevance, 6),
            "predicted_response": round(r.predicted_response, 6),
            "engagement_model": r.engagement_model,
            "encoder": r.encoder,
            "preview": {"subject": r.preview.subject, "body": r.preview.body},
            "alternatives": [
                {
                    "content_id": a.content_id,
                    "title": a.title,
                    "propensity": round(a.propensity, 6),
                    "score": round(a.score, 6),
                }
                for a in r.alternatives
            ],
        }
    if r.HasField("not_before"):
        out["not_before"] = r.not_before.ToJsonString()
    return out


@content_app.command("next")
def next_(
    ctx: typer.Context,
    candidate_id: str = typer.Argument(..., help="The candidate to choose for."),
    channel_name: str = typer.Option("email", "--channel", help="email, sms, linkedin or web."),
    role_id: str = typer.Option("", "--role-id", help="A stored role the outreach is about."),
    step: int = typer.Option(0, "--step", help="Sequence step (0: not in a sequence)."),
    kinds: list[str] = typer.Option([], "--kind", help="Only these kinds (repeatable)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Preview: decide and render, log nothing."
    ),
    at: str = typer.Option(
        "", "--at", help="When it would be sent (ISO 8601; quiet hours and caps apply then)."
    ),
) -> None:
    """What to send this person next, if anything, with the reason and a preview."""
    opts: ClientOptions = ctx.obj
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise typer.BadParameter(f"one of {', '.join(KINDS)}", param_hint="--kind")
    request = pb.NextBestContentRequest(
        candidate_id=candidate_id,
        context=pb.ContentContext(
            channel=channel_name,
            role_id=role_id,
            sequence_step=step,
            kinds=[KINDS[k] for k in kinds],
        ),
        dry_run=dry_run,
    )
    if at:
        request.context.send_at.CopyFrom(_timestamp(at, "--at"))
    with channel(opts) as ch:
        r = _stub(ch).NextBestContent(request, timeout=opts.timeout, metadata=opts.metadata())
    if opts.json:
        emit_json(next_json(r))
        return
    if not r.send:
        when = ""
        if r.HasField("not_before"):
            when = f" (ask again after {r.not_before.ToJsonString()})"
        console.print(f"[yellow]{r.reason}[/yellow]{when}")
        if r.decision_id:
            console.print(f"[dim]decision {r.decision_id}[/dim]")
        return
    console.print(
        key_value_table(
            f"Next for {candidate_id[:8]}: {r.item.title}",
            {
                "decision": r.decision_id or "(dry run: not logged)",
                "content": f"{r.item.id} ({KIND_NAMES.get(r.item.kind, '')})",
                "score": f"{r.score:.4f} = relevance {r.relevance:.3f} x response "
                f"{r.predicted_response:.2%}",
                "propensity": f"{r.propensity:.3f} of {r.eligible_count} eligible",
                "policy": f"{r.policy_name} {r.policy_version}",
                "reason": r.reason,
                "subject": r.preview.subject,
            },
        )
    )
    console.print(r.preview.body, markup=False, highlight=False)


def outcome(
    ctx: typer.Context,
    args: list[str] = typer.Argument(
        ..., help="DECISION_ID KIND, or just KIND with --candidate and --content."
    ),
    candidate: str = typer.Option("", "--candidate", help="The person (without a decision id)."),
    content: str = typer.Option("", "--content", help="The item (without a decision id)."),
    at: str = typer.Option("", "--at", help="When it happened (ISO 8601); default now."),
    user_agent: str = typer.Option("", "--user-agent", help="Of an open."),
    machine: bool = typer.Option(False, "--machine", help="An open by a machine (proxy)."),
    key: str = typer.Option("", "--key", help="Idempotency key (e.g. the provider's event id)."),
) -> None:
    """Record what happened to a send (delivered|opened|clicked|replied|unsubscribed|bounced).

    Outcomes go on the timeline and into the decision log's reward; an unsubscribe opts the
    person out. The same key twice is ALREADY_EXISTS.
    """
    opts: ClientOptions = ctx.obj
    by_pair = bool(candidate or content)
    if by_pair and not (candidate and content):
        raise typer.BadParameter("give both --candidate and --content")
    if len(args) != (1 if by_pair else 2):
        raise typer.BadParameter("expected DECISION_ID KIND, or KIND with --candidate/--content")
    kind = args[-1]
    if kind not in OUTCOMES:
        raise typer.BadParameter(f"KIND: one of {', '.join(OUTCOMES)}")
    request = pb.RecordOutcomeRequest(
        kind=OUTCOMES[kind], user_agent=user_agent, is_machine_open=machine, outcome_key=key
    )
    if by_pair:
        request.content.CopyFrom(pb.ContentRef(candidate_id=candidate, content_id=content))
    else:
        request.decision_id = args[0]
    if at:
        request.occurred_at.CopyFrom(_timestamp(at, "--at"))
    with channel(opts) as ch:
        o = _stub(ch).RecordOutcome(request, timeout=opts.timeout, metadata=opts.metadata())
    if opts.json:
        out = as_dict(o)
        out["kind"] = kind
        emit_json(out)
        return
    note = f" [yellow](machine open: {o.machine_reason}; not counted)[/yellow]" if o.machine else ""
    if o.opted_out:
        note += " [yellow](opted out)[/yellow]"
    console.print(f"recorded {kind} {o.id} on the timeline{note}")


def register(app: typer.Typer) -> None:
    app.add_typer(content_app, name="content")
    app.command("outcome")(outcome)


__all__ = ["item_from_json", "next_json", "register"]
