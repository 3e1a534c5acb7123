"""PrivacyService over a real in-process server and through the `rapport privacy` CLI:
consent and channel preferences (an opt-out reaches NextBestContent and ranking), export,
erase, retention on request (dry and real) and on its schedule."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from auth_helpers import open_channel
from sqlalchemy import select, update
from typer.testing import CliRunner

from rapport.cli.main import app
from rapport.core.config import Settings
from rapport.core.domain import CandidateDraft
from rapport.core.store import candidates
from rapport.core.store.schema import CandidateRow
from rapport.v1 import candidates_pb2 as cpb
from rapport.v1 import candidates_pb2_grpc as cpb_grpc
from rapport.v1 import content_pb2 as tpb
from rapport.v1 import content_pb2_grpc as tpb_grpc
from rapport.v1 import privacy_pb2 as pb
from rapport.v1 import privacy_pb2_grpc as pb_grpc


@pytest.fixture
def settings(settings):
    # the scheduled retention run, often enough to see in a test
    return Settings(**settings.model_dump() | {"retention_interval_s": 0.5})


@pytest.fixture
def stubs(channel):
    return cpb_grpc.CandidateServiceStub(channel), pb_grpc.PrivacyServiceStub(channel)


@pytest.fixture
def rapport(server, admin_key, monkeypatch):
    monkeypatch.setenv("RAPPORT_API_KEY", admin_key)
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, ["--server", server, *args])
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


def add(store, first: str) -> str:
    c = cpb.Candidate(first_name=first, last_name="Tester", emails=[f"{first}@example.com"])
    return store.CreateCandidate(cpb.CreateCandidateRequest(candidate=c)).id


def test_consent_and_preferences(stubs, channel):
    store, privacy = stubs
    cid = add(store, "ana")
    got = privacy.GetConsent(pb.GetConsentRequest(candidate_id=cid))
    assert got.state == "unknown" and not got.may_contact and "no consent" in got.reason
    granted = privacy.SetConsent(
        pb.SetConsentRequest(
            candidate_id=cid,
            state="granted",
            source="web form",
            preferences=[pb.ChannelPreference(channel="email", allowed=True, topics=["Jobs"])],
        )
    )
    assert granted.may_contact and granted.history[0].basis == "consent"
    assert [(p.channel, list(p.topics)) for p in granted.preferences] == [("email", ["jobs"])]
    out = privacy.SetConsent(
        pb.SetConsentRequest(
            candidate_id=cid, preferences=[pb.ChannelPreference(channel="sms", allowed=False)]
        )
    )
    assert out.state == "opted_out" and not out.may_contact
    assert [e.state for e in out.history] == ["granted", "opted_out"]
    assert store.GetCandidate(cpb.GetCandidateRequest(id=cid)).consent_state == "opted_out"
    # NextBestContent reads the same rule: a refused channel stops every channel at once
    content = tpb_grpc.ContentServiceStub(channel)
    decision = content.NextBestContent(
        tpb.NextBestContentRequest(
            candidate_id=cid, context=tpb.ContentContext(channel="email"), dry_run=True
        )
    )
    assert not decision.send and decision.no_send == tpb.NO_SEND_REASON_OPTED_OUT
    with pytest.raises(grpc.RpcError) as err:
        privacy.SetConsent(pb.SetConsentRequest(candidate_id=cid, state="maybe"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as err:
        privacy.GetConsent(pb.GetConsentRequest(candidate_id="nobody"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_cli_export_consent_and_erase(rapport, stubs, tmp_path):
    store, _ = stubs
    cid = add(store, "cli")
    out = json.loads(
        rapport("--json", "privacy", "consent", "set", cid, "--state", "legitimate_interest").stdout
    )
    assert out["state"] == "legitimate_interest" and out["may_contact"]
    document = json.loads(rapport("privacy", "export", cid).stdout)
    assert document["candidate"]["emails"] == ["cli@example.com"]
    assert document["consent"]["state"] == "legitimate_interest"
    path = tmp_path / "dsr.json"
    rapport("privacy", "export", cid, "--output", str(path))
    assert json.loads(path.read_text())["candidate"]["id"] == cid
    shown = rapport("privacy", "consent", "get", cid).stdout
    assert "legitimate_interest" in shown and "History" in shown
    assert "would anonymise" in rapport("privacy", "retention", "run", "--dry-run").stdout
    other = add(store, "other")
    assert f"Erased {other}" in rapport("privacy", "erase", other).stdout
    erased = json.loads(rapport("--json", "privacy", "erase", cid, "--reason", "DSR-7").stdout)
    assert erased["erased_ids"] == [cid]
    result = rapport("privacy", "export", cid, code=1)
    assert result.stderr.startswith("NOT_FOUND")
    result = rapport("privacy", "erase", cid, code=1)
    assert result.stderr.startswith("NOT_FOUND")


def _old(db, first: str, days: int) -> str:
    with db.transaction() as s:
        c = candidates.create(
            s, CandidateDraft(first_name=first, emails=[f"{first}@example.com"], country="DE")
        )
        old = datetime.now(UTC) - timedelta(days=days)
        s.execute(
            update(CandidateRow)
            .where(CandidateRow.pk == c.pk)
            .values(updated_at=old, created_at=old)
        )
    return c.id


def test_retention_dry_run_then_run(rapport, db):
    idle = _old(db, "idle", 1000)
    keep = _old(db, "recent", 30)
    dry = json.loads(rapport("--json", "privacy", "retention", "run", "--dry-run").stdout)
    assert dry["dry_run"] is True
    listed = [c["candidate_id"] for c in dry["candidates"]]
    assert keep not in listed
    # the scheduled run may have anonymised `idle` already; either way it ends anonymised
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rapport("--json", "privacy", "retention", "run")
        with db.read() as s:
            status = s.execute(select(CandidateRow.status).where(CandidateRow.id == idle)).scalar()
        if status == "anonymised":
            break
        time.sleep(0.1)
    assert status == "anonymised"
    with db.read() as s:
        assert s.execute(select(CandidateRow.status).where(CandidateRow.id == keep)).scalar() == (
            "active"
        )


def test_the_scheduled_retention_run_anonymises_idle_records(server, db):
    idle = _old(db, "sleepy", 1000)
    deadline = time.monotonic() + 30
    row = None
    while time.monotonic() < deadline:
        with db.read() as s:
            row = s.execute(select(CandidateRow).where(CandidateRow.id == idle)).scalar_one()
        if row.status == "anonymised":
            break
        time.sleep(0.1)
    assert row.status == "anonymised" and row.first_name == "" and row.emails == []


def test_topic_preferences_narrow_next_best_content(stubs, channel):
    store, privacy = stubs
    content = tpb_grpc.ContentServiceStub(channel)
    items = {}
    for title, topics in (("Python at scale", ["python"]), ("Meetup in Berlin", ["events"])):
        items[title] = content.CreateContent(
            tpb.CreateContentRequest(
                item=tpb.ContentItem(
                    kind=tpb.CONTENT_KIND_ARTICLE,
                    title=title,
                    subject="Hi {{ first_name }}",
                    body="Hello {{ first_name }}",
                    url="https://example.com/" + title.split()[0].lower(),
                    topics=topics,
                )
            )
        )
    deadline = time.monotonic() + 60
    while not all(
        content.GetContent(tpb.GetContentRequest(id=i.id)).embedding_encoder for i in items.values()
    ):
        assert time.monotonic() < deadline, "library never embedded"
        time.sleep(0.05)
    cid = add(store, "topical")
    privacy.SetConsent(
        pb.SetConsentRequest(
            candidate_id=cid,
            state="granted",
            preferences=[pb.ChannelPreference(channel="email", allowed=True, topics=["events"])],
        )
    )
    ctx = tpb.ContentContext(channel="email")
    ctx.send_at.FromDatetime(
        (datetime.now(UTC) + timedelta(days=1)).replace(hour=12, minute=0, microsecond=0)
    )
    for _ in range(5):
        decision = content.NextBestContent(
            tpb.NextBestContentRequest(candidate_id=cid, context=ctx, dry_run=True)
        )
        assert decision.send and decision.item.title == "Meetup in Berlin", decision.reason


def test_audit_query_and_verify_over_grpc(stubs, db, make_key, server):
    store, privacy = stubs
    cid = add(store, "audra")
    store.GetCandidate(cpb.GetCandidateRequest(id=cid))

    found = privacy.QueryAudit(pb.QueryAuditRequest(candidate_id=cid)).entries
    assert [e.action for e in found] == ["candidate.read", "candidate.create"]  # newest first
    assert all(e.key_id and e.row_hash for e in found)
    assert found[0].seq > found[1].seq
    by_prefix = privacy.QueryAudit(pb.QueryAuditRequest(action="candidate.*", limit=1)).entries
    assert len(by_prefix) == 1 and by_prefix[0].action.startswith("candidate.")
    # looking at the log is on the log
    assert privacy.QueryAudit(pb.QueryAuditRequest(action="audit.queried")).entries

    verified = privacy.VerifyAudit(pb.VerifyAuditRequest())
    assert verified.ok and verified.first_bad_seq == 0
    assert verified.rows_checked == verified.head_seq >= 3

    with pytest.raises(grpc.RpcError) as err:
        privacy.QueryAudit(pb.QueryAuditRequest(limit=10_001))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "limit" in err.value.details()

    # a recruiter may not read the audit log, and the refusal is itself audited
    recruiter = make_key("recruiter", label="rita")
    with open_channel(server, recruiter) as ch, pytest.raises(grpc.RpcError) as err:
        pb_grpc.PrivacyServiceStub(ch).QueryAudit(pb.QueryAuditRequest())
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    denied = privacy.QueryAudit(pb.QueryAuditRequest(action="access.denied")).entries
    assert any("QueryAudit" in e.details_json for e in denied)
