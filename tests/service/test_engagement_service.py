"""EngagementService over a real in-process gRPC server, a real MLflow registry (SQLite) and a
seeded store: champions picked up without restart, the registry going away, bands kept on
candidates, streams over pools and segments, and engagement blended into rankings.

The registered models are small `EngagementScorer`s (conftest `tiny_scorer`) logged and
registered through `rapport.models.engagement.registry`, exactly as training does.
"""

from __future__ import annotations

import math
import shutil
import threading
import time
from datetime import UTC, datetime

import grpc
import pytest
from auth_helpers import create_key, open_channel
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from rapport.core.config import Settings
from rapport.core.seeding import generate_people
from rapport.core.store import feed, pools, seed_loader
from rapport.models.engagement.bands import band_for, thresholds_from
from rapport.models.engagement.features import FEATURE_SPEC, build_features
from rapport.v1 import candidates_pb2 as cpb
from rapport.v1 import candidates_pb2_grpc as cpb_grpc
from rapport.v1 import common_pb2
from rapport.v1 import engagement_pb2 as pb
from rapport.v1 import engagement_pb2_grpc as pb_grpc
from rapport.v1 import matching_pb2 as mpb
from rapport.v1 import matching_pb2_grpc as mpb_grpc

PEOPLE = 40
WAIT_S = 60.0


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _mlflow_gives_up_fast(monkeypatch):
    """A dead tracking server makes MLflow retry for minutes; in one test process that look
    would outlive its test (and, as Registry.client is a cached_property, hold up other
    registries). The service reports a hung look within its own timeout either way."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")


@pytest.fixture(scope="module")
def registry_home(tmp_path_factory, tiny_scorer):
    """A tracking store with versions 1 (champion) and 2 (challenger) of rapport-engagement.
    Each test copies its SQLite file; the artefacts stay here, read-only."""
    import pandas as pd

    from rapport.models.engagement.registry import MODEL_NAME, Registry

    home = tmp_path_factory.mktemp("mlflow-home")
    registry = Registry(Settings(home=home))
    for seed in (1, 2):
        scorer = tiny_scorer(seed)
        example = pd.DataFrame([scorer.reference] * 3)
        with registry.start_run(run_name=f"test-{seed}"):
            uri = registry.log_model(scorer, example)
        registry.register(uri, FEATURE_SPEC)
    registry.set_alias(MODEL_NAME, "champion", "1")
    registry.set_alias(MODEL_NAME, "challenger", "2")
    return home


def engagement_settings(settings: Settings, **changes) -> Settings:
    values = settings.model_dump() | {
        "engagement_poll_interval_s": 0.2,
        "engagement_follow_interval_s": 0.05,
        "engagement_registry_timeout_s": 2.0,
    }
    return Settings(**(values | changes))


@pytest.fixture
def seeded(db):
    """A small seeded store: people with histories, and a pool of the first ten."""
    people = generate_people(PEOPLE, 11, now=datetime.now(UTC).replace(microsecond=0))
    seed_loader.load_people(db, people)
    with db.read() as s:
        ids = [c.id for c in _all_candidates(s)]
    with db.transaction() as s:
        pool = pools.create(s, "Engagement test pool")
        pools.add_members(s, pool.id, ids[:10])
    return {"ids": ids, "pool": pool.id}


def _all_candidates(session):
    from sqlalchemy import select

    from rapport.core.store.schema import CandidateRow

    return session.execute(select(CandidateRow).order_by(CandidateRow.pk)).scalars().all()


class Running:
    """`rapport serve` in this process: start, stop, start again (a restart)."""

    def __init__(self, settings: Settings, services: str = "all") -> None:
        self.settings = settings
        self.services = services
        self._server = None

    def start(self) -> Running:
        from rapport.services.app import start

        self._server, port, self._health, self._db, self._specs = start(
            self.settings, services=self.services, port=0
        )
        self.address = f"127.0.0.1:{port}"
        self.key = create_key(self.settings.effective_database_url)
        self.channel = open_channel(self.address, self.key)
        self.engagement = pb_grpc.EngagementServiceStub(self.channel)
        self.candidates = cpb_grpc.CandidateServiceStub(self.channel)
        self.matching = mpb_grpc.MatchingServiceStub(self.channel)
        return self

    def stop(self) -> None:
        from rapport.services.common.server import graceful_stop

        if self._server is None:
            return
        self.channel.close()
        graceful_stop(self._server, self._health, 1.0)
        for spec in self._specs:
            if spec.on_shutdown:
                spec.on_shutdown()
        self._db.close()
        self._server = None

    def info(self) -> pb.ModelInfo:
        return self.engagement.GetModelInfo(pb.GetModelInfoRequest(), timeout=5)

    def wait_for(self, predicate, what: str) -> pb.ModelInfo:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            info = self.info()
            if predicate(info):
                return info
            time.sleep(0.05)
        raise AssertionError(f"not {what} after {WAIT_S}s: {info}")

    def wait_serving(self, version: str) -> pb.ModelInfo:
        return self.wait_for(
            lambda i: i.state == "ready" and i.version == version and i.HasField("bands_as_of"),
            f"serving version {version} with bands written",
        )


@pytest.fixture
def with_registry(settings, registry_home, seeded):
    settings = engagement_settings(settings)
    settings.home.mkdir(parents=True, exist_ok=True)
    shutil.copy(registry_home / "mlflow.db", settings.home / "mlflow.db")
    running = Running(settings).start()
    yield running
    running.stop()


@pytest.fixture
def without_model(settings, seeded):
    running = Running(engagement_settings(settings)).start()
    yield running
    running.stop()


def violations(err: grpc.RpcError) -> set[str]:
    fields = set()
    for detail in rpc_status.from_call(err).details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields.update(v.field for v in bad.field_violations)
    return fields


def promote(settings: Settings, version: str) -> None:
    from rapport.models.engagement.registry import MODEL_NAME, Registry

    Registry(settings).set_alias(MODEL_NAME, "champion", version)


# ----------------------------------------------------------------------------- no model
def test_without_a_model_scoring_says_how_to_train_one(without_model, seeded):
    info = without_model.wait_for(lambda i: i.state == "none", "settled")
    assert "no model registry" in info.message
    with pytest.raises(grpc.RpcError) as err:
        without_model.engagement.ScoreCandidate(
            pb.ScoreCandidateRequest(candidate_id=seeded["ids"][0]), timeout=5
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "rapport train engagement && rapport models promote" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        list(
            without_model.engagement.ScoreCandidates(
                pb.ScoreCandidatesRequest(pool_id=seeded["pool"]), timeout=5
            )
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


# ----------------------------------------------------------------------------- one person
def test_score_candidate_matches_the_model_run_by_hand(with_registry, seeded, tiny_scorer, db):
    with_registry.wait_serving("1")
    cid = seeded["ids"][3]
    score = with_registry.engagement.ScoreCandidate(
        pb.ScoreCandidateRequest(candidate_id=cid, top_factors=4), timeout=5
    )
    assert (score.candidate_id, score.model_name, score.model_version) == (
        cid,
        "rapport-engagement",
        "1",
    )
    assert 0.0 < score.probability < 1.0
    assert score.band == band_for(score.probability, thresholds_from(with_registry.settings))
    assert 1 <= len(score.factors) <= 4
    pushes = [abs(f.contribution) for f in score.factors]
    assert pushes == sorted(pushes, reverse=True)
    assert all(f.feature in FEATURE_SPEC.names and f.value for f in score.factors)
    assert score.scored_at.ToDatetime() >= score.as_of.ToDatetime()
    # the same person, features and model, computed here without the service
    with db.read() as s:
        from rapport.core.store.candidates import pk_for

        frame = build_features(s, score.as_of.ToDatetime(tzinfo=UTC), [pk_for(s, cid)])
    expected = float(tiny_scorer(1).predict_proba(frame)[0])
    assert score.probability == pytest.approx(expected, abs=1e-6)
    by_feature = {f.feature: f for f in score.factors}
    for name, f in by_feature.items():
        if not math.isnan(f.numeric_value):
            assert f.numeric_value == pytest.approx(frame.iloc[0][name], rel=1e-4, abs=1e-3)


def test_unknown_candidates_and_bad_arguments(with_registry, seeded):
    with_registry.wait_serving("1")
    stub = with_registry.engagement
    for unknown in ("0192e3c4-5b6a-7c8d-9e0f-112233445566", "not-a-uuid"):
        with pytest.raises(grpc.RpcError) as err:
            stub.ScoreCandidate(pb.ScoreCandidateRequest(candidate_id=unknown), timeout=5)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        stub.ScoreCandidate(
            pb.ScoreCandidateRequest(candidate_id=seeded["ids"][0], top_factors=99), timeout=5
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(err.value) == {"top_factors"}

    bad = [
        (pb.ScoreCandidatesRequest(), {"selection"}),
        (pb.ScoreCandidatesRequest(pool_id=seeded["pool"], batch_size=-1), {"batch_size"}),
        (
            pb.ScoreCandidatesRequest(
                rule=common_pb2.Rule(
                    conditions=[
                        common_pb2.Condition(field="engagement_band", op="in", values=["tepid"])
                    ]
                )
            ),
            {"rule.conditions[0].values"},
        ),
    ]
    for request, fields in bad:
        with pytest.raises(grpc.RpcError) as err:
            list(stub.ScoreCandidates(request, timeout=5))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, request
        assert violations(err.value) == fields
    for request in (
        pb.ScoreCandidatesRequest(pool_id="0192e3c4-0000-7000-8000-000000000000"),
        pb.ScoreCandidatesRequest(
            candidate_ids=pb.CandidateIds(
                ids=[seeded["ids"][0], "0192e3c4-5b6a-7c8d-9e0f-000000000000"]
            )
        ),
    ):
        with pytest.raises(grpc.RpcError) as err:
            list(stub.ScoreCandidates(request, timeout=5))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_merged_away_record_is_not_scored(with_registry, seeded):
    with_registry.wait_serving("1")
    survivor, merged = seeded["ids"][20], seeded["ids"][21]
    with_registry.candidates.MergeCandidates(
        cpb.MergeCandidatesRequest(survivor_id=survivor, merged_id=merged, reason="same"),
        timeout=5,
    )
    deadline = time.monotonic() + WAIT_S  # the change feed tells the service
    while True:
        try:
            with_registry.engagement.ScoreCandidate(
                pb.ScoreCandidateRequest(candidate_id=merged), timeout=5
            )
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert f"merged into {survivor}" in err.details()
            break
        assert time.monotonic() < deadline, "the merged record is still scored"
        time.sleep(0.05)
    survived = with_registry.engagement.ScoreCandidate(
        pb.ScoreCandidateRequest(candidate_id=survivor), timeout=5
    )
    assert survived.model_version == "1"
    with pytest.raises(grpc.RpcError) as err:
        list(
            with_registry.engagement.ScoreCandidates(
                pb.ScoreCandidatesRequest(candidate_ids=pb.CandidateIds(ids=[survivor, merged])),
                timeout=5,
            )
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(err.value) == {"candidate_ids.ids[1]"}


# ----------------------------------------------------------------------------- many people
def test_score_candidates_streams_a_pool_a_segment_and_ids(with_registry, seeded):
    with_registry.wait_serving("1")
    stub = with_registry.engagement
    batches = list(
        stub.ScoreCandidates(
            pb.ScoreCandidatesRequest(pool_id=seeded["pool"], batch_size=3), timeout=10
        )
    )
    assert [len(b.scores) for b in batches] == [3, 3, 3, 1]
    assert [b.sent for b in batches] == [3, 6, 9, 10]
    assert {b.total for b in batches} == {10}
    assert {b.model_version for b in batches} == {"1"}
    assert {s.candidate_id for b in batches for s in b.scores} == set(seeded["ids"][:10])
    singles = {
        cid: stub.ScoreCandidate(pb.ScoreCandidateRequest(candidate_id=cid), timeout=5)
        for cid in seeded["ids"][:10]
    }
    for s in (s for b in batches for s in b.scores):
        assert s.probability == pytest.approx(singles[s.candidate_id].probability, abs=1e-6)
        assert s.band == singles[s.candidate_id].band
        assert not s.factors  # not asked for

    segment = with_registry.candidates.CreateSegment(
        cpb.CreateSegmentRequest(
            segment=cpb.Segment(
                name="Referrals",
                rule=common_pb2.Rule(
                    conditions=[common_pb2.Condition(field="source", op="in", values=["referral"])]
                ),
            )
        ),
        timeout=5,
    )
    preview = with_registry.candidates.PreviewSegment(
        cpb.PreviewSegmentRequest(segment_id=segment.id, page_size=100), timeout=5
    )
    assert preview.candidates
    streamed = list(
        stub.ScoreCandidates(
            pb.ScoreCandidatesRequest(segment_id=segment.id, include_factors=True, top_factors=2),
            timeout=10,
        )
    )
    scores = [s for b in streamed for s in b.scores]
    assert {s.candidate_id for s in scores} == {c.id for c in preview.candidates}
    assert all(1 <= len(s.factors) <= 2 for s in scores)

    picked = [seeded["ids"][5], seeded["ids"][1], seeded["ids"][5]]
    (only,) = stub.ScoreCandidates(
        pb.ScoreCandidatesRequest(candidate_ids=pb.CandidateIds(ids=picked)), timeout=5
    )
    assert [s.candidate_id for s in only.scores] == [picked[0], picked[1]]  # given order, once


# ----------------------------------------------------------------------------- bands
def test_bands_are_written_without_touching_versions_or_the_feed(with_registry, seeded, db):
    with db.read() as s:
        head_before = feed.head(s)
        versions_before = {c.id: c.version for c in _all_candidates(s)}
    info = with_registry.wait_serving("1")
    assert info.scored == PEOPLE
    with db.read() as s:
        rows = _all_candidates(s)
        assert feed.head(s) == head_before  # a derived field: no change-feed rows
    assert {c.id: c.version for c in rows} == versions_before  # and no version bumps
    stored = {c.id: c.engagement_band for c in rows}
    assert set(stored.values()) <= {"hot", "warm", "cold", "dormant"}
    for cid in seeded["ids"][:8]:
        score = with_registry.engagement.ScoreCandidate(
            pb.ScoreCandidateRequest(candidate_id=cid), timeout=5
        )
        assert stored[cid] == score.band

    # segments filter on the band
    for band in set(stored.values()):
        listed = with_registry.candidates.ListCandidates(
            cpb.ListCandidatesRequest(
                page_size=100,
                filter=common_pb2.Rule(
                    conditions=[
                        common_pb2.Condition(field="engagement_band", op="in", values=[band])
                    ]
                ),
            ),
            timeout=5,
        )
        assert {c.id for c in listed.candidates} == {i for i, b in stored.items() if b == band}
        assert {c.engagement_band for c in listed.candidates} == {band}


def test_a_new_event_is_rescored_from_the_change_feed(with_registry, seeded):
    with_registry.wait_serving("1")
    stub = with_registry.engagement
    cid = seeded["ids"][7]
    before = stub.ScoreCandidate(pb.ScoreCandidateRequest(candidate_id=cid), timeout=5)
    event = cpb.TimelineEvent(candidate_id=cid, kind="email_replied", channel="email")
    event.occurred_at.FromDatetime(datetime.now(UTC))
    with_registry.candidates.AddTimelineEvent(cpb.AddTimelineEventRequest(event=event), timeout=5)
    at = event.occurred_at.ToDatetime(tzinfo=UTC)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        after = stub.ScoreCandidate(pb.ScoreCandidateRequest(candidate_id=cid), timeout=5)
        if after.as_of.ToDatetime(tzinfo=UTC) > at:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the reply was not rescored from the change feed")
    assert after.as_of.ToDatetime() > before.as_of.ToDatetime()
    got = with_registry.candidates.GetCandidate(cpb.GetCandidateRequest(id=cid), timeout=5)
    assert got.engagement_band == after.band  # the stored band follows the rescore


# ----------------------------------------------------------------------------- champions
def test_a_promoted_champion_is_served_without_restart_or_failed_requests(with_registry, seeded):
    with_registry.wait_serving("1")
    stub = with_registry.engagement
    seen: list[str] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def caller() -> None:
        i = 0
        while not stop.is_set():
            cid = seeded["ids"][i % PEOPLE]
            try:
                seen.append(
                    stub.ScoreCandidate(
                        pb.ScoreCandidateRequest(candidate_id=cid), timeout=5
                    ).model_version
                )
            except grpc.RpcError as exc:
                failures.append(exc)
            i += 1

    threads = [threading.Thread(target=caller) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        promote(with_registry.settings, "2")
        info = with_registry.wait_serving("2")
        deadline = time.monotonic() + WAIT_S
        while "2" not in seen and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    assert seen[0] == "1" and "2" in seen
    assert info.loaded_from == "registry" and info.run_id
    # rollback is moving the alias back
    promote(with_registry.settings, "1")
    assert with_registry.wait_serving("1").version == "1"


def test_serving_survives_the_registry_going_away(with_registry, seeded):
    first = with_registry.wait_serving("1")
    assert first.loaded_from == "registry"
    cid = seeded["ids"][2]
    # the tracking store disappears while serving
    store = with_registry.settings.home / "mlflow.db"
    store.rename(store.with_suffix(".gone"))
    info = with_registry.wait_for(lambda i: "no model registry" in i.last_error, "noticed")
    assert "still serving rapport-engagement/1" in info.last_error
    score = with_registry.engagement.ScoreCandidate(
        pb.ScoreCandidateRequest(candidate_id=cid), timeout=5
    )
    assert score.model_version == "1"

    # and a restart with the tracking server unreachable serves the cached champion
    with_registry.stop()
    dead = engagement_settings(with_registry.settings, mlflow_uri="http://127.0.0.1:9")
    restarted = Running(dead).start()
    try:
        info = restarted.wait_for(lambda i: i.state == "ready", "serving from the cache")
        assert (info.version, info.loaded_from) == ("1", "cache")
        again = restarted.engagement.ScoreCandidate(
            pb.ScoreCandidateRequest(candidate_id=cid), timeout=5
        )
        assert again.model_version == "1"
        assert again.probability == pytest.approx(score.probability, abs=1e-6)
        info = restarted.wait_for(lambda i: i.last_error != "", "reporting the registry")
        assert "still serving rapport-engagement/1" in info.last_error
    finally:
        restarted.stop()


# ----------------------------------------------------------------------------- ranking
ROLE = mpb.Role(
    title="Software Engineer",
    description="Build and run backend services.",
    required_skills=["Python"],
)


def _wait_index(matching) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        status = matching.GetIndexStatus(mpb.GetIndexStatusRequest(), timeout=5)
        if status.state == "ready" and status.seq >= status.feed_head:
            return
        time.sleep(0.05)
    raise AssertionError("matching index not ready")


def test_rank_blends_engagement_with_the_given_weight(with_registry, seeded):
    with_registry.wait_serving("1")
    _wait_index(with_registry.matching)
    plain = with_registry.matching.RankCandidates(
        mpb.RankCandidatesRequest(role=ROLE, top_k=10), timeout=10
    )
    assert not plain.engagement_model and all(not r.engagement_band for r in plain.results)

    full = with_registry.matching.RankCandidates(
        mpb.RankCandidatesRequest(role=ROLE, top_k=10, engagement_weight=1.0), timeout=10
    )
    assert full.engagement_model == "rapport-engagement/1"
    assert "weight 1" in full.engagement_note
    for r in full.results:
        direct = with_registry.engagement.ScoreCandidate(
            pb.ScoreCandidateRequest(candidate_id=r.candidate_id), timeout=5
        )
        assert r.engagement_band == direct.band
        assert r.engagement_model_version == "1"
        assert r.components.engagement == pytest.approx(direct.probability, abs=1e-6)
        assert r.score == pytest.approx(direct.probability, abs=1e-5)  # weight 1: engagement only
    scores = [r.score for r in full.results]
    assert scores == sorted(scores, reverse=True)

    half = with_registry.matching.RankCandidates(
        mpb.RankCandidatesRequest(role=ROLE, top_k=10, engagement_weight=0.5), timeout=10
    )
    matched = {r.candidate_id: r.score for r in plain.results}
    for r in half.results:
        if r.candidate_id in matched:
            expected = 0.5 * matched[r.candidate_id] + 0.5 * r.components.engagement
            assert r.score == pytest.approx(expected, abs=1e-5)

    with pytest.raises(grpc.RpcError) as err:
        with_registry.matching.RankCandidates(
            mpb.RankCandidatesRequest(role=ROLE, top_k=10, engagement_weight=1.5), timeout=10
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_rank_asks_an_engagement_service_in_another_process(with_registry, seeded):
    """The production shape: matching alone, pointed at EngagementService over gRPC."""
    with_registry.wait_serving("1")
    remote = engagement_settings(
        with_registry.settings,
        engagement_server=with_registry.address,
        # matching's own key for EngagementService: a service-to-service caller
        api_key=create_key(with_registry.settings.effective_database_url, "outreach_engine"),
    )
    alone = Running(remote, services="matching").start()
    unpaired = Running(with_registry.settings, services="matching").start()
    try:
        _wait_index(alone.matching)
        ranked = alone.matching.RankCandidates(
            mpb.RankCandidatesRequest(role=ROLE, top_k=5, engagement_weight=0.4), timeout=10
        )
        assert ranked.engagement_model == "rapport-engagement/1"
        for r in ranked.results:
            direct = with_registry.engagement.ScoreCandidate(
                pb.ScoreCandidateRequest(candidate_id=r.candidate_id), timeout=5
            )
            assert r.engagement_band == direct.band
            assert r.components.engagement == pytest.approx(direct.probability, abs=1e-6)
        _wait_index(unpaired.matching)
        plain = unpaired.matching.RankCandidates(
            mpb.RankCandidatesRequest(role=ROLE, top_k=5, engagement_weight=0.4), timeout=10
        )
        assert plain.engagement_model == "" and len(plain.results) == 5
        assert "RAPPORT_ENGAGEMENT_SERVER" in plain.engagement_note
    finally:
        alone.stop()
        unpaired.stop()


def test_rank_without_a_model_ranks_by_match_and_says_so(without_model, seeded):
    _wait_index(without_model.matching)
    without_model.wait_for(lambda i: i.state == "none", "settled")
    response = without_model.matching.RankCandidates(
        mpb.RankCandidatesRequest(role=ROLE, top_k=5, engagement_weight=0.3), timeout=10
    )
    assert len(response.results) == 5
    assert response.engagement_model == ""
    assert "ranked by match alone" in response.engagement_note
    assert "rapport train engagement" in response.engagement_note
    assert all(r.engagement_band == "" for r in response.results)


def test_scores_a_candidate_created_after_the_model_loaded(with_registry):
    """Someone the book has never seen is scored on the spot, then by the feed follower."""
    with_registry.wait_serving("1")
    created = with_registry.candidates.CreateCandidate(
        cpb.CreateCandidateRequest(
            candidate=cpb.Candidate(
                first_name="New", emails=["new.person@example.com"], source="referral"
            )
        ),
        timeout=5,
    )
    score = with_registry.engagement.ScoreCandidate(
        pb.ScoreCandidateRequest(candidate_id=created.id), timeout=5
    )
    assert score.model_version == "1" and 0.0 < score.probability < 1.0


# ----------------------------------------------------------------------------- the CLI
def cli(running: Running, *args: str, code: int = 0):
    from typer.testing import CliRunner

    from rapport.cli.main import app

    result = CliRunner().invoke(app, ["--server", running.address, "--api-key", running.key, *args])
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def test_cli_score_one_a_pool_and_the_model(with_registry, seeded, monkeypatch):
    import json

    monkeypatch.delenv("RAPPORT_API_KEY", raising=False)  # `cli` passes --api-key
    with_registry.wait_serving("1")
    cid = seeded["ids"][4]
    out = json.loads(cli(with_registry, "--json", "score", cid, "--top", "3").stdout)
    assert out["candidate_id"] == cid and out["model_version"] == "1"
    assert out["band"] in ("hot", "warm", "cold", "dormant")
    assert 1 <= len(out["factors"]) <= 3 and {"feature", "contribution", "value"} <= set(
        out["factors"][0]
    )
    table = cli(with_registry, "score", cid).stdout
    assert out["band"] in table and "rapport-engagement/1" in table

    pool = json.loads(cli(with_registry, "--json", "score", "--pool", seeded["pool"]).stdout)
    assert pool["total"] == 10 and len(pool["scores"]) == 10
    assert sum(pool["bands"].values()) == 10
    model = json.loads(cli(with_registry, "--json", "score", "--model").stdout)
    assert model["state"] == "ready" and model["version"] == "1"
    assert "rapport-engagement/1" in cli(with_registry, "score", "--model").stdout

    missing = cli(with_registry, "score", "0192e3c4-5b6a-7c8d-9e0f-112233445566", code=1)
    assert missing.stderr.startswith("NOT_FOUND")
    cli(with_registry, "score", cid, "--pool", seeded["pool"], code=2)  # one thing at a time


def test_cli_score_without_a_model_exits_with_the_status(without_model, seeded, monkeypatch):
    monkeypatch.delenv("RAPPORT_API_KEY", raising=False)  # `cli` passes --api-key
    without_model.wait_for(lambda i: i.state == "none", "settled")
    result = cli(without_model, "score", seeded["ids"][0], code=1)
    assert result.stderr.startswith("FAILED_PRECONDITION")
    assert "rapport train engagement" in result.stderr


def test_cli_rank_shows_the_band_column_with_engagement(
    with_registry, seeded, tmp_path, monkeypatch
):
    import json

    monkeypatch.delenv("RAPPORT_API_KEY", raising=False)  # `cli` passes --api-key
    with_registry.wait_serving("1")
    _wait_index(with_registry.matching)
    role = tmp_path / "role.json"
    role.write_text(
        json.dumps({"title": ROLE.title, "required_skills": list(ROLE.required_skills)})
    )
    plain = cli(with_registry, "rank", "--role", str(role), "--top", "5").stdout
    assert "band" not in plain
    blended = cli(
        with_registry, "rank", "--role", str(role), "--top", "5", "--engagement-weight", "0.3"
    ).stdout
    assert "band" in blended and "rapport-engagement/1" in blended
    out = json.loads(
        cli(
            with_registry,
            "--json",
            "rank",
            "--role",
            str(role),
            "--top",
            "5",
            "--engagement-weight",
            "0.3",
        ).stdout
    )
    assert out["engagement_model"] == "rapport-engagement/1"
    assert all(r["engagement_band"] in ("hot", "warm", "cold", "dormant") for r in out["results"])
    assert all(0 < r["components"]["engagement"] < 1 for r in out["results"])


def test_a_service_serving_another_alias_writes_no_bands(settings, registry_home, seeded, db):
    """A challenger served in shadow scores like the champion but leaves the bands alone."""
    shadow = engagement_settings(settings, engagement_alias="challenger")
    shadow.home.mkdir(parents=True, exist_ok=True)
    shutil.copy(registry_home / "mlflow.db", shadow.home / "mlflow.db")
    running = Running(shadow).start()
    try:
        info = running.wait_for(lambda i: i.state == "ready" and i.scored == PEOPLE, "scored")
        assert (info.version, info.alias) == ("2", "challenger")
        score = running.engagement.ScoreCandidate(
            pb.ScoreCandidateRequest(candidate_id=seeded["ids"][0]), timeout=5
        )
        assert score.model_version == "2"
        assert not running.info().HasField("bands_as_of")
        with db.read() as s:
            assert {c.engagement_band for c in _all_candidates(s)} == {""}
    finally:
        running.stop()
