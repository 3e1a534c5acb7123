"""Protobuf <-> domain for EngagementService. Nothing else in the service touches protobuf."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from google.protobuf import timestamp_pb2

from rapport.services.candidates.convert import rule_from_pb
from rapport.services.common.timestamps import to_pb
from rapport.services.engagement.scores import Factor
from rapport.services.engagement.use_cases import ScoreChunk, ScoredOne, Selection
from rapport.v1 import engagement_pb2 as pb


def selection_from_pb(request: pb.ScoreCandidatesRequest) -> Selection:
    which = request.WhichOneof("selection")
    if which == "pool_id":
        return Selection(pool_id=request.pool_id)
    if which == "segment_id":
        return Selection(segment_id=request.segment_id)
    if which == "rule":
        return Selection(rule=rule_from_pb(request.rule))
    if which == "candidate_ids":
        return Selection(candidate_ids=tuple(request.candidate_ids.ids))
    return Selection()


def _stamp(value: datetime) -> timestamp_pb2.Timestamp:
    """A UTC datetime as a Timestamp, without FromDatetime's calendar arithmetic (a tenth
    of a ScoreCandidate's time went there)."""
    t = value.timestamp()
    seconds = math.floor(t)
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=int((t - seconds) * 1e9))


def _factors(factors: Sequence[Factor]) -> list[pb.EngagementFactor]:
    return [
        pb.EngagementFactor(
            feature=f.feature,
            contribution=f.contribution,
            value=f.value,
            numeric_value=f.numeric_value,
        )
        for f in factors
    ]


def score_to_pb(one: ScoredOne) -> pb.EngagementScore:
    s = one.score
    return pb.EngagementScore(
        candidate_id=s.candidate_id,
        probability=s.probability,
        band=s.band,
        factors=_factors(one.factors),
        model_name=one.model.name,
        model_version=one.model.version,
        as_of=_stamp(s.as_of),
        scored_at=_stamp(s.scored_at),
    )


def chunk_to_pb(chunk: ScoreChunk) -> pb.ScoreCandidatesResponse:
    out = pb.ScoreCandidatesResponse(
        model_name=chunk.model.name,
        model_version=chunk.model.version,
        total=chunk.total,
        sent=chunk.sent,
    )
    add = out.scores.add
    if chunk.factors is None:
        for s in chunk.scores:
            add(candidate_id=s.candidate_id, probability=s.probability, band=s.band)
    else:
        for s, factors in zip(chunk.scores, chunk.factors, strict=True):
            add(
                candidate_id=s.candidate_id,
                probability=s.probability,
                band=s.band,
                factors=_factors(factors),
            )
    if chunk.scores:
        out.as_of.CopyFrom(_stamp(min(s.as_of for s in chunk.scores)))
    return out


def model_info_to_pb(info: dict) -> pb.ModelInfo:
    out = pb.ModelInfo(
        state=info["state"],
        message=info["message"],
        alias=info["alias"],
        last_error=info["last_error"],
        tracking_uri=info["tracking_uri"],
        scored=info["scored"],
        feed_seq=info["feed_seq"],
        scoring=info["scoring"],
    )
    model = info["model"]
    if model is not None:
        out.name, out.version = model.name, model.version
        out.run_id = model.run_id
        out.feature_spec_version = model.feature_spec_version
        out.loaded_from = model.loaded_from
        out.metrics.update(model.metrics)
        if model.trained_at is not None:
            out.trained_at.CopyFrom(to_pb(model.trained_at))
        if model.loaded_at is not None:
            out.loaded_at.CopyFrom(to_pb(model.loaded_at))
    if info["last_refresh"] is not None:
        out.last_refresh.CopyFrom(to_pb(info["last_refresh"]))
    if info["bands_as_of"] is not None:
        out.bands_as_of.CopyFrom(to_pb(info["bands_as_of"]))
    return out
