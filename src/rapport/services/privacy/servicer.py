"""PrivacyService over gRPC: protobuf in, use case, protobuf out. No SQL, no rules here."""

from __future__ import annotations

import grpc

from rapport.services.common.timestamps import from_pb
from rapport.services.privacy import convert
from rapport.services.privacy.use_cases import PrivacyUseCases
from rapport.v1 import privacy_pb2 as pb
from rapport.v1 import privacy_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["PrivacyService"].full_name


class PrivacyServicer(pb_grpc.PrivacyServiceServicer):
    def __init__(self, use_cases: PrivacyUseCases) -> None:
        self._uc = use_cases

    def EraseCandidate(self, request, context):
        return convert.erasure_to_pb(self._uc.erase(request.candidate_id, request.reason))

    def ExportCandidate(self, request, context):
        exported = self._uc.export(request.candidate_id)
        return pb.ExportCandidateResponse(
            candidate_id=exported.candidate_id,
            document=exported.document.encode(),
            content_type="application/json",
        )

    def GetConsent(self, request, context):
        return convert.consent_to_pb(self._uc.get_consent(request.candidate_id))

    def SetConsent(self, request, context):
        view = self._uc.set_consent(
            request.candidate_id,
            request.state,
            request.basis,
            request.source,
            convert.preferences_from_pb(request.preferences),
        )
        return convert.consent_to_pb(view)

    def RunRetention(self, request, context):
        return convert.retention_to_pb(self._uc.run_retention(request.dry_run, request.idle_months))

    def QueryAudit(self, request, context):
        entries = self._uc.query_audit(
            candidate_id=request.candidate_id,
            actor=request.actor,
            action=request.action,
            since=from_pb(request, "since"),
            until=from_pb(request, "until"),
            limit=request.limit,
        )
        return pb.QueryAuditResponse(entries=[convert.audit_entry_to_pb(e) for e in entries])

    def VerifyAudit(self, request, context):
        return convert.verify_to_pb(self._uc.verify_audit())


def add_to_server(servicer: PrivacyServicer, server: grpc.Server) -> None:
    pb_grpc.add_PrivacyServiceServicer_to_server(servicer, server)
