"""Engagement scores for another service (RankCandidates), in-process or over gRPC.

`rapport serve` with both services in one process hands matching the engagement use cases
themselves; a matching process on its own asks EngagementService at
`RAPPORT_ENGAGEMENT_SERVER` (ScoreCandidates with explicit ids, no factors). Either way
matching sees one small interface, and an answer it cannot get becomes a note beside the
ranking, never a failed ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import grpc

from rapport.core.errors import PreconditionFailed, Unavailable


@dataclass(frozen=True)
class EngagementLookup:
    model_name: str
    model_version: str
    scores: dict[str, tuple[float, str]] = field(default_factory=dict)  # id -> (p, band)

    @property
    def model(self) -> str:
        return f"{self.model_name}/{self.model_version}"


class EngagementSource(Protocol):
    def scores_for(self, candidate_ids: Sequence[str]) -> EngagementLookup:
        """Scores of these (active) candidates by one model version. Raises Unavailable or
        PreconditionFailed when no model can answer."""
        ...


class RemoteEngagement:
    """EngagementService in another process, reached over one long-lived channel."""

    def __init__(self, address: str, timeout_s: float = 5.0, **channel_options) -> None:
        """`channel_options`: api_key, ca_file, cert_file, key_file (see `open_channel`);
        with authentication on, api_key is this service's own key (RAPPORT_API_KEY)."""
        from rapport.services.common.channels import open_channel
        from rapport.v1 import engagement_pb2_grpc

        self._address = address
        self._timeout_s = timeout_s
        self._channel = open_channel(address, **channel_options)
        self._stub = engagement_pb2_grpc.EngagementServiceStub(self._channel)

    def scores_for(self, candidate_ids: Sequence[str]) -> EngagementLookup:
        from rapport.v1 import engagement_pb2 as pb

        request = pb.ScoreCandidatesRequest(
            candidate_ids=pb.CandidateIds(ids=list(candidate_ids)), batch_size=10_000
        )
        scores: dict[str, tuple[float, str]] = {}
        name = version = ""
        try:
            for batch in self._stub.ScoreCandidates(request, timeout=self._timeout_s):
                name, version = batch.model_name, batch.model_version
                scores.update((s.candidate_id, (s.probability, s.band)) for s in batch.scores)
        except grpc.RpcError as err:
            code = err.code() if isinstance(err, grpc.Call) else None
            detail = err.details() if isinstance(err, grpc.Call) else str(err)
            if code == grpc.StatusCode.FAILED_PRECONDITION:
                raise PreconditionFailed(detail or "no engagement model") from None
            raise Unavailable(
                f"engagement service at {self._address}: {code.name if code else 'error'} "
                f"{detail or ''}".strip()
            ) from None
        return EngagementLookup(name, version, scores)

    def close(self) -> None:
        self._channel.close()
