"""Ranking with the real all-MiniLM-L6-v2 (ONNX) over a seeded store, on SQLite and on
PostgreSQL: the slow tier of matching. Checks quality the fake encoder cannot show."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from auth_helpers import create_key, open_channel

from rapport.core.seeding import generate_people
from rapport.core.store import seed_loader
from rapport.v1 import common_pb2
from rapport.v1 import matching_pb2 as pb
from rapport.v1 import matching_pb2_grpc as pb_grpc

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def real_model_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("real-models")


@pytest.fixture
def settings(settings, real_model_cache):
    return settings.model_copy(update={"encoder": "onnx", "model_cache_dir": real_model_cache})


@pytest.fixture
def matching(settings, db):
    seed_loader.load_people(db, generate_people(400, 13, now=datetime(2026, 11, 1, tzinfo=UTC)))
    from rapport.services.app import start
    from rapport.services.common.server import graceful_stop

    srv, port, health, database, specs = start(settings, services="matching", port=0)
    channel = open_channel(f"127.0.0.1:{port}", create_key(settings.effective_database_url))
    stub = pb_grpc.MatchingServiceStub(channel)
    deadline = time.monotonic() + 600
    while stub.GetIndexStatus(pb.GetIndexStatusRequest()).state != "ready":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    yield stub
    channel.close()
    graceful_stop(srv, health, 1.0)
    for spec in specs:
        if spec.on_shutdown:
            spec.on_shutdown()
    database.close()


def test_real_model_ranks_the_right_people_first(matching):
    nurse = matching.RankCandidates(
        pb.RankCandidatesRequest(
            role=pb.Role(
                title="Registered Nurse",
                description="Ward nurse on a surgical unit: patient care, medication rounds.",
            ),
            top_k=10,
        )
    )
    assert nurse.encoder == "all-MiniLM-L6-v2@fp32"
    nursing = sum("nurs" in r.headline.lower() for r in nurse.results)
    assert nursing >= 7, [r.headline for r in nurse.results]

    backend = matching.RankCandidates(
        pb.RankCandidatesRequest(
            role=pb.Role(
                title="Senior Backend Engineer",
                required_skills=["Python", "k8s", "Postgres"],
                min_seniority=common_pb2.SENIORITY_SENIOR,
            ),
            top_k=10,
        )
    )
    mapped = {m.text: m.skill_id for m in backend.skill_mappings}
    assert mapped["k8s"] == "kubernetes" and mapped["Postgres"] == "postgresql"
    top = backend.results[0]
    assert top.components.skills >= 2 / 3 and top.components.seniority == 1.0
    assert not any("nurs" in r.headline.lower() for r in backend.results)


def test_real_model_maps_free_text_skills_by_meaning(matching):
    response = matching.RankCandidates(
        pb.RankCandidatesRequest(
            role=pb.Role(title="Analyst", required_skills=["building statistical models"]),
            top_k=3,
        )
    )
    mapping = response.skill_mappings[0]
    assert mapping.method in ("embedding", "alias") and mapping.skill_id, mapping
