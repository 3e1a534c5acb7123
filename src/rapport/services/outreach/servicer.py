"""OutreachService over gRPC: protobuf in, use case, protobuf out."""

from __future__ import annotations

import grpc

from rapport.services.common.timestamps import from_pb
from rapport.services.outreach import convert
from rapport.services.outreach.use_cases import OutreachUseCases
from rapport.v1 import outreach_pb2 as pb
from rapport.v1 import outreach_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["OutreachService"].full_name


class OutreachServicer(pb_grpc.OutreachServiceServicer):
    def __init__(self, use_cases: OutreachUseCases) -> None:
        self._uc = use_cases

    def CreateSequence(self, request, context):
        seq = self._uc.create_sequence(convert.sequence_from_pb(request.sequence))
        return convert.sequence_to_pb(seq)

    def GetSequence(self, request, context):
        return convert.sequence_to_pb(self._uc.get_sequence(request.id))

    def ListSequences(self, request, context):
        page = self._uc.list_sequences(request.page_size, request.page_token)
        return pb.ListSequencesResponse(
            sequences=[convert.sequence_to_pb(s) for s in page.items],
            page=convert.page_info(page.next_token),
        )

    def Enrol(self, request, context):
        which = request.WhichOneof("who")
        start = from_pb(request, "start_at")
        outcome = self._uc.enrol(
            request.sequence_id,
            candidate_ids=list(request.candidates.ids) if which == "candidates" else (),
            segment_id=request.segment_id if which == "segment_id" else "",
            start_at=start,
        )
        return convert.enrol_outcome_to_pb(outcome)

    def Unenrol(self, request, context):
        which = request.WhichOneof("target")
        enrolment = self._uc.unenrol(
            enrolment_id=request.enrolment_id if which == "enrolment_id" else "",
            sequence_id=request.member.sequence_id if which == "member" else "",
            candidate_id=request.member.candidate_id if which == "member" else "",
        )
        return convert.enrolment_to_pb(enrolment)

    def ListEnrolments(self, request, context):
        page = self._uc.list_enrolments(
            sequence_id=request.sequence_id,
            candidate_id=request.candidate_id,
            state=request.state,
            include_sends=request.include_sends,
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListEnrolmentsResponse(
            enrolments=[convert.enrolment_to_pb(e) for e in page.items],
            page=convert.page_info(page.next_token),
        )

    def CreateTrigger(self, request, context):
        trigger = self._uc.create_trigger(convert.trigger_from_pb(request.trigger))
        return convert.trigger_to_pb(trigger)

    def ListTriggers(self, request, context):
        return pb.ListTriggersResponse(
            triggers=[convert.trigger_to_pb(t) for t in self._uc.list_triggers()]
        )

    def PreviewStep(self, request, context):
        preview = self._uc.preview(request.sequence_id, request.step_key, request.candidate_id)
        return pb.PreviewStepResponse(
            message=convert.rendered_to_pb(preview.message),
            would_send=preview.would_send,
            reason=preview.reason,
        )

    def TestSend(self, request, context):
        sent = self._uc.test_send(
            request.sequence_id, request.step_key, request.to_address, request.candidate_id
        )
        return pb.TestSendResponse(
            message=convert.rendered_to_pb(sent.message),
            message_id=sent.message_id,
            smtp_response=sent.smtp_response,
        )

    def RecordReply(self, request, context):
        outcome = self._uc.record_reply(convert.reply_from_pb(request))
        return convert.reply_outcome_to_pb(outcome)

    def Unsubscribe(self, request, context):
        outcome = self._uc.unsubscribe(request.token)
        return pb.UnsubscribeResponse(
            candidate_id=outcome.candidate_id,
            stopped_enrolments=outcome.stopped_enrolments,
            already=outcome.already,
        )


def add_to_server(servicer: OutreachServicer, server: grpc.Server) -> None:
    pb_grpc.add_OutreachServiceServicer_to_server(servicer, server)
