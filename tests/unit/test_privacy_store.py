"""The privacy store (issue 7): erasure leaves no row about the person in any table,
tombstones refuse them coming back, consent history and channel preferences, the one
contact rule, retention (dry and real)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from rapport.core.domain import CandidateDraft, ConsentState, SkillClaim
from rapport.core.errors import NotFound, PreconditionFailed, ValidationFailed
from rapport.core.outreach import Sequence, Step
from rapport.core.privacy import (
    ERASED_MESSAGE,
    ChannelPreference,
    RetentionPolicy,
    identity_digest,
    may_contact,
)
from rapport.core.store import (
    candidates,
    demographics,
    feed,
    outreach,
    pools,
    privacy,
    timeline,
    tombstones,
)
from rapport.core.store.schema import (
    AuditRow,
    Base,
    CandidateRow,
    CandidateSkillRow,
    ConsentEventRow,
    ErasureTombstoneRow,
    IdentityRow,
    OutreachEnrolmentRow,
    RetentionRunRow,
    TimelineEventRow,
)

NOW = datetime.now(UTC)


def person(session, first="Ada", **kw):
    base = {
        "first_name": first,
        "last_name": "Lovelace",
        "emails": [f"{first.lower()}@example.com"],
        "phones": ["+442079460958"] if first == "Ada" else [],
        "external_id": f"ext-{first.lower()}",
        "country": "GB",
        "source": "referral",
        "skills": [SkillClaim("python", "Python", evidence=f"{first} wrote Python")],
    }
    return candidates.create(session, CandidateDraft(**(base | kw)))


def rows_about(session, pk: int) -> dict[str, int]:
    """Rows in every table with a candidate_pk column that name this pk."""
    out = {}
    for table in Base.metadata.sorted_tables:
        for name in ("candidate_pk", "survivor_pk", "merged_pk", "pk"):
            if name in table.c and (name != "pk" or table.name == "candidates"):
                n = session.execute(
                    select(func.count()).select_from(table).where(table.c[name] == pk)
                ).scalar()
                if n:
                    out[f"{table.name}.{name}"] = n
    return out


def test_the_contact_rule():
    assert may_contact("granted") == (True, "")
    assert may_contact("legitimate_interest")[0]
    assert not may_contact("unknown")[0]
    assert may_contact("unknown", require_consent=False)[0]
    assert may_contact("opted_out", require_consent=False) == (False, "opted out")
    refused = [ChannelPreference("sms", allowed=False)]
    ok, why = may_contact("granted", refused, "email")
    assert not ok and "sms" in why  # an opt-out from any channel stops all outreach
    topics = [ChannelPreference("email", topics=("events",))]
    assert may_contact("granted", topics, "email", topics=["events", "jobs"])[0]
    assert not may_contact("granted", topics, "email", topics=["jobs"])[0]
    assert may_contact("granted", topics, "sms", topics=["jobs"])[0]


def test_erasure_leaves_nothing_about_the_person(db):
    with db.transaction() as s:
        ada = person(s)
        bob = person(s, "Bob")
        timeline.add(s, ada.id, "note", occurred_at=NOW, payload={"text": "likes Rust"})
        pool = pools.create(s, "Pool")
        pools.add_members(s, pool.id, [ada.id, bob.id])
        demographics.record(s, ada.id, "female", "")
        privacy.set_consent(s, ada.id, ConsentState.GRANTED, source="form")
        privacy.set_consent(
            s, ada.id, None, preferences=[ChannelPreference("email", topics=("jobs",))]
        )
        seq = outreach.create_sequence(
            s, Sequence(name="Hello", steps=(Step(key="one", subject="Hi", body="Hello"),))
        )
        outreach.enrol(s, seq.id, candidate_ids=[ada.id])
    with db.read() as s:
        before = rows_about(s, ada.pk)
    assert {"identities.candidate_pk", "outreach_enrolments.candidate_pk"} <= set(before)

    with db.transaction() as s:
        report = privacy.erase(s, ada.id, reference="DSR-1")
    assert report.erased_ids == (ada.id,) and report.identities == 3
    with db.read() as s:
        assert rows_about(s, ada.pk) == {}
        assert rows_about(s, bob.pk)  # the other person is untouched
        assert len(s.execute(select(ErasureTombstoneRow)).all()) == 3
        # tombstones are keyed hashes of the normalised identities, nothing readable
        key = tombstones.salt(s)
        assert key and identity_digest(key, "email", "ada@example.com") in set(
            s.execute(select(ErasureTombstoneRow.digest)).scalars()
        )
        assert tombstones.erased_keys(s, [("email", "ada@example.com")]) == {
            ("email", "ada@example.com")
        }
        assert tombstones.erased_keys(s, [("email", "bob@example.com")]) == set()
        audit = s.execute(
            select(AuditRow).where(AuditRow.action == "candidate.erased")
        ).scalar_one()
        text = json.dumps(audit.details)
        assert "ada" not in text.lower() and "DSR-1" not in text
        assert feed.read_since(s, 0, 1000)[-1].op == "erased"

    # Coming back is refused, whichever identity they use; others are not affected.
    with db.transaction() as s, pytest.raises(PreconditionFailed, match=ERASED_MESSAGE):
        candidates.create(s, CandidateDraft(first_name="A", phones=["+442079460958"]))
    with db.transaction() as s:
        results = candidates.upsert_batch(
            s,
            [
                CandidateDraft(first_name="Ada", external_id="ext-ada"),
                CandidateDraft(first_name="Cy", emails=["cy@example.com"]),
            ],
        )
    assert [r.outcome for r in results] == ["failed", "created"]
    assert ERASED_MESSAGE in results[0].errors[0].reason
    # An update may not give someone else an erased identity either.
    with db.transaction() as s, pytest.raises(PreconditionFailed):
        changed = bob.draft()
        changed.emails = ["ada@example.com"]
        candidates.update(s, bob.id, changed)
    with db.transaction() as s, pytest.raises(NotFound, match="was erased at"):
        privacy.erase(s, ada.id)  # a retried erasure says what happened


def test_export_holds_everything_and_is_audited(db):
    with db.transaction() as s:
        ada = person(s)
        timeline.add(s, ada.id, "note", occurred_at=NOW, payload={"text": "hello"})
        pool = pools.create(s, "Pool")
        pools.add_members(s, pool.id, [ada.id])
        privacy.set_consent(s, ada.id, ConsentState.LEGITIMATE_INTEREST, source="crm")
    with db.transaction() as s:
        doc = privacy.export(s, ada.id, scores={"model": "m", "model_version": "3"})
        privacy.record_export(s, ada.id, doc)
    parsed = json.loads(privacy.export_json(doc))
    assert parsed["candidate"]["emails"] == ["ada@example.com"]
    assert {i["kind"] for i in parsed["identities"]} == {"email", "phone", "external_id"}
    assert parsed["skills"][0]["skill_id"] == "python"
    assert parsed["timeline"][0]["payload"] == {"text": "hello"}
    assert parsed["pools"][0]["stage"] == "sourced"
    assert parsed["consent"]["history"][0]["basis"] == "legitimate_interest"
    assert parsed["engagement"]["model_version"] == "3"
    assert parsed["demographics"] == {"held": False}
    with db.read() as s:
        assert (
            s.execute(select(func.count()).where(AuditRow.action == "candidate.exported")).scalar()
            == 1
        )


def test_consent_history_and_a_channel_opt_out_stops_everything(db):
    with db.transaction() as s:
        ada = person(s)
        privacy.set_consent(s, ada.id, ConsentState.GRANTED, source="form")
        seq = outreach.create_sequence(
            s, Sequence(name="Hello", steps=(Step(key="one", subject="Hi", body="Hello"),))
        )
        assert outreach.enrol(s, seq.id, candidate_ids=[ada.id]).enrolled
    with db.transaction() as s, pytest.raises(ValidationFailed):
        privacy.set_consent(s, ada.id, ConsentState.GRANTED, basis="legitimate_interest")
    with db.transaction() as s, pytest.raises(ValidationFailed):
        privacy.set_consent(s, ada.id, None, preferences=[ChannelPreference("pigeon")])
    with db.transaction() as s:
        record = privacy.set_consent(
            s, ada.id, None, source="sms reply", preferences=[ChannelPreference("sms", False)]
        )
    assert record.state == ConsentState.OPTED_OUT
    assert [(e.state, e.basis, e.channel) for e in record.history] == [
        (ConsentState.GRANTED, "consent", ""),
        (ConsentState.OPTED_OUT, "", "sms"),
    ]
    assert [(p.channel, p.allowed) for p in record.preferences] == [("sms", False)]
    assert not may_contact(record.state, record.preferences, "email")[0]
    with db.read() as s:
        enrolment = s.execute(select(OutreachEnrolmentRow)).scalar_one()
        assert enrolment.state == "stopped" and enrolment.stop_reason == "unsubscribed"
        assert outreach.why_not_mailable("active", record.state.value, ["ada@example.com"])
        assert feed.read_since(s, 0, 1000)[-1].op == "consent"
        assert s.execute(select(func.count()).select_from(ConsentEventRow)).scalar() == 2
    with db.transaction() as s:  # and no sequence takes them in again
        again = outreach.enrol(s, seq.id, candidate_ids=[ada.id])
    assert not again.enrolled and [k.reason for k in again.skips] == ["no_consent"]


def _age(session, pk: int, days: int) -> None:
    old = NOW - timedelta(days=days)
    session.execute(
        update(CandidateRow).where(CandidateRow.pk == pk).values(updated_at=old, created_at=old)
    )


def test_retention_dry_run_writes_nothing_and_a_run_anonymises(db):
    with db.transaction() as s:
        idle = person(s, "Ida")
        busy = person(s, "Bea")  # recent timeline event
        in_process = person(s, "Ivo")  # interviewing
        fresh = person(s, "Fay")
        for p in (idle, busy, in_process):
            _age(s, p.pk, 900)
        timeline.add(s, idle.id, "note", occurred_at=NOW - timedelta(days=800), payload={"t": 1})
        timeline.add(s, busy.id, "note", occurred_at=NOW - timedelta(days=10))
        pool = pools.create(s, "Hiring")
        pools.add_members(s, pool.id, [in_process.id], stage="interview")
    policy = RetentionPolicy(idle_months=24)
    with db.read() as s:
        head = feed.head(s)
        dry = privacy.run_retention(s, policy, dry_run=True)
    assert [c.candidate_id for c in dry.candidates] == [idle.id] and dry.anonymised == 0
    with db.read() as s:
        assert feed.head(s) == head
        assert s.execute(select(func.count()).select_from(RetentionRunRow)).scalar() == 0
        assert s.get(CandidateRow, idle.pk).first_name == "Ida"

    with db.transaction() as s:
        done = privacy.run_retention(s, policy, dry_run=False)
    assert done.anonymised == 1
    with db.read() as s:
        row = s.get(CandidateRow, idle.pk)
        assert row.status == "anonymised" and row.first_name == "" and row.emails == []
        assert row.external_id == "" and row.country == "GB" and row.source == "referral"
        assert (
            s.execute(select(func.count()).where(IdentityRow.candidate_pk == idle.pk)).scalar() == 0
        )
        skill = s.execute(
            select(CandidateSkillRow).where(CandidateSkillRow.candidate_pk == idle.pk)
        ).scalar_one()
        assert skill.skill_id == "python" and skill.evidence == ""
        event = s.execute(
            select(TimelineEventRow).where(TimelineEventRow.candidate_pk == idle.pk)
        ).scalar_one()
        assert event.kind == "note" and event.payload == {}
        assert feed.read_since(s, head, 100)[-1].op == "anonymised"
        for kept in (busy, in_process, fresh):
            assert s.get(CandidateRow, kept.pk).status == "active"
    with db.read() as s:  # a second run finds nobody
        assert privacy.run_retention(s, policy, dry_run=True).candidates == ()
    # An anonymised record's old identity is free again (it is not an erasure).
    with db.transaction() as s:
        person(s, "Ida")


def test_training_drops_people_erased_while_its_dataset_was_read(db, monkeypatch):
    """Training reads through a filter of erased ids: someone erased after the features
    were read (the job's snapshot predates the erasure) is not in the dataset it returns."""
    from rapport.training import engagement as training

    with db.transaction() as s:
        ada, bob, cy = person(s), person(s, "Bob"), person(s, "Cy")
        for p in (ada, bob, cy):
            _age(s, p.pk, 100)
    real = training.build_feature_sets

    def read_then_erase(session, cutoffs):
        frames = real(session, cutoffs)
        with db.transaction() as s2:
            privacy.erase(s2, ada.id)
            privacy.anonymise(s2, [cy.pk], NOW)
        return frames

    monkeypatch.setattr(training, "build_feature_sets", read_then_erase)
    ds = training.build_dataset(db, [NOW - timedelta(days=40)], timedelta(days=30))
    assert set(ds.X.index) == {bob.pk}
    assert len(ds.y) == len(ds.X) == len(ds.cutoff) == 1
    with db.read() as s:
        assert privacy.no_longer_trainable(s, [ada.pk, bob.pk, cy.pk]) == {ada.pk, cy.pk}


def test_content_forgets_an_erased_persons_cached_vector():
    import numpy as np

    from rapport.services.content.use_cases import ContentUseCases, _Lru

    holder = ContentUseCases.__new__(ContentUseCases)  # only the cache is exercised
    holder._people = _Lru(10)
    holder._people.put(("ada", 1, "fake"), np.ones(2))
    holder._people.put(("ada", 2, "fake"), np.ones(2))
    holder._people.put(("bob", 1, "fake"), np.ones(2))
    holder.forget(["ada"])
    assert holder._people.get(("ada", 1, "fake")) is None
    assert holder._people.get(("ada", 2, "fake")) is None
    assert holder._people.get(("bob", 1, "fake")) is not None
