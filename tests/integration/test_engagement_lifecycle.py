"""Train -> challenger -> promote -> champion -> served, end to end with the real training
entry point, registry and promotion: then a retrained model is promoted and served without
a restart, and a rollback brings the first one back."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from auth_helpers import create_key, open_channel
from sqlalchemy import select

from rapport.core.config import Settings
from rapport.core.seeding import generate_people
from rapport.core.store import seed_loader
from rapport.core.store.candidates import pk_for
from rapport.core.store.schema import CandidateRow
from rapport.models.engagement.features import build_features
from rapport.models.engagement.registry import Registry
from rapport.v1 import engagement_pb2 as pb
from rapport.v1 import engagement_pb2_grpc as pb_grpc

pytestmark = pytest.mark.integration
WAIT_S = 120.0


def serving(stub, version: str) -> pb.ModelInfo:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        info = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=5)
        if info.state == "ready" and info.version == version and info.HasField("bands_as_of"):
            return info
        time.sleep(0.1)
    raise AssertionError(f"version {version} not served: {info}")


def test_trained_models_are_promoted_served_swapped_and_rolled_back(settings, db):
    from rapport.services.app import start
    from rapport.services.common.server import graceful_stop
    from rapport.training.engagement import train_engagement
    from rapport.training.promotion import promote, rollback

    seed_loader.load_people(
        db, generate_people(800, 3, now=datetime.now(UTC).replace(microsecond=0))
    )
    settings = Settings(
        **settings.model_dump()
        | {"engagement_poll_interval_s": 0.2, "engagement_follow_interval_s": 0.05}
    )
    first = train_engagement(settings)
    assert (first.version.version, first.version.aliases) == ("1", ("challenger",))
    # the gate itself is training's business (tests/unit/test_engagement_training.py)
    assert promote(settings, force=True).promoted

    server, port, health, served_db, specs = start(settings, services="engagement", port=0)
    try:
        key = create_key(settings.effective_database_url)
        with open_channel(f"127.0.0.1:{port}", key) as channel:
            stub = pb_grpc.EngagementServiceStub(channel)
            info = serving(stub, "1")
            assert info.run_id == first.run_id
            assert info.metrics["model_roc_auc"] == pytest.approx(first.model_metrics["roc_auc"])
            with db.read() as s:
                cid = s.execute(select(CandidateRow.id).order_by(CandidateRow.pk)).scalars().first()
            score = stub.ScoreCandidate(pb.ScoreCandidateRequest(candidate_id=cid), timeout=5)
            assert score.model_version == "1" and score.factors
            trained = Registry(settings).load_version("1")
            with db.read() as s:
                frame = build_features(s, score.as_of.ToDatetime(tzinfo=UTC), [pk_for(s, cid)])
            assert score.probability == pytest.approx(float(trained.predict_proba(frame)[0]))

            second = train_engagement(settings, seed=1)
            assert second.version.version == "2"
            assert promote(settings, force=True).promoted
            assert serving(stub, "2").run_id == second.run_id  # no restart
            again = stub.ScoreCandidate(pb.ScoreCandidateRequest(candidate_id=cid), timeout=5)
            assert again.model_version == "2"

            assert rollback(settings).promoted
            assert serving(stub, "1").version == "1"
    finally:
        graceful_stop(server, health, 1.0)
        for spec in specs:
            if spec.on_shutdown:
                spec.on_shutdown()
        served_db.close()
