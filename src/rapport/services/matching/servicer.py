"""MatchingService over gRPC: protobuf in, use case, protobuf out."""

from __future__ import annotations

import grpc

from rapport.services.common.deadlines import require_time
from rapport.services.matching import convert
from rapport.services.matching.use_cases import MatchingUseCases
from rapport.v1 import common_pb2
from rapport.v1 import matching_pb2 as pb
from rapport.v1 import matching_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["MatchingService"].full_name
# A ranking takes several milliseconds at best (encode, search, score): a call with less time
# left is refused up front with DEADLINE_EXCEEDED instead of doing work nobody will read.
MIN_RANK_TIME_S = 0.01


class MatchingServicer(pb_grpc.MatchingServiceServicer):
    def __init__(self, use_cases: MatchingUseCases) -> None:
        self._uc = use_cases

    def CreateRole(self, request, context):
        return convert.role_to_pb(self._uc.create_role(convert.role_from_pb(request.role)))

    def GetRole(self, request, context):
        return convert.role_to_pb(self._uc.get_role(request.id))

    def ListRoles(self, request, context):
        page = self._uc.list_roles(request.page_size, request.page_token)
        return pb.ListRolesResponse(
            roles=[convert.role_to_pb(r) for r in page.items],
            page=common_pb2.PageInfo(next_page_token=page.next_token),
        )

    def RankCandidates(self, request, context):
        require_time(context, "ranking", MIN_RANK_TIME_S)
        which = request.WhichOneof("role_ref")
        role = convert.role_from_pb(request.role) if which == "role" else None
        outcome = self._uc.rank(
            role,
            request.role_id if which == "role_id" else "",
            convert.filters_from_pb(request.filters),
            request.top_k,
            request.page_token,
            request.engagement_weight,
        )
        return convert.outcome_to_pb(outcome)

    def SimilarCandidates(self, request, context):
        require_time(context, "ranking", MIN_RANK_TIME_S)
        outcome = self._uc.similar(
            request.candidate_id, convert.filters_from_pb(request.filters), request.top_k
        )
        return convert.outcome_to_pb(outcome)

    def GetIndexStatus(self, request, context):
        return convert.status_to_pb(self._uc.index_status())

    def RebuildIndex(self, request, context):
        return convert.status_to_pb(self._uc.rebuild())

    def ExtractSkills(self, request, context):
        found = self._uc.extract_skills(request.text, request.limit)
        return pb.ExtractSkillsResponse(skills=[convert.mention_to_pb(m) for m in found])


def add_to_server(servicer: MatchingServicer, server: grpc.Server) -> None:
    pb_grpc.add_MatchingServiceServicer_to_server(servicer, server)
