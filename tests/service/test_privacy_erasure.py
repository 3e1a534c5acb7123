"""Erasure end to end (issue 7): over a real in-process server with every service, an erased
candidate is gone from ranking, scoring, content recommendation, export and the next
training dataset, a re-import of the same CSV row (or a create) is refused, and every
running service has forgotten them within a minute (measured: until the index drops them).
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import func, select

from rapport.core.config import Settings
from rapport.core.privacy import ERASED_MESSAGE
from rapport.core.store import feed
from rapport.core.store.schema import (
    AuditRow,
    CandidateRow,
    ErasureTombstoneRow,
    IdentityRow,
    TimelineEventRow,
)
from rapport.models.engagement.features import FEATURE_SPEC, build_feature_sets
from rapport.models.vector_index import MANIFEST
from rapport.v1 import candidates_pb2 as cpb
from rapport.v1 import candidates_pb2_grpc as cpb_grpc
from rapport.v1 import common_pb2
from rapport.v1 import content_pb2 as tpb
from rapport.v1 import content_pb2_grpc as tpb_grpc
from rapport.v1 import engagement_pb2 as epb
from rapport.v1 import engagement_pb2_grpc as epb_grpc
from rapport.v1 import matching_pb2 as mpb
from rapport.v1 import matching_pb2_grpc as mpb_grpc
from rapport.v1 import privacy_pb2 as pb
from rapport.v1 import privacy_pb2_grpc as pb_grpc

WAIT_S = 60.0
ERASED_WITHIN_S = 60.0  # the bar: complete within one minute across services

CSV = (
    "external_id,first_name,last_name,email,phone,headline,country,timezone,languages,skills,"
    "source,linkedin\n"
    "ats-1,Ana,Erasable,ana.erasable@example.com,+49 30 1234567,Senior Backend Engineer,DE,"
    "Europe/Berlin,en,Python;Kubernetes;PostgreSQL,referral,https://linkedin.com/in/ana-erasable\n"
    "ats-2,Ben,Keeper,ben.keeper@example.com,,Backend Developer,DE,Europe/Berlin,en,"
    "Python;Django;PostgreSQL,referral,\n"
    "ats-3,Cai,Keeper,cai.keeper@example.com,,Platform Engineer,DE,Europe/Berlin,en,"
    "Go;Kubernetes;Terraform,linkedin,\n"
)
ANA_ROW = CSV.splitlines()[0] + "\n" + CSV.splitlines()[1] + "\n"

ROLE = mpb.Role(
    title="Senior Backend Engineer",
    description="Build Python services on Kubernetes with PostgreSQL.",
    required_skills=["Python", "Kubernetes", "PostgreSQL"],
    countries=["DE"],
    languages=["en"],
)


@pytest.fixture(scope="module")
def registry_home(tmp_path_factory, tiny_scorer):
    """An MLflow store whose champion is a tiny but real engagement model."""
    import pandas as pd

    from rapport.models.engagement.registry import MODEL_NAME, Registry

    home = tmp_path_factory.mktemp("privacy-mlflow")
    registry = Registry(Settings(home=home))
    scorer = tiny_scorer(1)
    with registry.start_run(run_name="privacy-test"):
        uri = registry.log_model(scorer, pd.DataFrame([scorer.reference] * 3))
    registry.register(uri, FEATURE_SPEC)
    registry.set_alias(MODEL_NAME, "champion", "1")
    return home


@pytest.fixture(autouse=True)
def _mlflow_gives_up_fast(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")


@pytest.fixture
def settings(settings, registry_home):
    """Every service with an engagement champion, followers on their default intervals
    except the engagement registry poll (shortened so the test need not wait 30 s)."""
    values = settings.model_dump() | {
        "engagement_poll_interval_s": 0.2,
        "engagement_registry_timeout_s": 2.0,
        "index_follow_interval_s": 0.25,  # the production default, not the tests' 0.05
        "content_require_consent": True,
        "content_quiet_hours": "",
    }
    out = Settings(**values)
    out.home.mkdir(parents=True, exist_ok=True)
    shutil.copy(registry_home / "mlflow.db", out.home / "mlflow.db")
    return out


@pytest.fixture
def privacy_elsewhere(settings, admin_key):
    """PrivacyService in a server of its own (as in a deployment with one service per
    process): an erasure through it reaches the other services only through the store and
    the change feed, not through in-process hooks."""
    from auth_helpers import open_channel

    from rapport.services.app import start
    from rapport.services.common.server import graceful_stop

    srv, port, health, database, specs = start(settings, services="privacy", port=0)
    with open_channel(f"127.0.0.1:{port}", admin_key) as ch:
        yield pb_grpc.PrivacyServiceStub(ch)
    graceful_stop(srv, health, 1.0)
    for spec in specs:
        if spec.on_shutdown:
            spec.on_shutdown()
    database.close()


@pytest.fixture
def stubs(channel):
    class Stubs:
        candidates = cpb_grpc.CandidateServiceStub(channel)
        matching = mpb_grpc.MatchingServiceStub(channel)
        engagement = epb_grpc.EngagementServiceStub(channel)
        content = tpb_grpc.ContentServiceStub(channel)
        privacy = pb_grpc.PrivacyServiceStub(channel)

    return Stubs


def csv_import(stub, text: str) -> cpb.ImportCandidatesResponse:
    data = text.encode()

    def requests():
        yield cpb.ImportCandidatesRequest(
            header=cpb.ImportHeader(format=cpb.IMPORT_FORMAT_CSV, file_name="people.csv")
        )
        yield cpb.ImportCandidatesRequest(chunk=data)

    return stub.ImportCandidates(requests(), timeout=60)


def eventually(check, what: str, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except grpc.RpcError as err:
            result, last = None, err
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"not {what} within {timeout}s (last error: {last})")


def code_of(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code(), err.value.details()


NOT_FOUND = grpc.StatusCode.NOT_FOUND


def status(call) -> grpc.StatusCode | None:
    """The status code `call` fails with, or None when it succeeds."""
    try:
        call()
    except grpc.RpcError as err:
        return err.code()
    return None


def ranked(stubs) -> list[str]:
    res = stubs.matching.RankCandidates(mpb.RankCandidatesRequest(role=ROLE, top_k=10), timeout=30)
    return [r.candidate_id for r in res.results]


def daytime() -> datetime:
    return (datetime.now(UTC) + timedelta(days=1)).replace(hour=12, minute=0, microsecond=0)


def test_an_erased_person_is_gone_everywhere_and_cannot_come_back(
    stubs, db, settings, privacy_elsewhere
):
    imported = csv_import(stubs.candidates, CSV)
    assert imported.summary.created == 3, imported
    with db.read() as s:
        rows = dict(s.execute(select(CandidateRow.external_id, CandidateRow.id)).all())
        pks = dict(s.execute(select(CandidateRow.external_id, CandidateRow.pk)).all())
    ana, ben = rows["ats-1"], rows["ats-2"]

    # A history, consent, a pool, a content decision: everything an erasure must take away.
    event = cpb.TimelineEvent(candidate_id=ana, kind="note", channel="in_person")
    event.occurred_at.FromDatetime(datetime.now(UTC) - timedelta(days=1))
    event.payload.update({"text": "met at a meetup"})
    stubs.candidates.AddTimelineEvent(cpb.AddTimelineEventRequest(event=event), timeout=10)
    consent = stubs.privacy.SetConsent(
        pb.SetConsentRequest(candidate_id=ana, state="granted", source="web form"), timeout=10
    )
    assert consent.state == "granted" and consent.may_contact
    pool = stubs.candidates.CreatePool(
        cpb.CreatePoolRequest(pool=cpb.Pool(name="Backend")), timeout=10
    )
    stubs.candidates.AddToPool(
        cpb.AddToPoolRequest(pool_id=pool.id, candidate_ids=[ana, ben]), timeout=10
    )
    item = stubs.content.CreateContent(
        tpb.CreateContentRequest(
            item=tpb.ContentItem(
                kind=tpb.CONTENT_KIND_ARTICLE,
                title="Python at scale",
                subject="Hi {{ first_name }}",
                body="Hello {{ first_name }}",
                url="https://example.com/python",
                topics=["Python"],
            )
        ),
        timeout=10,
    )
    eventually(
        lambda: stubs.content.GetContent(tpb.GetContentRequest(id=item.id)).embedding_encoder,
        "content embedded",
    )
    ts = tpb.ContentContext(channel="email")
    ts.send_at.FromDatetime(daytime())
    decision = stubs.content.NextBestContent(
        tpb.NextBestContentRequest(candidate_id=ana, context=ts), timeout=30
    )
    assert decision.send, decision.reason

    # Before: ranked, scored, exported.
    assert eventually(lambda: ana in ranked(stubs), "ranked")
    score = eventually(
        lambda: stubs.engagement.ScoreCandidate(
            epb.ScoreCandidateRequest(candidate_id=ana), timeout=10
        ),
        "scored",
    )
    assert 0.0 <= score.probability <= 1.0
    document = json.loads(
        stubs.privacy.ExportCandidate(pb.ExportCandidateRequest(candidate_id=ana)).document
    )
    assert document["candidate"]["emails"] == ["ana.erasable@example.com"]
    assert [p["pool"] for p in document["pools"]] == ["Backend"]
    assert document["consent"]["history"][0]["state"] == "granted"
    assert len(document["content_decisions"]) == 1
    assert document["engagement"]["model_version"] == "1"

    # Erase (through the other server), and time how long until every running service
    # has forgotten her: ranking (matching index) and scoring (engagement scores).
    started = time.monotonic()
    erased = privacy_elsewhere.EraseCandidate(
        pb.EraseCandidateRequest(candidate_id=ana, reason="ticket DSR-42"), timeout=60
    )
    assert list(erased.erased_ids) == [ana]
    assert erased.identities_tombstoned == 4  # email, phone, profile URL, external id
    assert erased.rows_deleted["candidates"] == 1
    score_ana = lambda: stubs.engagement.ScoreCandidate(  # noqa: E731
        epb.ScoreCandidateRequest(candidate_id=ana), timeout=10
    )
    eventually(
        lambda: ana not in ranked(stubs) and status(score_ana) == NOT_FOUND,
        "forgotten by ranking and scoring",
        ERASED_WITHIN_S,
    )
    # ... and the index snapshot on disk is rewritten without her (not at the next interval)
    with db.read() as s:
        erased_seq = max(e.seq for e in feed.read_since(s, 0, 100_000) if e.candidate_id == ana)
    manifest = settings.effective_index_dir / MANIFEST
    eventually(
        lambda: json.loads(manifest.read_text())["seq"] >= erased_seq,
        "index snapshot rewritten",
        ERASED_WITHIN_S - (time.monotonic() - started),
    )
    took = time.monotonic() - started
    assert took < ERASED_WITHIN_S
    print(f"erasure complete across services in {took:.2f}s")
    assert ben in ranked(stubs)

    next_best = tpb.NextBestContentRequest(candidate_id=ana, context=ts)
    assert status(lambda: stubs.content.NextBestContent(next_best)) == NOT_FOUND
    export_ana = pb.ExportCandidateRequest(candidate_id=ana)
    assert status(lambda: stubs.privacy.ExportCandidate(export_ana)) == NOT_FOUND
    assert status(lambda: stubs.candidates.GetCandidate(cpb.GetCandidateRequest(id=ana))) == (
        NOT_FOUND
    )
    erase_ana = pb.EraseCandidateRequest(candidate_id=ana)
    assert status(lambda: stubs.privacy.EraseCandidate(erase_ana)) == NOT_FOUND

    # The next training dataset does not hold her.
    with db.read() as s:
        (frame,) = build_feature_sets(s, [datetime.now(UTC)])
    assert pks["ats-1"] not in set(frame.index) and pks["ats-2"] in set(frame.index)

    # Nothing of her is left in the store but the tombstones (hashes) and audit ids.
    with db.read() as s:
        assert (
            s.execute(select(func.count()).where(IdentityRow.candidate_pk == pks["ats-1"])).scalar()
            == 0
        )
        assert (
            s.execute(
                select(func.count()).where(TimelineEventRow.candidate_pk == pks["ats-1"])
            ).scalar()
            == 0
        )
        digests = list(s.execute(select(ErasureTombstoneRow.digest)).scalars())
        assert len(digests) == 4 and not any("ana" in d for d in digests)
        audit = s.execute(
            select(AuditRow).where(AuditRow.action == "candidate.erased")
        ).scalar_one()
        assert audit.target_id == ana
        assert "ana" not in json.dumps(audit.details).lower()
        assert "DSR-42" not in json.dumps(audit.details)
        ops = [e.op for e in feed.read_since(s, 0, 10_000) if e.candidate_id == ana]
        assert ops[-1] == "erased"

    # A re-import of the same CSV row is refused, per record, with the reason.
    again = csv_import(stubs.candidates, ANA_ROW)
    assert again.summary.failed == 1 and again.summary.created == 0
    (failure,) = again.results
    assert any(ERASED_MESSAGE in e.reason for e in failure.errors), failure
    # So is the same person under one identity only (here: the email).
    code, message = code_of(
        lambda: stubs.candidates.CreateCandidate(
            cpb.CreateCandidateRequest(
                candidate=cpb.Candidate(
                    first_name="A.",
                    emails=["Ana.Erasable@Example.com"],
                    location=common_pb2.Location(country="DE"),
                )
            )
        )
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION and ERASED_MESSAGE in message
    # Other people import as before.
    other = csv_import(
        stubs.candidates,
        CSV.splitlines()[0] + "\nats-9,Dan,New,dan.new@example.com,,Engineer,DE,,en,Python,,\n",
    )
    assert other.summary.created == 1


def test_erasing_a_survivor_erases_the_records_merged_into_it(stubs, db):
    a = stubs.candidates.CreateCandidate(
        cpb.CreateCandidateRequest(
            candidate=cpb.Candidate(first_name="Eve", emails=["eve@example.com"])
        )
    ).id
    b = stubs.candidates.CreateCandidate(
        cpb.CreateCandidateRequest(
            candidate=cpb.Candidate(first_name="Eve", emails=["eve.work@example.com"])
        )
    ).id
    stubs.candidates.MergeCandidates(cpb.MergeCandidatesRequest(survivor_id=a, merged_id=b))
    code, message = code_of(
        lambda: stubs.privacy.EraseCandidate(pb.EraseCandidateRequest(candidate_id=b))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION and a in message
    erased = stubs.privacy.EraseCandidate(pb.EraseCandidateRequest(candidate_id=a))
    assert set(erased.erased_ids) == {a, b}
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(CandidateRow)).scalar() == 0
    for email in ("eve@example.com", "eve.work@example.com"):
        code, _ = code_of(
            lambda email=email: stubs.candidates.CreateCandidate(
                cpb.CreateCandidateRequest(candidate=cpb.Candidate(first_name="E", emails=[email]))
            )
        )
        assert code == grpc.StatusCode.FAILED_PRECONDITION


def test_unknown_and_bad_requests(stubs):
    erase, export = stubs.privacy.EraseCandidate, stubs.privacy.ExportCandidate
    assert status(lambda: erase(pb.EraseCandidateRequest(candidate_id="nope"))) == NOT_FOUND
    assert status(lambda: erase(pb.EraseCandidateRequest())) == grpc.StatusCode.INVALID_ARGUMENT
    long_reason = pb.EraseCandidateRequest(candidate_id="x", reason="r" * 301)
    assert status(lambda: erase(long_reason)) == grpc.StatusCode.INVALID_ARGUMENT
    nobody = pb.ExportCandidateRequest(candidate_id="00000000-0000-0000-0000-000000000000")
    assert status(lambda: export(nobody)) == NOT_FOUND
