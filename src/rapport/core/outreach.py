"""Outreach domain: sequences, enrolments, sends and triggers, and the rules a sequence must
obey before it is saved (DESIGN §8). Plain dataclasses and pure checks: no SQL, no grpc.

A sequence is a chain of steps. Each step names the step after it (`next_key`, by default
the following one; "end" stops there), so a chain can be reordered or cut short; a chain
that comes back to a step it already ran would mail the same person forever and is refused,
as is a step no chain reaches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from rapport.core.domain import TIMELINE_KINDS
from rapport.core.errors import ValidationFailed, Violation
from rapport.core.privacy import CONTACTABLE


class StepCondition(StrEnum):
    ALWAYS = ""
    NOT_OPENED = "not_opened"  # no human open of an earlier email of this enrolment
    NO_REPLY = "no_reply"  # no reply since enrolment


class EnrolmentState(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    STOPPED = "stopped"


class SendState(StrEnum):
    QUEUED = "queued"  # to be sent: released by a scheduler, or waiting for a retry
    SENDING = "sending"  # claimed by a scheduler, committed before any SMTP traffic
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # the step's condition was false, or the person may not be mailed


STOP_RULES = ("reply", "unsubscribe", "application")
DEFAULT_STOP_RULES = STOP_RULES
# Consent states under which someone may be mailed: the privacy rule's (one for every
# sender, `rapport.core.privacy.may_contact`). "unknown" is not consent.
MAILABLE_CONSENT = frozenset(s.value for s in CONTACTABLE)
CHANNELS = ("email",)  # channels the scheduler delivers; sms and others are not built yet
END = "end"

MAX_STEPS = 50
MAX_DELAY_S = 365 * 86400  # a step a year after the previous one is a mistake, not a plan
MAX_NAME_CHARS = 300
MAX_SUBJECT_CHARS = 998  # RFC 5322 line limit
MAX_BODY_CHARS = 100_000
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class Step:
    key: str = ""
    channel: str = "email"
    subject: str = ""
    body: str = ""
    content_id: str = ""
    delay_s: int = 0
    condition: str = StepCondition.ALWAYS.value
    next_key: str = ""  # "": the following step; "end": the last one
    position: int = 0
    next_position: int = -1  # resolved at save; -1 ends the sequence


@dataclass(frozen=True)
class EnrolmentCounts:
    active: int = 0
    completed: int = 0
    stopped: int = 0


@dataclass(frozen=True)
class Sequence:
    id: str = ""
    name: str = ""
    description: str = ""
    steps: tuple[Step, ...] = ()
    stop_on: tuple[str, ...] = DEFAULT_STOP_RULES
    sender_name: str = ""
    created_at: datetime | None = None
    counts: EnrolmentCounts = EnrolmentCounts()
    pk: int = 0

    def step(self, key: str) -> Step:
        for s in self.steps:
            if s.key == key:
                return s
        raise ValidationFailed(Violation("step_key", f"no step {key!r} in this sequence"))

    def stops_on(self, rule: str) -> bool:
        return rule == "unsubscribe" or rule in self.stop_on


@dataclass(frozen=True)
class SendInfo:
    id: str
    step_key: str
    state: str
    reason: str = ""
    message_id: str = ""
    sent_at: datetime | None = None
    attempts: int = 0


@dataclass(frozen=True)
class Enrolment:
    id: str
    sequence_id: str
    candidate_id: str
    state: str
    stop_reason: str = ""
    next_step_key: str = ""
    next_due_at: datetime | None = None
    enrolled_at: datetime | None = None
    updated_at: datetime | None = None
    source: str = "manual"
    sends: tuple[SendInfo, ...] = ()


@dataclass(frozen=True)
class EnrolSkip:
    candidate_id: str
    reason: str  # no_consent | no_email | already_enrolled | not_found | merged
    detail: str = ""


@dataclass
class EnrolOutcome:
    enrolled: list[Enrolment] = field(default_factory=list)
    enrolled_count: int = 0
    skips: list[EnrolSkip] = field(default_factory=list)
    skipped_count: int = 0


@dataclass(frozen=True)
class Trigger:
    id: str = ""
    name: str = ""
    kind: str = "event"  # event | dormant
    event_kind: str = ""
    payload_equals: tuple[tuple[str, str], ...] = ()
    dormant_days: int = 0
    segment_id: str = ""
    add_tag: str = ""
    add_to_pool_id: str = ""
    enrol_sequence_id: str = ""
    enabled: bool = True
    created_at: datetime | None = None
    fired: int = 0


@dataclass(frozen=True)
class ReplyOutcome:
    matched: bool
    method: str = "none"
    candidate_id: str = ""
    enrolment_id: str = ""
    send_id: str = ""
    stopped: bool = False
    duplicate: bool = False
    automatic: bool = False


@dataclass(frozen=True)
class UnsubscribeOutcome:
    candidate_id: str
    stopped_enrolments: int
    already: bool


# ------------------------------------------------------------------------ validation

TemplateCheck = Callable[[str, str], list[Violation]]  # (source, field) -> violations


def normalise_sequence(
    seq: Sequence,
    *,
    check_template: TemplateCheck,
    content_exists: Callable[[str], bool],
) -> Sequence:
    """The sequence as it will be stored (default keys, channels, stop rules; resolved next
    positions), or ValidationFailed listing every problem with its field path.

    `check_template` validates one merge-tag template (undefined or unsafe expressions, with
    their line); `content_exists` says whether a content item id names a stored template.
    """
    problems: list[Violation] = []
    name = seq.name.strip()
    if not name:
        problems.append(Violation("sequence.name", "required"))
    elif len(name) > MAX_NAME_CHARS:
        problems.append(Violation("sequence.name", f"at most {MAX_NAME_CHARS} characters"))
    sender = " ".join(seq.sender_name.split())
    if len(sender) > MAX_NAME_CHARS:
        problems.append(Violation("sequence.sender_name", f"at most {MAX_NAME_CHARS} characters"))
    if len(seq.description) > MAX_BODY_CHARS:
        problems.append(Violation("sequence.description", f"at most {MAX_BODY_CHARS} characters"))
    stop_on = list(dict.fromkeys(seq.stop_on or DEFAULT_STOP_RULES))
    for i, rule in enumerate(stop_on):
        if rule not in STOP_RULES:
            problems.append(
                Violation(f"sequence.stop_on[{i}]", f"unknown rule; one of {', '.join(STOP_RULES)}")
            )
    if "unsubscribe" not in stop_on:
        stop_on.append("unsubscribe")  # never optional: nobody opted out is mailed
    if not seq.steps:
        problems.append(Violation("sequence.steps", "at least one step"))
    if len(seq.steps) > MAX_STEPS:
        problems.append(Violation("sequence.steps", f"at most {MAX_STEPS} steps"))
    steps = [
        replace(s, key=s.key.strip() or f"step-{i + 1}", channel=s.channel or "email", position=i)
        for i, s in enumerate(seq.steps[:MAX_STEPS])
    ]
    seen: dict[str, int] = {}
    for s in steps:
        where = f"sequence.steps[{s.position}]"
        if not _KEY.match(s.key) or s.key == END:
            problems.append(
                Violation(f"{where}.key", "1-100 letters, digits, '_', '.' or '-', and not 'end'")
            )
        elif s.key in seen:
            problems.append(Violation(f"{where}.key", f"{s.key!r} is also step {seen[s.key]}"))
        seen.setdefault(s.key, s.position)
        problems += _step_problems(s, where, check_template, content_exists)
    if not problems:
        steps = _resolve_chain(steps, problems)
    if problems:
        raise ValidationFailed(problems)
    return replace(seq, name=name, sender_name=sender, steps=tuple(steps), stop_on=tuple(stop_on))


def _step_problems(
    s: Step, where: str, check_template: TemplateCheck, content_exists: Callable[[str], bool]
) -> list[Violation]:
    out: list[Violation] = []
    if s.channel not in CHANNELS:
        out.append(
            Violation(f"{where}.channel", f"{s.channel!r} is not delivered; one of {CHANNELS}")
        )
    if s.delay_s < 0:
        out.append(Violation(f"{where}.delay", "must not be negative"))
    elif s.delay_s > MAX_DELAY_S:
        out.append(Violation(f"{where}.delay", "at most 365 days after the previous step"))
    if s.condition not in {c.value for c in StepCondition}:
        out.append(
            Violation(
                f"{where}.condition",
                "unknown; one of " + ", ".join(c.value or "(always)" for c in StepCondition),
            )
        )
    if s.position == 0 and s.condition == StepCondition.NOT_OPENED:
        out.append(Violation(f"{where}.condition", "the first step has no earlier email to open"))
    if s.content_id:
        if s.subject or s.body:
            out.append(Violation(where, "either a content item or an inline subject and body"))
        elif not content_exists(s.content_id):
            out.append(Violation(f"{where}.content_id", "no such content item"))
        return out
    if not s.body.strip():
        out.append(Violation(f"{where}.body", "required (or a content_id)"))
    if s.position == 0 and not s.subject.strip():
        out.append(Violation(f"{where}.subject", "the first step needs a subject"))
    if len(s.subject) > MAX_SUBJECT_CHARS or "\n" in s.subject or "\r" in s.subject:
        out.append(Violation(f"{where}.subject", f"one line of at most {MAX_SUBJECT_CHARS}"))
    if len(s.body) > MAX_BODY_CHARS:
        out.append(Violation(f"{where}.body", f"at most {MAX_BODY_CHARS} characters"))
    if s.subject:
        out += check_template(s.subject, f"{where}.subject")
    if s.body:
        out += check_template(s.body, f"{where}.body")
    return out


def _resolve_chain(steps: list[Step], problems: list[Violation]) -> list[Step]:
    """Next positions from next keys; a cycle or a step never reached is a problem."""
    index = {s.key: s.position for s in steps}
    resolved: list[Step] = []
    for s in steps:
        target = s.next_key.strip()
        if not target:
            nxt = s.position + 1 if s.position + 1 < len(steps) else -1
        elif target == END:
            nxt = -1
        elif target in index:
            nxt = index[target]
        else:
            problems.append(
                Violation(f"sequence.steps[{s.position}].next_key", f"no step {target!r}")
            )
            nxt = -1
        resolved.append(replace(s, next_key=target, next_position=nxt))
    if problems:
        return resolved
    path, at = [], 0
    while at != -1:
        if at in path:
            loop = [resolved[p].key for p in path[path.index(at) :]] + [resolved[at].key]
            problems.append(
                Violation(
                    f"sequence.steps[{path[-1]}].next_key",
                    "the steps form a cycle: " + " -> ".join(loop),
                )
            )
            return resolved
        path.append(at)
        at = resolved[at].next_position
    for s in resolved:
        if s.position not in path:
            problems.append(
                Violation(
                    f"sequence.steps[{s.position}]",
                    f"step {s.key!r} is never reached from the first step",
                )
            )
    return resolved


def normalise_trigger(t: Trigger) -> Trigger:
    """The trigger as stored, or ValidationFailed. Ids it names are checked by the store."""
    problems: list[Violation] = []
    name = t.name.strip()
    if not name:
        problems.append(Violation("trigger.name", "required"))
    elif len(name) > MAX_NAME_CHARS:
        problems.append(Violation("trigger.name", f"at most {MAX_NAME_CHARS} characters"))
    if t.kind == "event":
        if t.event_kind not in TIMELINE_KINDS:
            problems.append(
                Violation(
                    "trigger.on_event.event_kind",
                    "a timeline kind; one of " + ", ".join(sorted(TIMELINE_KINDS)),
                )
            )
        if len(t.payload_equals) > 20:
            problems.append(Violation("trigger.on_event.payload_equals", "at most 20 keys"))
    elif t.kind == "dormant":
        if not 1 <= t.dormant_days <= 3650:
            problems.append(Violation("trigger.dormant.dormant_days", "1..3650 days"))
        if not t.enrol_sequence_id:
            problems.append(
                Violation("trigger.actions.enrol_sequence_id", "a dormancy trigger enrols people")
            )
    else:
        problems.append(Violation("trigger.when", "on_event or dormant"))
    if not (t.add_tag or t.add_to_pool_id or t.enrol_sequence_id):
        problems.append(Violation("trigger.actions", "at least one action"))
    if t.add_tag and (len(t.add_tag) > 100 or t.add_tag != t.add_tag.strip()):
        problems.append(Violation("trigger.actions.add_tag", "a tag of at most 100 characters"))
    if problems:
        raise ValidationFailed(problems)
    return replace(t, name=name, enabled=True)


def payload_matches(payload: dict, wanted: Iterable[tuple[str, str]]) -> bool:
    """Every wanted key equals the payload's value as text; a list value matches if it
    holds the wanted text (so {"topic": "kubernetes"} matches topics lists too)."""
    for key, value in wanted:
        got = payload.get(key)
        if isinstance(got, list):
            if value not in {str(v) for v in got}:
                return False
        elif got is None or str(got) != value:
            return False
    return True
