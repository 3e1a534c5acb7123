"""AtsService over gRPC: protobuf in, use case, protobuf out. No SQL, no HTTP here."""

from __future__ import annotations

import grpc

from rapport.services.ats import convert
from rapport.services.ats.use_cases import AtsUseCases
from rapport.v1 import ats_pb2 as pb
from rapport.v1 import ats_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AtsService"].full_name


class AtsServicer(pb_grpc.AtsServiceServicer):
    def __init__(self, use_cases: AtsUseCases) -> None:
        self._uc = use_cases

    def SubmitCandidate(self, request, context):
        return convert.submission_to_pb(
            self._uc.submit(request.candidate_id, request.ats_job_id, request.idempotency_key)
        )

    def GetSubmission(self, request, context):
        return convert.submission_to_pb(self._uc.get_submission(request.id))

    def ListSubmissions(self, request, context):
        page = self._uc.list_submissions(
            candidate_id=request.candidate_id,
            status=request.status,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListSubmissionsResponse(
            submissions=[convert.submission_to_pb(s) for s in page.items],
            next_page_token=page.next_token,
        )

    def SyncNow(self, request, context):
        return convert.sync_to_pb(self._uc.sync_now())


def add_to_server(servicer: AtsServicer, server: grpc.Server) -> None:
    pb_grpc.add_AtsServiceServicer_to_server(servicer, server)
