"""CandidateService use cases: validation, orchestration and transactions. No grpc here:
the servicer translates protobuf to the plain values these methods take and back.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from rapport.core import context, importing, validation
from rapport.core.authorization import (
    check_candidate_scope,
    contacts_hidden,
    mask_contacts,
    pool_scope,
    pool_visible,
    scoped_rule,
    team_scope,
)
from rapport.core.config import Settings
from rapport.core.domain import (
    WRITABLE_FIELDS,
    Candidate,
    CandidateDraft,
    ChangeEvent,
    Condition,
    DuplicatePair,
    Page,
    Pool,
    Rule,
    Segment,
    TimelineEvent,
)
from rapport.core.errors import (
    NotFound,
    PermissionDenied,
    RapportError,
    StaleVersion,
    ValidationFailed,
    Violation,
)
from rapport.core.store import (
    audit,
    candidates,
    duplicates,
    feed,
    imports,
    merges,
    pools,
    segments,
    timeline,
)
from rapport.core.store.db import Database
from rapport.core.taxonomy import Taxonomy
from rapport.services.candidates.validation_pool import ValidationPool

log = logging.getLogger(__name__)

LOCATION_FIELDS = ("city", "country", "timezone")
BULK_WRITES = 5000  # an import writing this many records refreshes planner statistics


def draft_to_record(draft: CandidateDraft) -> dict:
    """The inverse of validation.build_draft: a loose record that validates to `draft`."""
    record = {name: getattr(draft, name) for name in WRITABLE_FIELDS}
    record["seniority"] = str(draft.seniority)
    record["skills"] = [asdict(s) | {"name": s.label} for s in draft.skills]
    for s in record["skills"]:
        s.pop("label"), s.pop("skill_id")
    return record


@dataclass
class ImportOptions:
    format: str
    column_mapping: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    default_region: str = ""
    all_results: bool = False
    skip_records: int = 0
    file_name: str = ""


@dataclass
class RecordResult:
    index: int
    line: int
    outcome: str
    candidate_id: str = ""
    errors: list[Violation] = field(default_factory=list)


@dataclass
class ImportReport:
    results: list[RecordResult] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("records", "created", "updated", "unchanged", "failed", "skipped"), 0
        )
    )
    committed_through: int = 0
    seconds: float = 0.0


class CandidateUseCases:
    def __init__(self, db: Database, settings: Settings, taxonomy: Taxonomy | None = None) -> None:
        self.db = db
        self.settings = settings
        self.taxonomy = taxonomy or Taxonomy.bundled()
        self.limits = validation.Limits(
            max_short_chars=settings.max_short_field_chars,
            max_text_chars=settings.max_text_field_chars,
        )
        self._validation = ValidationPool(
            self.limits, self.taxonomy.resolve, settings.import_workers
        )

    def close(self) -> None:
        self._validation.close()

    # ------------------------------------------------------------ profiles

    def build_draft(
        self, record: Mapping, *, default_region: str = "", default_source: str = ""
    ) -> CandidateDraft:
        return validation.build_draft(
            record,
            default_region=default_region,
            default_source=default_source,
            skill_resolver=self.taxonomy.resolve,
            limits=self.limits,
        )

    def create(self, record: Mapping) -> Candidate:
        draft = self.build_draft(record)
        with self.db.transaction() as s:
            return mask_contacts(candidates.create(s, draft))

    def get(self, candidate_id: str) -> Candidate:
        return self._audited_read(candidate_id, "candidate.read", lambda s, c: mask_contacts(c))

    def _audited_read(self, candidate_id: str, action: str, read):
        """`read(session, candidate)` for one person, audited as `action`; hiring managers
        get NOT_FOUND outside their pools, and that refusal is audited too.

        A write transaction, not a read one: on SQLite a read transaction that then writes
        its audit row fails as "locked" when another writer committed since it began."""
        refused: RapportError | None = None
        with self.db.transaction() as s:
            c = candidates.get(s, candidate_id)
            try:
                check_candidate_scope(s, c)
            except RapportError as exc:
                refused = exc  # raised after the commit, which keeps the refusal's audit row
            else:
                out = read(s, c)
                audit.record(s, action, [c.id])
        if refused is not None:
            raise refused
        return out

    def update(
        self, candidate_id: str, record: Mapping, mask: Sequence[str], expected_version: int
    ) -> Candidate:
        paths = _mask_fields(mask) if mask else set(WRITABLE_FIELDS)
        with self.db.transaction() as s:
            current = candidates.get(s, candidate_id)
            if expected_version and current.version != expected_version:
                raise StaleVersion("candidate", candidate_id, expected_version, current.version)
            merged = draft_to_record(current.draft())
            for name in paths:
                merged[name] = record.get(name, [] if isinstance(merged[name], list) else "")
            draft = self.build_draft(merged)
            return mask_contacts(
                candidates.update(s, candidate_id, draft, expected_version or current.version)
            )

    def list(self, rule: Rule, size: int, token: str) -> Page:
        with self.db.read() as s:
            page = candidates.list_page(s, scoped_rule(self._canonical_rule(rule)), size, token)
        self.db.read_audit.note("candidate.list_read", [c.id for c in page.items])
        return _masked(page)

    # ------------------------------------------------------------ import

    def import_stream(
        self,
        options: ImportOptions,
        chunks: Iterable[bytes],
        cancelled: Callable[[], bool] = lambda: False,
    ) -> ImportReport:
        """Parse, validate and upsert in batches; each batch is one transaction, so a broken
        stream keeps every batch before it and `committed_through` says where to resume.

        A record applied by an earlier import (same fields, same options) is recognised by
        its fingerprint and skipped before validation: re-importing a file writes nothing.
        From the second batch on, a worker process validates the next batch while this
        thread writes the current one.
        """
        started, started_at = time.perf_counter(), datetime.now(UTC)
        report = ImportReport()
        options_key = json.dumps(
            [
                options.format,
                sorted(options.column_mapping.items()),
                options.source,
                options.default_region,
            ]
        )
        batch: list[tuple[importing.RawRecord, str]] = []
        size = max(1, self.settings.import_batch_size)
        in_flight: _Batch | None = None
        statistics = _Statistics(self.db)
        recent: deque[set[str]] = deque(maxlen=2)  # fingerprints the last batches remembered
        for raw in importing.parse(options.format, chunks, options.column_mapping or None):
            report.counts["records"] += 1
            if raw.index < options.skip_records:
                report.counts["skipped"] += 1
                report.committed_through = raw.index + 1
                continue
            fp = imports.fingerprint(options_key, raw.fields) if raw.fields is not None else ""
            batch.append((raw, fp))
            if len(batch) >= size:
                # the first batch is validated here while the worker process starts up
                in_flight = self._advance(
                    in_flight, batch, options, report, recent, in_worker=in_flight is not None
                )
                batch = []
                statistics.created(report.counts["created"])
                if cancelled():
                    break
        if batch:
            in_flight = self._advance(in_flight, batch, options, report, recent, in_worker=False)
        self._finish(in_flight, options, report, recent)
        if report.counts["created"] + report.counts["updated"] >= BULK_WRITES:
            self.db.refresh_statistics()
        report.seconds = time.perf_counter() - started
        with self.db.transaction() as s:
            imports.log_run(
                s,
                file_name=options.file_name,
                fmt=options.format,
                started_at=started_at,
                finished_at=datetime.now(UTC),
                summary=report.counts | {"committed_through": report.committed_through},
            )
        return report

    def _advance(
        self,
        in_flight: _Batch | None,
        batch,
        options: ImportOptions,
        report: ImportReport,
        recent: deque[set[str]],
        *,
        in_worker: bool,
    ) -> _Batch:
        """Send `batch` to validation, then write the batch before it meanwhile."""
        started = self._start(batch, options, in_worker=in_worker)
        self._finish(in_flight, options, report, recent)
        return started

    def _start(
        self,
        batch: list[tuple[importing.RawRecord, str]],
        options: ImportOptions,
        *,
        in_worker: bool,
    ) -> _Batch:
        """Settle what needs no validation (bad rows, records applied before) and hand the
        rest to validation, in the worker process or here."""
        with self.db.read() as s:
            seen, present = imports.known(s, [fp for _, fp in batch if fp])
        started = _Batch(
            order=[raw.index for raw, _ in batch], end=batch[-1][0].index + 1, present=present
        )
        for raw, fp in batch:
            if raw.error is not None:
                started.done[raw.index] = RecordResult(
                    raw.index, raw.line, "failed", "", [raw.error]
                )
            elif fp in seen:
                started.done[raw.index] = RecordResult(raw.index, raw.line, "unchanged", seen[fp])
            else:
                started.to_validate.append((raw, fp))
        started.validated = self._validation.submit(
            [raw.fields for raw, _ in started.to_validate],
            options.default_region,
            options.source,
            in_worker=in_worker,
        )
        return started

    def _finish(
        self,
        started: _Batch | None,
        options: ImportOptions,
        report: ImportReport,
        recent: deque[set[str]],
    ) -> None:
        """Write a validated batch in one transaction and count its outcomes. `recent`:
        the fingerprints that the last batches remembered, which the lookup of this one
        (made while the batch before it was being written) could not see yet."""
        if started is None:
            return
        pending = []
        for (raw, fp), outcome in zip(started.to_validate, started.validated.result(), strict=True):
            if isinstance(outcome, list):
                started.done[raw.index] = RecordResult(raw.index, raw.line, "failed", "", outcome)
            else:
                pending.append((raw, fp, *outcome))
        present = started.present | {
            fp for _, fp, *_ in pending if any(fp in batch for batch in recent)
        }
        remembered = set()
        for (raw, fp, *_), res in zip(pending, self._write(pending, present), strict=True):
            started.done[raw.index] = RecordResult(
                raw.index, raw.line, res.outcome, res.candidate_id, res.errors
            )
            if res.outcome != candidates.Outcome.FAILED:
                remembered.add(fp)
        recent.append(remembered)
        for index in started.order:
            r = started.done[index]
            report.counts[r.outcome] += 1
            if options.all_results or r.outcome == candidates.Outcome.FAILED:
                report.results.append(r)
        report.committed_through = max(report.committed_through, started.end)

    def _write(self, pending, present: set[str]) -> list[candidates.UpsertResult]:
        """Upsert the drafts and remember their fingerprints, in one transaction.
        `pending`: (raw record, fingerprint, draft, content hash) of each valid record."""

        def apply(session, items, present) -> list[candidates.UpsertResult]:
            outcomes = candidates.upsert_batch(
                session, [d for _, _, d, _ in items], content_hashes=[h for *_, h in items]
            )
            imports.remember(
                session,
                [
                    (fp, res.candidate_pk)
                    for (_, fp, _, _), res in zip(items, outcomes, strict=True)
                    if res.outcome != candidates.Outcome.FAILED
                ],
                present,
            )
            return outcomes

        if not pending:
            return []
        try:
            with self.db.transaction() as s:
                return apply(s, pending, present)
        except (IntegrityError, StaleVersion):
            # a concurrent writer took an identity or a version: redo one record at a time
            log.warning("import batch collided with a concurrent write; retrying one by one")
        outcomes = []
        for item in pending:
            try:
                with self.db.transaction() as s:
                    outcomes.extend(apply(s, [item], None))  # look again: others wrote
            except (IntegrityError, StaleVersion, RapportError) as exc:
                outcomes.append(
                    candidates.UpsertResult(
                        candidates.Outcome.FAILED,
                        errors=[
                            Violation(
                                "record", f"conflicting concurrent write: {type(exc).__name__}"
                            )
                        ],
                    )
                )
        return outcomes

    # ------------------------------------------------------------ duplicates and merges

    def find_duplicates(
        self, candidate_id: str, min_score: float, limit: int
    ) -> list[DuplicatePair]:
        if contacts_hidden() or pool_scope() is not None:  # evidence quotes contact details
            raise PermissionDenied("this role may not compare contact details")
        with self.db.read() as s:
            pairs = duplicates.find(s, candidate_id, min_score, limit)
        seen = dict.fromkeys(i for p in pairs for i in (p.left_id, p.right_id))
        self.db.read_audit.note("candidate.duplicates_read", seen)
        return pairs

    def merge(self, survivor_id: str, merged_id: str, reason: str) -> tuple[str, Candidate]:
        with self.db.transaction() as s:
            merge_id, survivor = merges.merge(s, survivor_id, merged_id, reason)
            return merge_id, mask_contacts(survivor)

    def unmerge(self, merge_id: str) -> tuple[Candidate, Candidate]:
        with self.db.transaction() as s:
            left, right = merges.unmerge(s, merge_id)
            return mask_contacts(left), mask_contacts(right)

    # ------------------------------------------------------------ timeline

    def add_event(
        self,
        candidate_id: str,
        kind: str,
        occurred_at: datetime | None,
        channel: str,
        actor: str,
        stage: str,
        payload: dict,
    ) -> TimelineEvent:
        with self.db.transaction() as s:
            return timeline.add(
                s,
                candidate_id,
                kind,
                occurred_at=occurred_at,
                channel=channel,
                actor=actor or context.current().actor,
                stage=stage,
                payload=payload,
            )

    def list_timeline(self, candidate_id: str, size: int, token: str, kinds: Sequence[str]) -> Page:
        return self._audited_read(
            candidate_id,
            "candidate.timeline_read",
            lambda s, c: timeline.list_page(s, candidate_id, size, token, kinds),
        )

    # ------------------------------------------------------------ pools and segments

    def create_pool(self, name: str, description: str, stages: Sequence[str]) -> Pool:
        with self.db.transaction() as s:  # the pool belongs to the caller's team, if any
            return pools.create(s, name, description, stages, team=context.current().team)

    def list_pools(self) -> list[Pool]:
        with self.db.read() as s:
            return [p for p in pools.list_all(s) if pool_visible(p)]

    def add_to_pool(
        self, pool_id: str, candidate_ids: Sequence[str], stage: str
    ) -> tuple[int, int, int]:
        with self.db.transaction() as s:
            _visible_pool(s, pool_id)
            return pools.add_members(s, pool_id, candidate_ids, stage)

    def list_pool(self, pool_id: str, size: int, token: str, stage: str) -> Page:
        with self.db.read() as s:
            _visible_pool(s, pool_id)
            page = pools.list_members(s, pool_id, size, token, stage)
        self.db.read_audit.note(
            "pool.members_read", [m.candidate.id for m in page.items], details={"pool": pool_id}
        )
        if not contacts_hidden():
            return page
        members = [replace(m, candidate=mask_contacts(m.candidate)) for m in page.items]
        return replace(page, items=members)

    def create_segment(self, name: str, description: str, rule: Rule) -> Segment:
        with self.db.transaction() as s:
            return segments.create(s, name, description, self._canonical_rule(rule))

    def list_segments(self) -> list[Segment]:
        with self.db.read() as s:
            return segments.list_all(s)

    def preview_segment(self, segment_id: str, rule: Rule, size: int, token: str) -> Page:
        if segment_id and rule.conditions:
            raise ValidationFailed(Violation("rule", "give either segment_id or rule, not both"))
        with self.db.read() as s:
            if segment_id:
                rule = segments.get(s, segment_id).rule
            page = segments.preview(s, scoped_rule(self._canonical_rule(rule)), size, token)
        details = {"segment": segment_id} if segment_id else None
        self.db.read_audit.note("segment.preview_read", [c.id for c in page.items], details=details)
        return _masked(page)

    def _canonical_rule(self, rule: Rule) -> Rule:
        """Skill conditions name canonical ids, whatever alias the caller typed."""
        return Rule(
            tuple(
                # blank values stay as they are, for validate_rule to refuse with the field
                Condition(
                    c.field,
                    c.op,
                    tuple(self.taxonomy.resolve(v)[0] if v.strip() else v for v in c.values),
                )
                if c.field == "skill"
                else c
                for c in rule.conditions
            )
        )

    # ------------------------------------------------------------ change feed

    def changes_since(self, seq: int, limit: int = 500) -> list[ChangeEvent]:
        if seq < 0:
            raise ValidationFailed(Violation("since_seq", "must not be negative"))
        with self.db.read() as s:
            return feed.read_since(s, seq, limit)

    def watch(
        self, since_seq: int, active: Callable[[], bool], poll_s: float = 0.2
    ) -> Iterator[ChangeEvent]:
        seq = since_seq
        while active():
            events = self.changes_since(seq)
            yield from events
            if events:
                seq = events[-1].seq
            else:
                time.sleep(poll_s)


class _Statistics:
    """Keeps PostgreSQL's statistics in step with a bulk import. The import looks records
    up by identity and fingerprint once per batch; planned from statistics of a far
    smaller table (an empty store has none), those lookups hash whole tables instead of
    probing an index, and an import into an empty store slows down quadratically (90 ms
    instead of 10 ms a batch at 100k candidates). So: ANALYZE the looked-up tables when
    the import has doubled the candidates the store held at the last count, from
    BULK_WRITES on (5 times in an import of 100k candidates into an empty store)."""

    TABLES = ("identities", "import_fingerprints")

    def __init__(self, db: Database) -> None:
        self.db = db
        self.described = db.planned_rows("candidates")
        self.counted = 0  # created by this import when statistics were last taken

    def created(self, total: int) -> None:
        if self.described is None:  # SQLite probes its indexes whatever it knows
            return
        added = total - self.counted
        if added >= max(BULK_WRITES, self.described):
            self.db.analyze(self.TABLES)
            self.described += added
            self.counted = total


@dataclass
class _Batch:
    """One import batch on its way from the parser to the database."""

    order: list[int]
    end: int
    done: dict[int, RecordResult] = field(default_factory=dict)
    to_validate: list[tuple[importing.RawRecord, str]] = field(default_factory=list)
    validated: Future | None = None
    present: set[str] = field(default_factory=set)  # fingerprints the store already holds


def _visible_pool(session, pool_id: str) -> None:
    """NotFound, as for a missing pool, when the caller's pool or team scope excludes it."""
    if pool_scope() is None and team_scope() is None:
        return
    if not pool_visible(pools.get(session, pool_id)):
        raise NotFound("pool", pool_id)


def _masked(page: Page) -> Page:
    """The page with each candidate as the caller may see it (contacts masked by role)."""
    if not contacts_hidden():
        return page
    return replace(page, items=[mask_contacts(c) for c in page.items])


def _mask_fields(mask: Sequence[str]) -> set[str]:
    fields: set[str] = set()
    problems = []
    for i, path in enumerate(mask):
        if path == "location":
            fields.update(LOCATION_FIELDS)
        elif path.startswith("location.") and path[9:] in LOCATION_FIELDS:
            fields.add(path[9:])
        elif path in WRITABLE_FIELDS:
            fields.add(path)
        else:
            problems.append(
                Violation(f"update_mask.paths[{i}]", f"{path!r} is not a writable field")
            )
    if problems:
        raise ValidationFailed(problems)
    return fields
