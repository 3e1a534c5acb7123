"""EngagementService over gRPC: protobuf in, use case, protobuf out."""

from __future__ import annotations

import grpc

from rapport.services.engagement import convert
from rapport.services.engagement.use_cases import EngagementUseCases
from rapport.v1 import engagement_pb2 as pb
from rapport.v1 import engagement_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["EngagementService"].full_name


class EngagementServicer(pb_grpc.EngagementServiceServicer):
    def __init__(self, use_cases: EngagementUseCases) -> None:
        self._uc = use_cases

    def ScoreCandidate(self, request, context):
        return convert.score_to_pb(self._uc.score_one(request.candidate_id, request.top_factors))

    def ScoreCandidates(self, request, context):
        chunks = self._uc.score_many(
            convert.selection_from_pb(request),
            request.include_factors,
            request.top_factors,
            request.batch_size,
        )
        for chunk in chunks:
            yield convert.chunk_to_pb(chunk)

    def GetModelInfo(self, request, context):
        return convert.model_info_to_pb(self._uc.model_info())


def add_to_server(servicer: EngagementServicer, server: grpc.Server) -> None:
    pb_grpc.add_EngagementServiceServicer_to_server(servicer, server)
