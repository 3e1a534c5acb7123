"""PrivacyService use cases: erasure, subject-access export, consent and channel
preferences, retention (scheduled and on request). No grpc here."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rapport.core.config import Settings
from rapport.core.domain import ConsentState
from rapport.core.errors import RapportError, ValidationFailed, Violation
from rapport.core.privacy import (
    ChannelPreference,
    ConsentRecord,
    ErasureReport,
    RetentionPolicy,
    RetentionReport,
    may_contact,
)
from rapport.core.store import audit, privacy
from rapport.core.store.db import Database
from rapport.services.engagement.source import EngagementSource

log = logging.getLogger(__name__)

MAX_REFERENCE_CHARS = 300
DEFAULT_AUDIT_ROWS = 100
MAX_AUDIT_ROWS = 10_000
MAX_AUDIT_FILTER_CHARS = 200


@dataclass(frozen=True)
class Exported:
    candidate_id: str
    document: str  # JSON


@dataclass(frozen=True)
class ConsentView:
    record: ConsentRecord
    may_contact: bool
    reason: str


def retention_policy(settings: Settings, idle_months: int = 0) -> RetentionPolicy:
    stages = tuple(s.strip() for s in settings.retention_keep_stages.split(",") if s.strip())
    return RetentionPolicy(idle_months or settings.retention_idle_months, stages)


class PrivacyUseCases:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        engagement: EngagementSource | None = None,
        on_erased: Sequence[Callable[[Sequence[str]], None]] = (),
    ) -> None:
        self._db = db
        self._settings = settings
        self._engagement = engagement
        # in-process caches to clear at once (their feed followers would within a second)
        self._on_erased = list(on_erased)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ erasure
    def erase(self, candidate_id: str, reason: str = "") -> ErasureReport:
        if not candidate_id:
            raise ValidationFailed(Violation("candidate_id", "required"))
        if len(reason) > MAX_REFERENCE_CHARS:
            raise ValidationFailed(Violation("reason", f"at most {MAX_REFERENCE_CHARS} characters"))
        with self._db.transaction() as s:
            report = privacy.erase(
                s,
                candidate_id,
                reference=reason,
                configured_salt=self._settings.privacy_salt.get_secret_value(),
            )
        for forget in self._on_erased:
            try:
                forget(report.erased_ids)
            except Exception:  # a cache that cannot forget now will when it follows the feed
                log.exception("could not clear an in-process cache after an erasure")
        log.info("erased candidate %s (%d records)", candidate_id, len(report.erased_ids))
        return report

    # ------------------------------------------------------------------ export
    def export(self, candidate_id: str) -> Exported:
        if not candidate_id:
            raise ValidationFailed(Violation("candidate_id", "required"))
        scores = self._scores(candidate_id)
        with self._db.transaction() as s:  # the audit row commits with the read
            document = privacy.export(s, candidate_id, scores=scores)
            privacy.record_export(s, candidate_id, [k for k, v in document.items() if v])
        return Exported(candidate_id, privacy.export_json(document))

    def _scores(self, candidate_id: str) -> dict:
        if self._engagement is None:
            return {}
        try:
            lookup = self._engagement.scores_for([candidate_id])
        except RapportError as exc:
            return {"score": None, "note": f"engagement scores unavailable: {exc}"}
        hit = lookup.scores.get(candidate_id)
        if hit is None:
            return {"score": None, "model": lookup.model}
        return {
            "score": {"probability": float(hit[0]), "band": hit[1]},
            "model": lookup.model_name,
            "model_version": lookup.model_version,
        }

    # ------------------------------------------------------------------ consent
    def get_consent(self, candidate_id: str) -> ConsentView:
        if not candidate_id:
            raise ValidationFailed(Violation("candidate_id", "required"))
        with self._db.read() as s:
            record = privacy.consent_record(s, candidate_id)
        return self._view(record)

    def set_consent(
        self,
        candidate_id: str,
        state: str,
        basis: str,
        source: str,
        preferences: Sequence[ChannelPreference],
    ) -> ConsentView:
        problems = []
        if not candidate_id:
            problems.append(Violation("candidate_id", "required"))
        parsed = None
        if state:
            try:
                parsed = ConsentState(state.strip().lower())
            except ValueError:
                problems.append(
                    Violation("state", f"one of {', '.join(s.value for s in ConsentState)}")
                )
        if not state and not preferences:
            problems.append(Violation("state", "give a state, preferences or both"))
        if len(source) > 100:
            problems.append(Violation("source", "at most 100 characters"))
        if problems:
            raise ValidationFailed(problems)
        with self._db.transaction() as s:
            record = privacy.set_consent(
                s,
                candidate_id,
                parsed,
                basis=basis.strip().lower(),
                source=source.strip(),
                preferences=preferences,
            )
        return self._view(record)

    def _view(self, record: ConsentRecord) -> ConsentView:
        ok, reason = may_contact(
            record.state,
            record.preferences,
            require_consent=self._settings.content_require_consent,
        )
        return ConsentView(record, ok, reason)

    # ------------------------------------------------------------------ retention
    def run_retention(self, dry_run: bool, idle_months: int = 0) -> RetentionReport:
        if idle_months < 0:
            raise ValidationFailed(Violation("idle_months", "must not be negative"))
        policy = retention_policy(self._settings, idle_months)
        if dry_run:
            with self._db.read() as s:
                return privacy.run_retention(s, policy, dry_run=True)
        with self._db.transaction() as s:
            report = privacy.run_retention(s, policy, dry_run=False)
        if report.anonymised:
            log.info("retention anonymised %d idle records", report.anonymised)
        return report

    # ------------------------------------------------------------------ audit
    def query_audit(
        self,
        *,
        candidate_id: str = "",
        actor: str = "",
        action: str = "",
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 0,
    ) -> list[audit.AuditEntry]:
        problems = [
            Violation(name, f"at most {MAX_AUDIT_FILTER_CHARS} characters")
            for name, value in (
                ("candidate_id", candidate_id),
                ("actor", actor),
                ("action", action),
            )
            if len(value) > MAX_AUDIT_FILTER_CHARS
        ]
        if not 0 <= limit <= MAX_AUDIT_ROWS:
            problems.append(Violation("limit", f"between 0 and {MAX_AUDIT_ROWS}"))
        if since is not None and until is not None and since >= until:
            problems.append(Violation("until", "must be after since"))
        if problems:
            raise ValidationFailed(problems)
        with self._db.transaction() as session:
            entries = audit.query(
                session,
                candidate_id=candidate_id or None,
                actor=actor or None,
                action=action or None,
                since=since,
                until=until,
                limit=limit or DEFAULT_AUDIT_ROWS,
            )
            # who looked at the log is itself on the log (filters only: ids, not data)
            audit.record(
                session,
                "audit.queried",
                target_type="audit",
                details={"rows": len(entries), "candidate_id": candidate_id, "action": action},
            )
        return entries

    def verify_audit(self) -> audit.VerifyResult:
        with self._db.read() as session:
            return audit.verify(session)

    def start(self) -> None:
        """The scheduled retention run (settings.retention_interval_s; 0: off)."""
        interval = self._settings.retention_interval_s
        if interval <= 0 or self._settings.retention_idle_months <= 0 or self._thread:
            return
        self._thread = threading.Thread(
            target=self._loop, args=(interval,), name="privacy-retention", daemon=True
        )
        self._thread.start()

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                # a look first: the write transaction (and its run row) only when there is
                # something to anonymise, so an idle schedule does not contend with writers
                if self.run_retention(dry_run=True).candidates:
                    self.run_retention(dry_run=False)
            except Exception:
                log.exception("scheduled retention run failed; next try in %.0fs", interval)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None


__all__ = ["ConsentView", "Exported", "PrivacyUseCases", "retention_policy"]
