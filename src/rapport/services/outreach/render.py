"""A step's templates filled in for one person, the same way for preview, test-send and the
scheduler. Rendering is `rapport.core.templating` (sandboxed Jinja2 with fallbacks): a
missing value prints its fallback, never the raw tag."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import TemplateSyntaxError

from rapport.core import templating
from rapport.core.errors import ValidationFailed, Violation
from rapport.core.outreach import Sequence as OutreachSequence
from rapport.core.outreach import Step
from rapport.core.store.outreach import ContentTemplate

REPLY_PREFIX = "Re: "


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    fallbacks_used: tuple[str, ...] = ()


def check_template(text: str, field: str) -> list[Violation]:
    """Problems of one merge-tag template (empty if none), each naming line and column."""
    try:
        templating.validate_template(text, field)
    except ValidationFailed as exc:
        return list(exc.violations)
    return []


def render_step(
    seq: OutreachSequence,
    step: Step,
    values: Mapping,
    *,
    content: ContentTemplate | None,
    thread_subject: str,
    unsubscribe_url: str,
    sender_name: str,
) -> Rendered:
    """Subject and body of `step` for the person whose merge-tag `values` are given.

    A step without a subject of its own is a follow-up in the thread: "Re: " and the subject
    the thread started with (`thread_subject`; the first step's, rendered, when nothing was
    sent yet). Raises ValidationFailed if a template cannot be rendered."""
    extra = {"unsubscribe_url": unsubscribe_url, "recruiter_name": sender_name}
    fallbacks: Mapping[str, str] = {}
    if content is not None:
        subject_t, body_t = content.subject, content.body
        fallbacks = content.fallbacks
        extra |= content.extra
    else:
        subject_t, body_t = step.subject, step.body
    if subject_t.strip():
        subject = _one_line(templating.render(subject_t, values, extra, fallbacks))
    else:
        first = thread_subject or _one_line(
            templating.render(seq.steps[0].subject, values, extra, fallbacks)
        )
        subject = first if first.startswith(REPLY_PREFIX) else REPLY_PREFIX + first
    body = templating.render(body_t, values, extra, fallbacks)
    return Rendered(subject, body, _fallbacks_used((subject_t, body_t), values, extra))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _fallbacks_used(texts: Sequence[str], values: Mapping, extra: Mapping) -> tuple[str, ...]:
    """Merge tags the templates read that had no value here, so printed their fallback."""
    present = set(templating.merge_values(values)) | {k for k, v in extra.items() if v}
    names: set[str] = set()
    for text in texts:
        names |= _names(text)
    return tuple(sorted(n for n in names if n in templating.MERGE_TAGS and n not in present))


@lru_cache(maxsize=1024)
def _names(text: str) -> frozenset[str]:
    """The names a template reads (parsed once per template text, not once per person)."""
    if not text:
        return frozenset()
    try:
        return frozenset(templating.template_names(text))
    except TemplateSyntaxError:
        return frozenset()
