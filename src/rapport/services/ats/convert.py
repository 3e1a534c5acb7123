"""AtsService protobuf <-> domain."""

from __future__ import annotations

from rapport.core.ats import Submission
from rapport.services.ats.use_cases import SyncReport
from rapport.services.common.timestamps import to_pb
from rapport.v1 import ats_pb2 as pb


def submission_to_pb(s: Submission) -> pb.Submission:
    return pb.Submission(
        id=s.id,
        candidate_id=s.candidate_id,
        ats=s.ats,
        ats_job_id=s.ats_job_id,
        status=s.status,
        attempts=s.attempts,
        ats_candidate_id=s.ats_candidate_id,
        ats_application_id=s.ats_application_id,
        last_error=s.last_error,
        created_at=to_pb(s.created_at),
        updated_at=to_pb(s.updated_at),
        next_attempt_at=to_pb(s.next_attempt_at),
    )


def sync_to_pb(report: SyncReport) -> pb.SyncNowResponse:
    return pb.SyncNowResponse(
        applications=report.applications,
        events_applied=report.applied,
        events_refused=report.refused,
        events_duplicate=report.duplicate,
        cursor=to_pb(report.cursor),
    )
