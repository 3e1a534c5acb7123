"""ContentService use cases: the library, NextBestContent and RecordOutcome. No grpc here.

NextBestContent runs the eligibility rules first (merged, opted out, consent, an address on
the channel, items active, on the channel, of the kinds asked, in a language the person
reads, in their audience, not sent before; then the contact budget, the channel's
frequency cap and quiet hours in the person's time zone), then lets the policy draw among
what is left. Every answer but a dry run is logged, "send nothing" included.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from rapport.core.config import Settings
from rapport.core.content import (
    CONTENT_CHANNELS,
    ContentItem,
    ContentKind,
    Decision,
    NoSend,
    Outcome,
    OutcomeKind,
    cap_until,
    parse_quiet_hours,
    quiet_until,
    reachable,
    zone_of,
)
from rapport.core.domain import Candidate, ConsentState, Page, Role
from rapport.core.errors import (
    PreconditionFailed,
    RapportError,
    Unavailable,
    ValidationFailed,
    Violation,
)
from rapport.core.privacy import may_contact
from rapport.core.store import candidates, decisions, roles
from rapport.core.store import content as content_store
from rapport.core.store import privacy as privacy_store
from rapport.core.store.db import Database
from rapport.core.templating import render
from rapport.models.content_policy import ContentPolicy, PolicyConfig, item_rates, relevance
from rapport.models.profiles import candidate_text
from rapport.services.content.library import (
    CHANNEL_BITS,
    KIND_CODES,
    EncoderHolder,
    Library,
    LibrarySnapshot,
)
from rapport.services.engagement.source import EngagementSource

log = logging.getLogger(__name__)

ALTERNATIVES = 5
VECTOR_CACHE = 10_000
MAX_PAST = timedelta(days=1)
MAX_AHEAD = timedelta(days=366)

# The matching index's vector of a person, if it holds one in this encoder's space.
IndexVectors = Callable[[int, str], np.ndarray | None]


def policy_config(settings: Settings) -> PolicyConfig:
    return PolicyConfig(
        kind=settings.content_policy,
        temperature=settings.content_temperature,
        exploration=settings.content_exploration,
        prior_response=settings.content_prior_response,
        prior_strength=settings.content_prior_strength,
    )


@dataclass(frozen=True)
class NextContext:
    role_id: str = ""
    channel: str = ""
    sequence_step: int = 0
    sequence_id: str = ""
    send_at: datetime | None = None
    kinds: tuple[ContentKind, ...] = ()


@dataclass(frozen=True)
class Option:
    item: ContentItem
    propensity: float
    score: float
    relevance: float


@dataclass(frozen=True)
class NextBest:
    """A NextBestContent answer: an item to send with its propensity, or why nothing."""

    decision_id: str
    item: ContentItem | None
    reason: str
    no_send: NoSend
    policy_name: str
    policy_version: str
    score: float = 0.0
    propensity: float = 1.0
    relevance: float = 0.0
    response: float = 0.0
    subject: str = ""
    body: str = ""
    eligible_count: int = 0
    engagement_model: str = ""
    encoder: str = ""
    not_before: datetime | None = None
    alternatives: list[Option] = field(default_factory=list)


class _Lru:
    """A small thread-safe LRU of vectors."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key) -> np.ndarray | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def drop_where(self, predicate: Callable) -> int:
        with self._lock:
            keys = [k for k in self._data if predicate(k)]
            for k in keys:
                del self._data[k]
            return len(keys)

    def put(self, key, value: np.ndarray) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


def _role_text(role: Role) -> str:
    skills = ", ".join((*role.required_skills, *role.nice_to_have_skills))
    parts = [role.title, role.description[:2000], f"Skills: {skills}" if skills else ""]
    return ". ".join(p.strip().rstrip(".") for p in parts if p.strip())


def _short(x: float) -> float:
    """Six significant digits for the few numbers of a decision's context."""
    return float(f"{x:.6g}")


class ContentUseCases:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        library: Library,
        encoders: EncoderHolder,
        policy: ContentPolicy,
        *,
        engagement: EngagementSource | None = None,
        index_vectors: IndexVectors | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._library = library
        self._encoders = encoders
        self._policy = policy
        self._engagement = engagement
        self._index_vectors = index_vectors
        self._quiet = parse_quiet_hours(settings.content_quiet_hours)
        self._people = _Lru(VECTOR_CACHE)
        self._roles = _Lru(1_000)
        self._versions: dict[str, str] = {}

    def forget(self, candidate_ids: Sequence[str]) -> None:
        """Drop cached vectors of these people (erased): nothing of them stays in memory."""
        gone = set(candidate_ids)
        self._people.drop_where(lambda key: key[0] in gone)

    def _version(self, encoder_id: str) -> str:
        cached = self._versions.get(encoder_id)
        if cached is None:
            cached = self._versions[encoder_id] = self._policy.config.version(encoder_id)
        return cached

    # ------------------------------------------------------------------ the library
    def create(self, item: ContentItem) -> tuple[ContentItem, str]:
        """Stores an item (templates checked) and returns it with the encoder its vector is
        in ("" if the encoder is still loading: it is embedded as soon as it is ready)."""
        with self._db.transaction() as s:
            created = content_store.create(s, item)
        try:
            snap = self._library.add(created)
        except Exception:  # stored all the same; the background refresh will load it
            log.exception("adding new content to the library in memory failed")
            snap = self._library.current()
        return created, self._embedded_with(snap, created.pk)

    def get(self, content_id: str) -> tuple[ContentItem, str]:
        with self._db.read() as s:
            item = content_store.get(s, content_id)
            item_pk = content_store.pk_for(s, content_id)
        return item, self._embedded_with(self._library.current(), item_pk)

    @staticmethod
    def _embedded_with(snap: LibrarySnapshot, pk: int) -> str:
        if snap.vectors is None or not np.any(snap.pks == pk):
            return ""
        return snap.encoder_id

    def list(self, kind: ContentKind | None, active_only: bool, size: int, token: str) -> Page:
        with self._db.read() as s:
            return content_store.list_page(
                s, size, token, kind=kind, active_at=datetime.now(UTC) if active_only else None
            )

    def encoder_of(self, pk: int) -> str:
        return self._embedded_with(self._library.current(), pk)

    # ------------------------------------------------------------------ vectors
    def _person_vector(self, candidate: Candidate, encoder) -> tuple[np.ndarray, str]:
        if self._index_vectors is not None:
            vector = self._index_vectors(candidate.pk, encoder.id)
            if vector is not None:
                return np.asarray(vector, dtype=np.float32), "index"
        key = (candidate.id, candidate.version, encoder.id)
        vector = self._people.get(key)
        if vector is None:
            vector = encoder.encode([candidate_text(candidate)])[0]
            self._people.put(key, vector)
            return vector, "encoded"
        return vector, "cached"

    def _role_vector(self, role: Role, encoder) -> np.ndarray:
        key = (role.id, encoder.id)
        vector = self._roles.get(key)
        if vector is None:
            vector = encoder.encode([_role_text(role)])[0]
            self._roles.put(key, vector)
        return vector

    def _response_of(self, candidate_id: str) -> tuple[float, str, str]:
        """(P(response), model "name/version" or "", a note when the prior stood in)."""
        prior = self._settings.content_prior_response
        if self._engagement is None:
            return prior, "", f"no engagement service: response prior {prior:.0%}"
        try:
            lookup = self._engagement.scores_for([candidate_id])
        except RapportError as exc:
            log.debug("engagement for content unavailable: %s", exc)
            return prior, "", f"no engagement model: response prior {prior:.0%}"
        hit = lookup.scores.get(candidate_id)
        if hit is None:
            return prior, "", f"not scored by {lookup.model}: response prior {prior:.0%}"
        return float(hit[0]), lookup.model, ""

    # ------------------------------------------------------------------ deciding
    def _check(self, candidate_id: str, ctx: NextContext, now: datetime) -> tuple[str, datetime]:
        problems = []
        if not candidate_id:
            problems.append(Violation("candidate_id", "is required"))
        channel = ctx.channel.strip().lower() or "email"
        if channel not in CONTENT_CHANNELS:
            problems.append(
                Violation("context.channel", f"unknown channel; one of {CONTENT_CHANNELS}")
            )
        if ctx.sequence_step < 0:
            problems.append(Violation("context.sequence_step", "must not be negative"))
        at = ctx.send_at or now
        if at < now - MAX_PAST or at > now + MAX_AHEAD:
            problems.append(
                Violation("context.send_at", "must be within a day before and a year after now")
            )
        if problems:
            raise ValidationFailed(problems)
        return channel, at

    def next_best(self, candidate_id: str, ctx: NextContext, *, dry_run: bool = False) -> NextBest:
        now = datetime.now(UTC)
        channel, at = self._check(candidate_id, ctx, now)
        snap = self._library.current()
        config = self._policy.config
        version = self._version(snap.encoder_id)
        base = {"policy_name": config.name, "policy_version": version}
        settings = self._settings
        window = timedelta(
            days=max(settings.content_cap_window_days, settings.content_budget_window_days)
        )
        with self._db.read() as s:
            person = candidates.get(s, candidate_id)
            role = roles.get(s, ctx.role_id) if ctx.role_id else None
            no_send = self._person_rules(person, channel)
            if no_send is None:
                history = decisions.contact_history(s, person.pk, at - window)
                mask, excluded = self._eligible(s, snap, person, ctx, channel, at, history)
        if no_send is not None:
            return self._nothing(person, ctx, channel, at, dry_run, base, *no_send)
        eligible = np.flatnonzero(mask)
        if not len(eligible):
            why = ", ".join(f"{n} {what}" for what, n in excluded.items() if n) or "empty library"
            reason = f"send nothing: no eligible content ({why})"
            return self._nothing(
                person, ctx, channel, at, dry_run, base, NoSend.NOTHING_ELIGIBLE, reason, None
            )
        blocked = self._timing_rules(person, channel, at, history)
        if blocked is not None:
            return self._nothing(person, ctx, channel, at, dry_run, base, *blocked)
        encoder = self._encoders.get()  # Unavailable while the model loads
        if snap.vectors is None or snap.encoder_id != encoder.id:
            self._library.wake()  # embedding a library takes a while: not on this request
            raise Unavailable(f"the content library is being embedded with {encoder.id}; retry")
        person_vector, vector_source = self._person_vector(person, encoder)
        role_vector = self._role_vector(role, encoder) if role is not None else None
        # Scoring the whole library is one mat-vec; copying the eligible rows out costs more.
        rel = relevance(person_vector, snap.vectors, role_vector)[eligible]
        rates = item_rates(
            snap.sends[eligible],
            snap.rewards[eligible],
            config.prior_response,
            config.prior_strength,
        )
        person_p, model, note = self._response_of(person.id)
        choice = self._policy.choose(rel, rates, person_p)
        chosen = snap.items[int(eligible[choice.index])]
        subject, body = self._preview(chosen, person, role)
        order = np.argsort(-choice.propensities, kind="stable")[:ALTERNATIVES]
        alternatives = [
            Option(
                snap.items[int(eligible[j])],
                float(choice.propensities[j]),
                float(choice.scores[j]),
                float(choice.relevance[j]),
            )
            for j in order
        ]
        reason = (
            f"{chosen.title!r}: relevance {choice.relevance[choice.index]:.2f} x predicted "
            f"response {choice.response[choice.index]:.1%}, drawn with p={choice.propensity:.2f} "
            f"among {len(eligible)} eligible"
        )
        if note:
            reason += f" ({note})"
        decision_id = ""
        if not dry_run:
            decision = self._log(
                decisions.NewDecision(
                    candidate_pk=person.pk,
                    candidate_id=person.id,
                    content_pk=chosen.pk,
                    content_id=chosen.id,
                    channel=channel,
                    context=self._context(ctx, at, person, person_p, vector_source),
                    eligible=decisions.pack_eligible(
                        snap.pks[eligible].astype("<i8").tobytes(),
                        choice.propensities.astype("<f8").tobytes(),
                        choice.scores.astype("<f4").tobytes(),
                        choice.relevance.astype("<f4").tobytes(),
                    ),
                    propensity=choice.propensity,
                    score=float(choice.scores[choice.index]),
                    relevance=float(choice.relevance[choice.index]),
                    predicted_response=float(choice.response[choice.index]),
                    no_send=NoSend.NONE,
                    reason=reason,
                    engagement_model=model,
                    **base,
                ),
            )
            decision_id = decision.id
        return NextBest(
            decision_id=decision_id,
            item=chosen,
            reason=reason,
            no_send=NoSend.NONE,
            score=float(choice.scores[choice.index]),
            propensity=choice.propensity,
            relevance=float(choice.relevance[choice.index]),
            response=float(choice.response[choice.index]),
            subject=subject,
            body=body,
            eligible_count=len(eligible),
            engagement_model=model,
            encoder=encoder.id,
            alternatives=alternatives,
            **base,
        )

    def _person_rules(self, person: Candidate, channel: str) -> tuple | None:
        """(NoSend, reason, not_before) for rules about the person alone, or None."""
        if person.merged_into:
            return NoSend.MERGED, f"merged into {person.merged_into}: ask for that person", None
        # the one consent rule every sender applies (an opt-out from any channel is recorded
        # as opted_out, so the state alone stops all outreach at once)
        allowed, why = may_contact(
            person.consent_state, require_consent=self._settings.content_require_consent
        )
        if not allowed:
            if person.consent_state == ConsentState.OPTED_OUT:
                return NoSend.OPTED_OUT, "send nothing: opted out", None
            return NoSend.NO_CONSENT, f"send nothing: {why}", None
        if not reachable(person, channel):
            return NoSend.NO_ADDRESS, f"send nothing: no address for {channel}", None
        return None

    def _eligible(self, s, snap, person, ctx, channel, at, history) -> tuple[np.ndarray, dict]:
        """The mask of eligible library items, and how many each rule excluded."""
        excluded: dict[str, int] = {}
        t = at.timestamp()

        def apply(mask: np.ndarray, keep: np.ndarray, what: str) -> np.ndarray:
            excluded[what] = int(np.count_nonzero(mask & ~keep))
            return mask & keep

        mask = np.ones(len(snap), dtype=bool)
        mask = apply(mask, (snap.active_from <= t) & (t < snap.active_until), "not active")
        mask = apply(mask, (snap.channels & CHANNEL_BITS[channel]) != 0, f"not for {channel}")
        if ctx.kinds:
            codes = [KIND_CODES[k] for k in ctx.kinds]
            mask = apply(mask, np.isin(snap.kinds, codes), "of other kinds")
        spoken = {lang.lower().split("-")[0] for lang in person.languages} or {
            self._settings.content_default_locale.lower().split("-")[0]
        }
        readable = [i for i, name in enumerate(snap.locale_names) if not name or name in spoken]
        mask = apply(mask, np.isin(snap.locale_codes, readable), "in other languages")
        wanted = privacy_store.topics_for(s, person.pk, channel)  # the person's preference
        if wanted:
            on_topic = np.fromiter(
                (bool(wanted & {t.lower() for t in item.topics}) for item in snap.items),
                dtype=bool,
                count=len(snap),
            )
            mask = apply(mask, on_topic, "outside the topics they chose")
        if history.sent_content_pks:
            sent = np.isin(snap.pks, np.fromiter(history.sent_content_pks, dtype=np.int64))
            mask = apply(mask, ~sent, "already sent")
        codes = np.unique(snap.audience_codes[mask])
        keys = [snap.audience_keys[c] for c in codes if c]
        if keys:
            matched = content_store.audience_matches(
                s, person, {k: snap.rules[k] for k in keys}, at
            )
            fitting = [0, *(c for c in codes if c and snap.audience_keys[c] in matched)]
            mask = apply(mask, np.isin(snap.audience_codes, fitting), "outside their audience")
        return mask, excluded

    def _timing_rules(self, person, channel, at, history) -> tuple | None:
        settings = self._settings
        every = [t for times in history.by_channel.values() for t in times]
        until = cap_until(
            every, at, settings.content_budget, timedelta(days=settings.content_budget_window_days)
        )
        if until is not None:
            return (
                NoSend.CONTACT_BUDGET,
                f"send nothing: contact budget of {settings.content_budget} in "
                f"{settings.content_budget_window_days:g} days used",
                until,
            )
        until = cap_until(
            history.by_channel.get(channel, []),
            at,
            settings.content_cap_per_channel,
            timedelta(days=settings.content_cap_window_days),
        )
        if until is not None:
            return (
                NoSend.FREQUENCY_CAP,
                f"send nothing: {settings.content_cap_per_channel} {channel} sends in "
                f"{settings.content_cap_window_days:g} days already",
                until,
            )
        zone = zone_of(person, settings.content_default_timezone)
        until = quiet_until(at, zone, self._quiet)
        if until is not None:
            local = at.astimezone(zone).strftime("%H:%M")
            return (
                NoSend.QUIET_HOURS,
                f"send nothing now: {local} is within quiet hours "
                f"({settings.content_quiet_hours} {zone.key})",
                until,
            )
        return None

    def _preview(self, item: ContentItem, person: Candidate, role: Role | None) -> tuple[str, str]:
        extra = {"content_title": item.title, "content_url": item.url}
        if role is not None:
            extra["role_title"] = role.title
        try:
            subject = render(item.subject or item.title, person, extra, item.fallbacks)
            body = render(item.body, person, extra, item.fallbacks)
        except ValidationFailed as err:
            raise PreconditionFailed(f"content {item.id} cannot be rendered: {err}") from None
        return " ".join(subject.split()), body

    def _context(self, ctx: NextContext, at: datetime, person, person_p, source="") -> dict:
        out = {
            "send_at": at.isoformat(),
            "sequence_step": ctx.sequence_step,
            "response_p": _short(person_p),
        }
        if ctx.role_id:
            out["role_id"] = ctx.role_id
        if ctx.sequence_id:
            out["sequence_id"] = ctx.sequence_id
        if ctx.kinds:
            out["kinds"] = [k.value for k in ctx.kinds]
        if person.timezone:
            out["timezone"] = person.timezone
        if source:
            out["person_vector"] = source
        return out

    def _log(self, new: decisions.NewDecision) -> Decision:
        with self._db.transaction() as s:
            return decisions.log(s, new)

    def _nothing(
        self,
        person: Candidate,
        ctx: NextContext,
        channel: str,
        at: datetime,
        dry_run: bool,
        base: dict,
        no_send: NoSend,
        reason: str,
        not_before: datetime | None,
    ) -> NextBest:
        decision_id = ""
        if not dry_run:
            decision = self._log(
                decisions.NewDecision(
                    candidate_pk=person.pk,
                    candidate_id=person.id,
                    content_pk=None,
                    content_id="",
                    channel=channel,
                    context=self._context(ctx, at, person, 0.0)
                    | ({"not_before": not_before.isoformat()} if not_before else {}),
                    eligible={},
                    propensity=1.0,
                    score=0.0,
                    relevance=0.0,
                    predicted_response=0.0,
                    no_send=no_send,
                    reason=reason,
                    **base,
                ),
            )
            decision_id = decision.id
        return NextBest(
            decision_id=decision_id,
            item=None,
            reason=reason,
            no_send=no_send,
            not_before=not_before,
            **base,
        )

    # ------------------------------------------------------------------ outcomes
    def record_outcome(
        self,
        kind: OutcomeKind | None,
        *,
        decision_id: str = "",
        candidate_id: str = "",
        content_id: str = "",
        occurred_at: datetime | None = None,
        machine_hint: bool = False,
        user_agent: str = "",
        outcome_key: str = "",
    ) -> Outcome:
        if kind is None:
            raise ValidationFailed(
                Violation("kind", "one of " + ", ".join(k.value for k in OutcomeKind))
            )
        with self._db.transaction() as s:
            return decisions.record_outcome(
                s,
                kind,
                decision_id=decision_id,
                candidate_id=candidate_id,
                content_id=content_id,
                occurred_at=occurred_at,
                machine_hint=machine_hint,
                user_agent=user_agent,
                outcome_key=outcome_key,
                machine_window=timedelta(seconds=self._settings.content_machine_open_s),
            )

    def close(self) -> None:
        self._library.close()


__all__ = ["ContentUseCases", "NextBest", "NextContext", "Option", "policy_config"]
