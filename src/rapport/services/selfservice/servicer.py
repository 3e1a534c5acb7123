"""CandidatePortalService over gRPC: protobuf in, use case, protobuf out."""

from __future__ import annotations

import grpc

from rapport.services.common.timestamps import to_pb
from rapport.services.selfservice.use_cases import SignInUseCases
from rapport.v1 import portal_pb2 as pb
from rapport.v1 import portal_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CandidatePortalService"].full_name


class CandidatePortalServicer(pb_grpc.CandidatePortalServiceServicer):
    def __init__(self, use_cases: SignInUseCases) -> None:
        self._uc = use_cases

    def RequestSignInLink(self, request, context):
        minutes = self._uc.request_link(request.email, request.link_base_url)
        return pb.RequestSignInLinkResponse(valid_minutes=minutes)

    def RedeemSignInLink(self, request, context):
        candidate_id, at = self._uc.redeem(request.token)
        return pb.RedeemSignInLinkResponse(candidate_id=candidate_id, signed_in_at=to_pb(at))


def add_to_server(servicer: CandidatePortalServicer, server: grpc.Server) -> None:
    pb_grpc.add_CandidatePortalServiceServicer_to_server(servicer, server)
