"""PrivacyService protobuf <-> domain."""

from __future__ import annotations

import json

from rapport.core.privacy import ChannelPreference, ErasureReport, RetentionReport
from rapport.core.store.audit import AuditEntry, VerifyResult
from rapport.services.common.timestamps import to_pb
from rapport.services.privacy.use_cases import ConsentView
from rapport.v1 import privacy_pb2 as pb


def audit_entry_to_pb(entry: AuditEntry) -> pb.AuditEntry:
    return pb.AuditEntry(
        seq=entry.seq,
        at=to_pb(entry.at),
        actor=entry.actor,
        key_id=entry.key_id or "",
        request_id=entry.request_id or "",
        action=entry.action,
        target_type=entry.target_type or "",
        target_id=entry.target_id or "",
        details_json=json.dumps(entry.details or {}, sort_keys=True, ensure_ascii=False),
        row_hash=entry.row_hash or "",
    )


def verify_to_pb(result: VerifyResult) -> pb.VerifyAuditResponse:
    return pb.VerifyAuditResponse(
        ok=result.ok,
        rows_checked=result.rows_checked,
        first_bad_seq=result.first_bad_seq or 0,
        reason=result.reason,
        head_seq=result.head_seq,
        head_hash=result.head_hash,
    )


def erasure_to_pb(report: ErasureReport) -> pb.EraseCandidateResponse:
    return pb.EraseCandidateResponse(
        candidate_id=report.candidate_id,
        erased_ids=list(report.erased_ids),
        identities_tombstoned=report.identities,
        rows_deleted=dict(report.rows),
        erased_at=to_pb(report.erased_at),
    )


def preferences_from_pb(items) -> list[ChannelPreference]:
    return [ChannelPreference(p.channel, p.allowed, tuple(p.topics), p.source) for p in items]


def consent_to_pb(view: ConsentView) -> pb.Consent:
    r = view.record
    return pb.Consent(
        candidate_id=r.candidate_id,
        state=r.state.value,
        history=[
            pb.ConsentEvent(
                state=e.state.value,
                basis=e.basis,
                source=e.source,
                channel=e.channel,
                actor=e.actor,
                recorded_at=to_pb(e.recorded_at),
            )
            for e in r.history
        ],
        preferences=[
            pb.ChannelPreference(
                channel=p.channel,
                allowed=p.allowed,
                topics=list(p.topics),
                source=p.source,
                updated_at=to_pb(p.updated_at),
            )
            for p in r.preferences
        ],
        may_contact=view.may_contact,
        reason=view.reason,
    )


def retention_to_pb(report: RetentionReport) -> pb.RunRetentionResponse:
    return pb.RunRetentionResponse(
        run_id=report.run_id,
        dry_run=report.dry_run,
        idle_months=report.policy.idle_months,
        keep_stages=list(report.policy.keep_stages),
        cutoff=to_pb(report.cutoff),
        candidates=[
            pb.RetentionCandidate(candidate_id=c.candidate_id, last_activity=to_pb(c.last_activity))
            for c in report.candidates
        ],
        anonymised=report.anonymised,
    )
