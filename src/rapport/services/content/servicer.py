"""ContentService over gRPC: protobuf in, use case, protobuf out."""

from __future__ import annotations

import grpc

from rapport.services.common.deadlines import require_time
from rapport.services.common.timestamps import from_pb
from rapport.services.content import convert
from rapport.services.content.use_cases import ContentUseCases
from rapport.v1 import common_pb2
from rapport.v1 import content_pb2 as pb
from rapport.v1 import content_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ContentService"].full_name
# A decision reads the store, scores the library and writes the log: a few milliseconds.
MIN_DECISION_TIME_S = 0.005


class ContentServicer(pb_grpc.ContentServiceServicer):
    def __init__(self, use_cases: ContentUseCases) -> None:
        self._uc = use_cases

    def CreateContent(self, request, context):
        item, encoder = self._uc.create(convert.item_from_pb(request.item))
        return convert.item_to_pb(item, encoder)

    def GetContent(self, request, context):
        item, encoder = self._uc.get(request.id)
        return convert.item_to_pb(item, encoder)

    def ListContent(self, request, context):
        kind = convert.kind_from_pb(request.kind, "kind", required=False)
        page = self._uc.list(kind, request.active_only, request.page_size, request.page_token)
        return pb.ListContentResponse(
            items=[convert.item_to_pb(i, self._uc.encoder_of(i.pk)) for i in page.items],
            page=common_pb2.PageInfo(next_page_token=page.next_token),
        )

    def NextBestContent(self, request, context):
        require_time(context, "choosing content", MIN_DECISION_TIME_S)
        result = self._uc.next_best(
            request.candidate_id,
            convert.context_from_pb(request.context),
            dry_run=request.dry_run,
        )
        return convert.next_best_to_pb(result, self._uc.encoder_of)

    def RecordOutcome(self, request, context):
        which = request.WhichOneof("target")
        outcome = self._uc.record_outcome(
            convert.outcome_kind_from_pb(request.kind),
            decision_id=request.decision_id if which == "decision_id" else "",
            candidate_id=request.content.candidate_id if which == "content" else "",
            content_id=request.content.content_id if which == "content" else "",
            occurred_at=from_pb(request, "occurred_at"),
            machine_hint=request.is_machine_open,
            user_agent=request.user_agent,
            outcome_key=request.outcome_key,
        )
        return convert.outcome_to_pb(outcome)


def add_to_server(servicer: ContentServicer, server: grpc.Server) -> None:
    pb_grpc.add_ContentServiceServicer_to_server(servicer, server)
