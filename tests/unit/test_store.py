"""Store behaviour below the gRPC layer: upsert semantics, merges, duplicates, rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from rapport.core import ids
from rapport.core.domain import CandidateDraft, Condition, Rule, Seniority, SkillClaim
from rapport.core.errors import ValidationFailed
from rapport.core.store import bulk, candidates, duplicates, merges, paging, rules
from rapport.core.store.schema import (
    AuditRow,
    CandidateRow,
    ChangeFeedRow,
    ImportFingerprintRow,
)


def draft(**kw) -> CandidateDraft:
    base = {"first_name": "Ada", "last_name": "Lovelace", "emails": ["ada@example.com"]}
    return CandidateDraft(**(base | kw))


def test_upsert_batch_creates_updates_and_folds(db):
    with db.transaction() as s:
        out = candidates.upsert_batch(
            s,
            [
                draft(),
                draft(emails=["bob@example.com"], first_name="Bob"),
                draft(headline="Engineer"),
            ],
        )
    assert [r.outcome for r in out] == ["created", "created", "updated"]
    assert out[0].candidate_id == out[2].candidate_id
    with db.transaction() as s:
        again = candidates.upsert_batch(s, [draft(headline="Engineer")])
        assert again[0].outcome == "unchanged"
        c = candidates.get(s, out[0].candidate_id)
    assert c.headline == "Engineer" and c.version == 1


def test_upsert_never_erases_and_unions_lists(db):
    with db.transaction() as s:
        (first,) = candidates.upsert_batch(
            s, [draft(summary="Kept", skills=[SkillClaim("python", "Python", 3)], tags=["a"])]
        )
        (second,) = candidates.upsert_batch(
            s,
            [
                draft(
                    skills=[SkillClaim("sql", "SQL", 2), SkillClaim("python", "Python", 5)],
                    tags=["b"],
                )
            ],
        )
        c = candidates.get(s, first.candidate_id)
    assert second.outcome == "updated"
    assert c.summary == "Kept" and c.tags == ["a", "b"]
    assert {sk.skill_id: sk.level for sk in c.skills} == {"python": 5, "sql": 2}
    assert c.version == 2


def test_upsert_refuses_a_record_spanning_two_people(db):
    with db.transaction() as s:
        candidates.upsert_batch(s, [draft(), draft(emails=["bob@example.com"], first_name="Bob")])
        (res,) = candidates.upsert_batch(s, [draft(emails=["ada@example.com", "bob@example.com"])])
    assert res.outcome == "failed" and "different candidates" in res.errors[0].reason


def test_every_write_has_feed_and_audit_rows_in_its_transaction(db):
    with db.transaction() as s:
        candidates.upsert_batch(s, [draft(), draft(emails=["b@example.com"])])
    with pytest.raises(RuntimeError), db.transaction() as s:
        candidates.upsert_batch(s, [draft(emails=["c@example.com"])])
        raise RuntimeError("abort the unit of work")
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(CandidateRow)).scalar_one() == 2
        assert s.execute(select(func.count()).select_from(ChangeFeedRow)).scalar_one() == 2
        assert s.execute(select(func.count()).select_from(AuditRow)).scalar_one() == 2


def test_timestamps_round_trip_as_utc(db):
    past = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    with db.transaction() as s:
        (res,) = candidates.upsert_batch(s, [draft()], [past])
        c = candidates.get(s, res.candidate_id)
    assert c.created_at == past and c.created_at.tzinfo is not None
    assert c.updated_at - datetime.now(UTC) < timedelta(minutes=1)


def test_combine_prefers_survivor_and_keeps_best_skill():
    keep = draft(headline="Lead", skills=[SkillClaim("python", "Python", 2, 1.0)])
    other = draft(
        headline="Junior",
        summary="From the other",
        skills=[SkillClaim("python", "Python", 4, 6.0), SkillClaim("go", "Go", 1)],
    )
    out = merges.combine(keep, other)
    assert out.headline == "Lead" and out.summary == "From the other"
    assert [(s.skill_id, s.level, s.years) for s in out.skills] == [
        ("python", 4, 6.0),
        ("go", 1, 0.0),
    ]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("john.doe+jobs@gmail.com", "johndoe@googlemail.com"),
        ("Ann@Example.com", "ann+x@example.com"),
    ],
)
def test_email_keys_equate_formatting_variants(a, b):
    assert duplicates.email_key(a) == duplicates.email_key(b)


def test_profile_keys_ignore_linkedin_country_hosts():
    assert duplicates.profile_key("https://uk.linkedin.com/in/ada/") == duplicates.profile_key(
        "https://linkedin.com/in/ada"
    )


def test_rule_validation_reports_every_problem():
    rule = Rule(
        (
            Condition("skill", "gte", ("python",)),
            Condition("seniority", "in", ("boss",)),
            Condition("last_contacted_days", "within", ("soon",)),
            Condition("nope", "in", ("x",)),
        )
    )
    with pytest.raises(ValidationFailed) as err:
        rules.validate_rule(rule)
    fields = {v.field for v in err.value.violations}
    assert fields == {
        "rule.conditions[0].op",
        "rule.conditions[1].values",
        "rule.conditions[2].values",
        "rule.conditions[3].field",
    }


def test_page_tokens_round_trip_and_reject_forgeries():
    assert paging.decode(paging.encode(12345)) == 12345
    assert paging.decode("") == 0
    for bad in ("abc", paging.encode(1)[:-1] + "!", "eDox"):
        with pytest.raises(ValidationFailed):
            paging.decode(bad)
    with pytest.raises(ValidationFailed):
        paging.page_size(5000)


def test_counted_pages_report_the_same_total(db):
    with db.transaction() as s:
        candidates.upsert_batch(
            s,
            [
                draft(emails=[f"p{i}@example.com"], country="DE" if i % 3 else "FR")
                for i in range(25)
            ],
        )
    rule = Rule((Condition("country", "in", ("DE",)),))
    with db.read() as s:
        first = candidates.list_page(s, rule, 10, "", count=True)
        second = candidates.list_page(s, rule, 10, first.next_token, count=True)
        empty = candidates.list_page(
            s, Rule((Condition("country", "in", ("JP",)),)), 10, "", count=True
        )
    assert first.total == second.total == 16
    assert len(first.items) == 10 and len(second.items) == 6 and not second.next_token
    assert empty.total == 0 and empty.items == []


def test_counts_agree_with_the_pages_for_membership_and_facet_rules(db):
    """Counts with a country condition take another query shape on SQLite (rules.
    compile_for_count); they must still agree with what walking the pages finds."""
    with db.transaction() as s:
        candidates.upsert_batch(
            s,
            [
                draft(
                    emails=[f"m{i}@example.com"],
                    country=("DE", "FR", "GB")[i % 3],
                    seniority=(Seniority.JUNIOR, Seniority.SENIOR, Seniority.LEAD)[i % 4 % 3],
                    skills=[SkillClaim("python", "Python")] if i % 2 else [],
                )
                for i in range(60)
            ],
        )
    facets = (Condition("country", "in", ("DE", "GB")), Condition("seniority", "gte", ("senior",)))
    for extra in (
        (Condition("skill", "in", ("python",)),),
        (),
        (Condition("skill", "not_in", ("python",)),),
    ):
        rule = Rule((*facets, *extra))
        with db.read() as s:
            walked, token = [], ""
            while True:
                page = candidates.list_page(s, rule, 7, token, count=True)
                walked += page.items
                if not (token := page.next_token):
                    break
        expected = [
            c
            for c in walked
            if c.country in ("DE", "GB") and c.seniority.value in ("senior", "lead")
        ]
        assert walked == expected and page.total == len(walked) > 0


def test_statistics_refresh_runs_on_this_backend(db):
    with db.transaction() as s:
        candidates.upsert_batch(s, [draft()])
    db.refresh_statistics()  # PostgreSQL: VACUUM outside any transaction; SQLite: ANALYZE
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(CandidateRow)).scalar_one() == 1


def test_bulk_copy_reports_a_taken_key_as_integrity_error(db):
    # PostgreSQL's COPY runs past SQLAlchemy; the import's retry needs its IntegrityError
    rows = [("f" * 32, 1)]
    with db.transaction() as s:
        bulk.copy_rows(s, ImportFingerprintRow.__table__, ("fingerprint", "candidate_pk"), rows)
    with pytest.raises(IntegrityError), db.transaction() as s:
        bulk.copy_rows(s, ImportFingerprintRow.__table__, ("fingerprint", "candidate_pk"), rows)


def test_upsert_with_given_content_hashes_stores_the_same(db):
    d = draft(skills=[SkillClaim("python", "Python", 3, 2.5)])
    with db.transaction() as s:
        (res,) = candidates.upsert_batch(s, [d], content_hashes=[d.content_hash()])
        stored = s.execute(
            select(CandidateRow.content_hash).where(CandidateRow.id == res.candidate_id)
        ).scalar_one()
        (again,) = candidates.upsert_batch(s, [d])
    assert res.outcome == "created" and stored == d.content_hash()
    assert again.outcome == "unchanged"


def test_mid_import_statistics_on_this_backend(db):
    with db.transaction() as s:
        candidates.upsert_batch(s, [draft()])
    db.analyze(("identities", "import_fingerprints"))  # PostgreSQL only; SQLite: nothing
    rows = db.planned_rows("identities")
    assert rows is None if db.dialect == "sqlite" else rows == 1


def test_ids_drawn_in_bulk_are_v7_ascending_and_distinct():
    before, bulk_ids, after = ids.uuid7(), ids.uuid7s(5000), ids.uuid7()  # > 4096: 2 ms
    every = [before, *bulk_ids, after]
    assert every == sorted(every) and len(set(every)) == len(every)
    assert all(uuid.UUID(i).version == 7 and str(uuid.UUID(i)) == i for i in bulk_ids)
