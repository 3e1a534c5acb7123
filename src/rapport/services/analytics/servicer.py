"""AnalyticsService over gRPC: protobuf in, use case, protobuf out."""

from __future__ import annotations

import grpc

from rapport.core.errors import ValidationFailed, Violation
from rapport.services.analytics import convert
from rapport.services.analytics.use_cases import AnalyticsUseCases
from rapport.v1 import analytics_pb2 as pb
from rapport.v1 import analytics_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AnalyticsService"].full_name


class AnalyticsServicer(pb_grpc.AnalyticsServiceServicer):
    def __init__(self, use_cases: AnalyticsUseCases) -> None:
        self._uc = use_cases

    def CampaignReport(self, request, context):
        since, until = convert.range_from(request)
        report = self._uc.campaigns(since, until, list(request.templates), request.metric)
        return convert.campaign_to_pb(report)

    def PoolReport(self, request, context):
        since, until = convert.range_from(request)
        report = self._uc.pools(since, until, request.pool_id, request.interval)
        return convert.pool_to_pb(report)

    def ModelReport(self, request, context):
        since, until = convert.range_from(request)
        report = self._uc.models(since, until, request.model_version, request.sample)
        return convert.model_to_pb(report)

    def FairnessReport(self, request, context):
        which = request.WhichOneof("target")
        if which == "ranking":
            r = request.ranking
            outcome = self._uc.fairness_ranking(list(r.candidate_ids), r.top_k, r.label)
        elif which == "model":
            _, until = convert.range_from(request)
            outcome = self._uc.fairness_model(
                request.model.model_version, request.model.threshold, until
            )
        elif which == "audit":
            a = request.audit
            outcome = self._uc.fairness_audit(
                list(a.group_columns),
                [(list(c.groups), c.selected, c.total) for c in a.counts],
                a.source,
            )
        else:
            raise ValidationFailed(
                Violation("target", "give a ranking, a model or audit counts to report on")
            )
        return convert.fairness_to_pb(outcome)

    def RecordDemographics(self, request, context):
        sex, race = self._uc.record_demographics(
            request.candidate_id, request.sex, request.race_ethnicity
        )
        return pb.RecordDemographicsResponse(
            candidate_id=request.candidate_id, sex=sex, race_ethnicity=race
        )


def add_to_server(servicer: AnalyticsServicer, server: grpc.Server) -> None:
    pb_grpc.add_AnalyticsServiceServicer_to_server(servicer, server)
