"""CandidateService over gRPC: protobuf in, use case, protobuf out. No SQL, no rules here."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from rapport.core.errors import ValidationFailed, Violation
from rapport.services.candidates import convert
from rapport.services.candidates.use_cases import CandidateUseCases, ImportOptions
from rapport.services.common.timestamps import from_pb
from rapport.v1 import candidates_pb2 as pb
from rapport.v1 import candidates_pb2_grpc as pb_grpc
from rapport.v1 import common_pb2

FORMATS = {
    pb.IMPORT_FORMAT_CSV: "csv",
    pb.IMPORT_FORMAT_JSON_RESUME: "json_resume",
    pb.IMPORT_FORMAT_NDJSON: "ndjson",
}
OUTCOMES = {
    "created": pb.IMPORT_OUTCOME_CREATED,
    "updated": pb.IMPORT_OUTCOME_UPDATED,
    "unchanged": pb.IMPORT_OUTCOME_UNCHANGED,
    "failed": pb.IMPORT_OUTCOME_FAILED,
    "skipped": pb.IMPORT_OUTCOME_SKIPPED,
}
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CandidateService"].full_name


def _page(token: str, total: int = -1) -> common_pb2.PageInfo:
    return common_pb2.PageInfo(next_page_token=token, total_size=max(total, 0))


class CandidateServicer(pb_grpc.CandidateServiceServicer):
    def __init__(self, use_cases: CandidateUseCases) -> None:
        self._uc = use_cases

    def CreateCandidate(self, request, context):
        if request.candidate.id:
            raise ValidationFailed(Violation("candidate.id", "assigned by the server; leave empty"))
        return convert.candidate_to_pb(self._uc.create(convert.record_from_pb(request.candidate)))

    def GetCandidate(self, request, context):
        return convert.candidate_to_pb(self._uc.get(request.id))

    def UpdateCandidate(self, request, context):
        if not request.candidate.id:
            raise ValidationFailed(Violation("candidate.id", "required"))
        updated = self._uc.update(
            request.candidate.id,
            convert.record_from_pb(request.candidate),
            list(request.update_mask.paths),
            request.expected_version,
        )
        return convert.candidate_to_pb(updated)

    def ListCandidates(self, request, context):
        page = self._uc.list(
            convert.rule_from_pb(request.filter), request.page_size, request.page_token
        )
        return pb.ListCandidatesResponse(
            candidates=[convert.candidate_to_pb(c) for c in page.items], page=_page(page.next_token)
        )

    def ImportCandidates(self, request_iterator, context):
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("part") != "header":
            raise ValidationFailed(Violation("header", "the first message must be the header"))
        h = first.header
        if h.format not in FORMATS:
            raise ValidationFailed(Violation("header.format", "csv, json_resume or ndjson"))
        if h.skip_records < 0:
            raise ValidationFailed(Violation("header.skip_records", "must not be negative"))
        options = ImportOptions(
            format=FORMATS[h.format],
            column_mapping=dict(h.column_mapping),
            source=h.source,
            default_region=h.default_region,
            all_results=h.detail == pb.IMPORT_DETAIL_ALL,
            skip_records=h.skip_records,
            file_name=h.file_name,
        )
        report = self._uc.import_stream(
            options, _chunks(request_iterator), cancelled=lambda: not context.is_active()
        )
        c = report.counts
        return pb.ImportCandidatesResponse(
            results=[
                pb.ImportRecordResult(
                    index=r.index,
                    line=r.line,
                    outcome=OUTCOMES[r.outcome],
                    candidate_id=r.candidate_id,
                    errors=[pb.FieldError(field=v.field, reason=v.reason) for v in r.errors],
                )
                for r in report.results
            ],
            summary=pb.ImportSummary(
                records=c["records"],
                created=c["created"],
                updated=c["updated"],
                unchanged=c["unchanged"],
                failed=c["failed"],
                skipped=c["skipped"],
                committed_through=report.committed_through,
                seconds=report.seconds,
            ),
        )

    def FindDuplicates(self, request, context):
        pairs = self._uc.find_duplicates(request.candidate_id, request.min_score, request.limit)
        return pb.FindDuplicatesResponse(pairs=[convert.pair_to_pb(p) for p in pairs])

    def MergeCandidates(self, request, context):
        _require(survivor_id=request.survivor_id, merged_id=request.merged_id)
        merge_id, survivor = self._uc.merge(request.survivor_id, request.merged_id, request.reason)
        return pb.MergeCandidatesResponse(
            merge_id=merge_id, survivor=convert.candidate_to_pb(survivor)
        )

    def UnmergeCandidates(self, request, context):
        _require(merge_id=request.merge_id)
        survivor, restored = self._uc.unmerge(request.merge_id)
        return pb.UnmergeCandidatesResponse(
            survivor=convert.candidate_to_pb(survivor), restored=convert.candidate_to_pb(restored)
        )

    def AddTimelineEvent(self, request, context):
        e = request.event
        _require(**{"event.candidate_id": e.candidate_id, "event.kind": e.kind})
        event = self._uc.add_event(
            e.candidate_id,
            e.kind,
            from_pb(e, "occurred_at"),
            e.channel,
            e.actor,
            e.stage,
            convert.payload_from_pb(e.payload),
        )
        return convert.event_to_pb(event)

    def ListTimeline(self, request, context):
        page = self._uc.list_timeline(
            request.candidate_id, request.page_size, request.page_token, list(request.kinds)
        )
        return pb.ListTimelineResponse(
            events=[convert.event_to_pb(e) for e in page.items], page=_page(page.next_token)
        )

    def CreatePool(self, request, context):
        p = request.pool
        return convert.pool_to_pb(self._uc.create_pool(p.name, p.description, list(p.stages)))

    def ListPools(self, request, context):
        return pb.ListPoolsResponse(pools=[convert.pool_to_pb(p) for p in self._uc.list_pools()])

    def AddToPool(self, request, context):
        _require(pool_id=request.pool_id)
        added, moved, unchanged = self._uc.add_to_pool(
            request.pool_id, list(request.candidate_ids), request.stage
        )
        return pb.AddToPoolResponse(added=added, moved=moved, unchanged=unchanged)

    def ListPool(self, request, context):
        _require(pool_id=request.pool_id)
        page = self._uc.list_pool(
            request.pool_id, request.page_size, request.page_token, request.stage
        )
        return pb.ListPoolResponse(
            members=[convert.member_to_pb(m) for m in page.items], page=_page(page.next_token)
        )

    def CreateSegment(self, request, context):
        s = request.segment
        return convert.segment_to_pb(
            self._uc.create_segment(s.name, s.description, convert.rule_from_pb(s.rule))
        )

    def ListSegments(self, request, context):
        return pb.ListSegmentsResponse(
            segments=[convert.segment_to_pb(s) for s in self._uc.list_segments()]
        )

    def PreviewSegment(self, request, context):
        if not request.segment_id and not request.rule.conditions:
            raise ValidationFailed(Violation("segment_id", "give a segment_id or a rule"))
        page = self._uc.preview_segment(
            request.segment_id,
            convert.rule_from_pb(request.rule),
            request.page_size,
            request.page_token,
        )
        return pb.PreviewSegmentResponse(
            count=page.total,
            candidates=[convert.candidate_to_pb(c) for c in page.items],
            page=_page(page.next_token, page.total),
        )

    def WatchChanges(self, request, context) -> Iterator[common_pb2.ChangeEvent]:
        for event in self._uc.watch(request.since_seq, context.is_active):
            yield convert.change_to_pb(event)


def _chunks(requests) -> Iterator[bytes]:
    for i, message in enumerate(requests, start=1):
        if message.WhichOneof("part") != "chunk":
            raise ValidationFailed(
                Violation(f"requests[{i}]", "only the first message is a header")
            )
        yield message.chunk


def _require(**fields: str) -> None:
    missing = [Violation(name, "required") for name, value in fields.items() if not value]
    if missing:
        raise ValidationFailed(missing)


def add_to_server(servicer: CandidateServicer, server: grpc.Server) -> None:
    pb_grpc.add_CandidateServiceServicer_to_server(servicer, server)
