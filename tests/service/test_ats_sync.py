"""ATS two-way sync end to end (issue 9), against the fake ATS on localhost.

Done when: a rejected applicant in the fake ATS is back in a nurture pool within seconds;
a submission from the CRM appears in the fake ATS once, even when retried.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import grpc
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from rapport.core.ats import EVENT_DUPLICATE, EVENT_REFUSED
from rapport.core.domain import CandidateDraft
from rapport.core.store import candidates, pools, privacy, timeline
from rapport.core.store.schema import AtsReceiptRow, CandidateRow
from rapport.services.ats.fake_server import FakeAts
from rapport.services.ats.signatures import rapport_signature, verify_rapport
from rapport.services.ats.use_cases import AtsUseCases, build_adapter
from rapport.services.ats.webhooks import build_app
from rapport.services.common.http_thread import ServerThread
from rapport.v1 import ats_pb2 as pb
from rapport.v1 import ats_pb2_grpc as pb_grpc

GENERIC_SECRET = "generic-secret"
DEADLINE_S = 30.0  # generous: the done-when says "within seconds"


def wait_until(check, deadline_s: float = DEADLINE_S, what: str = "condition"):
    """Polls `check` until it returns something truthy, or fails after the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def fake():
    ats = FakeAts()
    server = ats.serve()
    ats_url = server.url
    yield ats, ats_url
    server.stop()


@pytest.fixture
def ats_settings(settings, fake):
    ats, url = fake
    return settings.model_copy(
        update={
            "ats_base_url": url,
            "ats_api_key": SecretStr(ats.api_key),
            "ats_on_behalf_of": "42",
            "ats_webhook_secret": SecretStr(ats.webhook_secret),
            "ats_generic_webhook_secret": SecretStr(GENERIC_SECRET),
            "ats_retry_base_s": 0.05,
            "ats_retry_max_s": 0.2,
            "ats_poll_interval_s": 0.1,
            "ats_max_attempts": 6,
            "ats_request_timeout_s": 5.0,
        }
    )


@pytest.fixture
def hooks(ats_settings, db, fake):
    """The web hook endpoint (as `rapport ats webhooks` serves it), with the fake ATS
    sending its web hooks there."""
    ats, _ = fake
    use_cases = AtsUseCases(db, ats_settings, build_adapter(ats_settings))
    server = ServerThread(build_app(use_cases)).start()
    ats.webhook_url = f"{server.url}/hooks/ats/greenhouse"
    yield use_cases
    server.stop()
    use_cases.close()


def _person_pk(db, email: str) -> int | None:
    with db.read() as s:
        return candidates.identity_owners(s, [("email", email)]).get(("email", email))


def _candidate_id(db, email: str) -> str | None:
    pk = _person_pk(db, email)
    if pk is None:
        return None
    with db.read() as s:
        return s.get(CandidateRow, pk).id


def _stage_in(db, pool_name: str, candidate_id: str) -> str | None:
    with db.read() as s:
        pool = next((p for p in pools.list_all(s) if p.name == pool_name), None)
        if pool is None:
            return None
        members = pools.list_members(s, pool.id, 1000, "").items
    return next((m.stage for m in members if m.candidate.id == candidate_id), None)


def _kinds(db, candidate_id: str) -> list[str]:
    with db.read() as s:
        return [e.kind for e in reversed(timeline.list_page(s, candidate_id, 200, "").items)]


# ---------------------------------------------------------------- inbound: Greenhouse


def test_applied_and_stage_changes_land_on_timeline_and_job_pool(db, fake, hooks):
    ats, _ = fake
    job = ats.add_job("Platform engineer")
    _, application = ats.apply("Ada", "Lovelace", "ada@example.com", job)
    assert ats.deliveries == [("new_candidate_application", 200)]
    cid = _candidate_id(db, "ada@example.com")
    assert cid, "the applicant was created in the CRM"
    with db.read() as s:
        person = candidates.get(s, cid)
    assert (person.first_name, person.source) == ("Ada", "ats")
    assert _stage_in(db, "Platform engineer", cid) == "applied"
    ats.move(application, "Phone Screen")
    assert _stage_in(db, "Platform engineer", cid) == "phone_screen"
    ats.move(application, "Face to Face")
    assert _stage_in(db, "Platform engineer", cid) == "face_to_face"
    kinds = _kinds(db, cid)
    assert kinds.count("applied") == 1 and kinds.count("stage_changed") >= 3
    with db.read() as s:
        pool = next(p for p in pools.list_all(s) if p.name == "Platform engineer")
    assert pool.stages == ("applied", "phone_screen", "face_to_face", "hired", "rejected")


def test_rejected_applicant_is_back_in_the_nurture_pool_within_seconds(db, fake, hooks):
    ats, _ = fake
    job = ats.add_job("Data scientist")
    _, application = ats.apply("Grace", "Hopper", "grace@example.com", job)
    cid = _candidate_id(db, "grace@example.com")
    ats.reject(application, "Hired someone else")
    wait_until(lambda: _stage_in(db, "Nurture", cid), what="the nurture pool")
    assert _stage_in(db, "Data scientist", cid) == "rejected"
    with db.read() as s:
        events = timeline.list_page(s, cid, 50, "", kinds=["rejected"]).items
    assert [e.payload["reason"] for e in events] == ["Hired someone else"]
    assert events[0].channel == "ats"


def test_an_existing_candidate_is_found_by_email_not_duplicated(db, fake, hooks):
    ats, _ = fake
    with db.transaction() as s:
        known = candidates.create(
            s, CandidateDraft(first_name="Lin", emails=["lin@example.com"], source="referral")
        )
    ats.apply("Lin", "Chen", "LIN@example.com", ats.add_job("Analyst"))
    assert _candidate_id(db, "lin@example.com") == known.id
    assert "applied" in _kinds(db, known.id)
    with db.read() as s:
        assert candidates.get(s, known.id).source == "referral"


def test_an_erased_person_is_never_recreated(db, fake, hooks):
    ats, _ = fake
    job = ats.add_job("Designer")
    _, application = ats.apply("Mary", "Shelley", "mary@example.com", job)
    cid = _candidate_id(db, "mary@example.com")
    with db.transaction() as s:
        privacy.erase(s, cid, reference="ticket-1", configured_salt="")
    ats.move(application, "Phone Screen")
    ats.reject(application)
    assert ats.deliveries[-1] == ("reject_candidate_application", 200)
    assert _person_pk(db, "mary@example.com") is None
    with db.read() as s:
        outcomes = [r.outcome for r in s.query(AtsReceiptRow).all()]
        assert not any(p.name == "Nurture" for p in pools.list_all(s))
    # the stage change's receipt, and the rejection's (its delivery and its meaning)
    assert outcomes.count(EVENT_REFUSED) == 3


# ---------------------------------------------------------------- inbound: generic + HTTP


def _generic_body(event_id: str = "evt-1", kind: str = "stage_changed", **application) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "type": kind,
            "candidate": {"id": "g-7", "first_name": "Alan", "emails": ["alan@example.com"]},
            "application": {"id": "ga-1", "job_id": "j-1", "job_name": "Compilers"} | application,
        }
    ).encode()


def _signed(body: bytes, secret: str = GENERIC_SECRET, at: float | None = None) -> dict:
    return {"X-Rapport-Signature": rapport_signature(secret, body, at)}


def test_generic_webhook_refuses_forged_unsigned_stale_and_dedupes_replays(db, hooks):
    client = TestClient(build_app(hooks))
    url = "/hooks/ats/generic"
    body = _generic_body(stage="Onsite")
    refused = [
        client.post(url, content=body),  # unsigned
        client.post(url, content=body, headers=_signed(body, "forged")),
        client.post(url, content=body, headers=_signed(body, at=time.time() - 3600)),  # stale
        client.post(url, content=body + b" ", headers=_signed(body)),  # tampered
    ]
    assert [r.status_code for r in refused] == [401, 401, 401, 401]
    with db.read() as s:
        assert s.query(AtsReceiptRow).count() == 0
        assert s.query(CandidateRow).count() == 0
    malformed = b'{"id": "x"'
    assert client.post(url, content=malformed, headers=_signed(malformed)).status_code == 400
    ok = client.post(url, content=body, headers=_signed(body))
    assert ok.status_code == 200, ok.text
    cid = ok.json()["events"][0]["candidate_id"]
    assert _stage_in(db, "Compilers", cid) == "onsite"
    replay = client.post(url, content=body, headers=_signed(body))  # same event id
    assert replay.json()["events"][0]["outcome"] == EVENT_DUPLICATE
    assert _kinds(db, cid).count("stage_changed") == 1
    assert client.post("/hooks/ats/unknown", content=body, headers=_signed(body)).status_code == 404


def test_greenhouse_endpoint_refuses_forged_deliveries(db, hooks):
    client = TestClient(build_app(hooks))
    body = json.dumps({"action": "candidate_stage_change", "payload": {}}).encode()
    for headers in ({}, {"Signature": "sha256 " + "0" * 64}, {"Signature": "md5 abc"}):
        assert (
            client.post("/hooks/ats/greenhouse", content=body, headers=headers).status_code == 401
        )
    with db.read() as s:
        assert s.query(AtsReceiptRow).count() == 0


def test_concurrent_duplicates_apply_once(db, hooks):
    body = _generic_body("evt-race", "rejected", reason="Timing")
    outcomes: list[str] = []

    def deliver():
        outcomes.extend(o.outcome for o in hooks.receive_webhook("generic", _signed(body), body))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["applied"] + [EVENT_DUPLICATE] * 3
    cid = _candidate_id(db, "alan@example.com")
    assert _kinds(db, cid).count("rejected") == 1


# ---------------------------------------------------------------- outbound: AtsService


@pytest.fixture
def hook_sink():
    """A web hook subscriber: records what the CRM POSTs to it."""
    received: list[tuple[dict, bytes]] = []

    async def receive(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        return Response(status_code=204)

    server = ServerThread(Starlette(routes=[Route("/in", receive, methods=["POST"])])).start()
    yield f"{server.url}/in", received
    server.stop()


@pytest.fixture
def ats_address(ats_settings, hook_sink):
    """AtsService (and CandidateService) with the fake ATS configured, auth on."""
    from rapport.services.app import start
    from rapport.services.common.server import graceful_stop

    url, _ = hook_sink
    configured = ats_settings.model_copy(
        update={
            "ats_webhook_out_url": url,
            "ats_webhook_out_secret": SecretStr("out-secret"),
        }
    )
    srv, port, health, database, specs = start(configured, services="candidates,ats", port=0)
    yield f"127.0.0.1:{port}"
    graceful_stop(srv, health, 1.0)
    for spec in specs:
        if spec.on_shutdown:
            spec.on_shutdown()
    database.close()


@pytest.fixture
def ats_server(ats_address, admin_key):
    from auth_helpers import open_channel

    with open_channel(ats_address, admin_key) as ch:
        yield pb_grpc.AtsServiceStub(ch)


def _create(db, email: str = "kat@example.com", **fields) -> str:
    with db.transaction() as s:
        draft = CandidateDraft(
            first_name="Katherine", last_name="Johnson", emails=[email] if email else [], **fields
        )
        return candidates.create(s, draft).id


def _delivered(stub, submission_id: str, status: str = "delivered"):
    def check():
        s = stub.GetSubmission(pb.GetSubmissionRequest(id=submission_id))
        return s if s.status == status else None

    return wait_until(check, what=f"submission {status}")


def test_submission_reaches_the_ats_once_despite_failures_and_retries(
    db, fake, ats_server, hook_sink
):
    ats, _ = fake
    job = ats.add_job("Flight dynamics")
    cid = _create(db)
    ats.faults.fail_next = 2  # two 500s, then the create is done but its answer is lost
    ats.faults.drop_next_creates = 1
    first = ats_server.SubmitCandidate(pb.SubmitCandidateRequest(candidate_id=cid, ats_job_id=job))
    again = ats_server.SubmitCandidate(pb.SubmitCandidateRequest(candidate_id=cid, ats_job_id=job))
    assert again.id == first.id
    done = _delivered(ats_server, first.id)
    assert done.attempts >= 4 and done.last_error == ""
    in_ats = ats.candidates_with_email("kat@example.com")
    assert len(in_ats) == 1, "created exactly once"
    assert len(ats.applications_of(str(in_ats[0]["id"]))) == 1
    assert (done.ats_candidate_id, done.ats) == (str(in_ats[0]["id"]), "greenhouse")
    assert done.ats_application_id == str(ats.applications_of(done.ats_candidate_id)[0]["id"])
    # a third call after delivery: still the same submission, nothing new in the ATS
    third = ats_server.SubmitCandidate(pb.SubmitCandidateRequest(candidate_id=cid, ats_job_id=job))
    assert (third.id, third.status) == (first.id, "delivered")
    time.sleep(0.3)  # a worker pass or two
    assert len(ats.candidates) == 1
    listed = ats_server.ListSubmissions(pb.ListSubmissionsRequest(candidate_id=cid))
    assert [s.id for s in listed.submissions] == [first.id]
    # subscribers heard about it, signed
    _, received = hook_sink
    headers, body = wait_until(lambda: received and received[0], what="the outgoing web hook")
    verify_rapport("out-secret", headers["x-rapport-signature"], body, 300)
    document = json.loads(body)
    assert document["type"] == "submission.created"
    assert document["data"] == {
        "submission_id": first.id,
        "candidate_id": cid,
        "ats": "greenhouse",
        "job_id": job,
    }


def test_a_person_without_email_is_found_by_reference_after_a_lost_answer(db, fake, ats_server):
    ats, _ = fake
    job = ats.add_job("Navigator")
    cid = _create(db, email="", phones=["+14155550100"])
    ats.faults.drop_next_creates = 1
    s = ats_server.SubmitCandidate(
        pb.SubmitCandidateRequest(candidate_id=cid, ats_job_id=job, idempotency_key="k-1")
    )
    _delivered(ats_server, s.id)
    assert len(ats.candidates) == 1
    assert ats.candidates[next(iter(ats.candidates))]["tags"] == [f"rapport:{cid}"]


def test_an_erased_person_submitted_without_email_stays_erased(db, fake, ats_server, hooks):
    """Created here with no email and sent to the ATS, then erased: the ATS's id of them is
    tombstoned, so its later web hooks refuse them instead of creating them anew."""
    ats, _ = fake
    job = ats.add_job("Archivist")
    cid = _create(db, email="", phones=["+14155550101"])
    sent = ats_server.SubmitCandidate(pb.SubmitCandidateRequest(candidate_id=cid, ats_job_id=job))
    done = _delivered(ats_server, sent.id)
    with db.transaction() as s:
        privacy.erase(s, cid, reference="ticket-3", configured_salt="")
    ats.reject(done.ats_application_id)
    assert ats.deliveries[-1] == ("reject_candidate_application", 200)
    with db.read() as s:
        assert s.query(CandidateRow).count() == 0
        rejections = s.query(AtsReceiptRow).filter(AtsReceiptRow.kind == "rejected").all()
        assert rejections and {r.outcome for r in rejections} == {EVENT_REFUSED}


def test_retries_back_off_then_fail_with_the_error(db, fake, ats_server):
    ats, _ = fake
    job = ats.add_job("Computer")
    cid = _create(db)
    ats.faults.fail_next = 1000
    s = ats_server.SubmitCandidate(pb.SubmitCandidateRequest(candidate_id=cid, ats_job_id=job))
    failed = _delivered(ats_server, s.id, "failed")
    assert failed.attempts == 6
    assert "HTTP 500" in failed.last_error
    assert not failed.HasField("next_attempt_at")
    assert ats.candidates == {}


def test_a_job_the_ats_refuses_fails_without_retrying(db, fake, ats_server):
    cid = _create(db)
    s = ats_server.SubmitCandidate(pb.SubmitCandidateRequest(candidate_id=cid, ats_job_id="777"))
    failed = _delivered(ats_server, s.id, "failed")
    assert failed.attempts == 1 and "HTTP 422" in failed.last_error


def test_submission_errors(db, ats_server):
    with pytest.raises(grpc.RpcError) as err:
        ats_server.SubmitCandidate(
            pb.SubmitCandidateRequest(candidate_id=str(uuid.uuid4()), ats_job_id="1")
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        ats_server.SubmitCandidate(pb.SubmitCandidateRequest(candidate_id="", ats_job_id=""))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    cid = _create(db)
    with db.transaction() as s:
        privacy.erase(s, cid, reference="ticket-2", configured_salt="")
    with pytest.raises(grpc.RpcError) as err:
        ats_server.SubmitCandidate(pb.SubmitCandidateRequest(candidate_id=cid, ats_job_id="1"))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "erased" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        ats_server.GetSubmission(pb.GetSubmissionRequest(id=str(uuid.uuid4())))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_sync_now_catches_up_on_missed_web_hooks(db, fake, ats_server):
    ats, _ = fake  # no web hook URL: every change is missed
    job = ats.add_job("Mathematician")
    _, rejected = ats.apply("Dorothy", "Vaughan", "dorothy@example.com", job)
    _, moved = ats.apply("Mary", "Jackson", "mjackson@example.com", job)
    ats.move(moved, "Phone Screen")
    ats.reject(rejected, "Position filled")
    report = ats_server.SyncNow(pb.SyncNowRequest())
    assert report.applications == 2 and report.events_applied == 4  # 2 applied + 2 states
    dorothy, mary = (_candidate_id(db, e) for e in ("dorothy@example.com", "mjackson@example.com"))
    assert (
        _stage_in(db, "Nurture", dorothy) and _stage_in(db, "Mathematician", dorothy) == "rejected"
    )
    assert _stage_in(db, "Mathematician", mary) == "phone_screen"
    again = ats_server.SyncNow(pb.SyncNowRequest())
    assert again.events_applied == 0 and again.events_duplicate == again.applications * 2
    assert _kinds(db, dorothy).count("rejected") == 1


def test_no_ats_configured(db, settings):
    use_cases = AtsUseCases(db, settings, build_adapter(settings))
    use_cases.start()  # nothing to deliver to: no thread
    from rapport.core.errors import PreconditionFailed

    with pytest.raises(PreconditionFailed, match="no ATS is configured"):
        use_cases.submit(_create(db), "1")
    use_cases.close()


def test_cli_verbs(db, fake, ats_address, admin_key, monkeypatch):
    from typer.testing import CliRunner

    from rapport.cli.main import app

    monkeypatch.setenv("RAPPORT_API_KEY", admin_key)
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, ["--server", ats_address, *args])
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    ats, _ = fake
    job = ats.add_job("Writer")
    cid = _create(db)
    submitted = json.loads(run("--json", "ats", "submit", cid, job).stdout)
    assert submitted["candidate_id"] == cid and submitted["status"] in ("pending", "delivered")
    assert json.loads(run("--json", "ats", "submit", cid, job).stdout)["id"] == submitted["id"]
    listed = json.loads(run("--json", "ats", "submissions", "--candidate", cid).stdout)
    assert [s["id"] for s in listed["submissions"]] == [submitted["id"]]
    assert "ATS submissions" in run("ats", "submissions").stdout
    synced = json.loads(run("--json", "ats", "sync").stdout)
    assert synced.get("applications", 0) >= 0
    missing = run("ats", "submit", str(uuid.uuid4()), job, code=1)
    assert "NOT_FOUND" in missing.stderr
