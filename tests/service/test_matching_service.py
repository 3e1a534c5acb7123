"""MatchingService over a real in-process gRPC server, the fake encoder and a fresh store."""

from __future__ import annotations

import time

import grpc
import pytest
from auth_helpers import audit_rows_eventually
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from rapport.core.domain import ConsentState
from rapport.core.store import consent
from rapport.v1 import candidates_pb2 as cpb
from rapport.v1 import candidates_pb2_grpc as cpb_grpc
from rapport.v1 import common_pb2
from rapport.v1 import matching_pb2 as pb
from rapport.v1 import matching_pb2_grpc as pb_grpc

FRESH_WITHIN_S = 2.0


@pytest.fixture
def stubs(channel):
    return cpb_grpc.CandidateServiceStub(channel), pb_grpc.MatchingServiceStub(channel)


def add(
    store,
    first,
    headline,
    skills,
    *,
    seniority=common_pb2.SENIORITY_SENIOR,
    country="DE",
    timezone="Europe/Berlin",
    languages=("en",),
):
    c = cpb.Candidate(
        first_name=first,
        last_name="Tester",
        emails=[f"{first.lower()}@example.com"],
        headline=headline,
        summary=f"{headline} who enjoys shipping software.",
        seniority=seniority,
        location=common_pb2.Location(country=country, timezone=timezone),
        languages=list(languages),
        skills=[common_pb2.Skill(label=s) for s in skills],
    )
    return store.CreateCandidate(cpb.CreateCandidateRequest(candidate=c)).id


@pytest.fixture
def people(stubs):
    store, _ = stubs
    return {
        "ana": add(store, "Ana", "Senior Backend Engineer", ["Python", "Kubernetes", "PostgreSQL"]),
        "ben": add(
            store,
            "Ben",
            "Backend Developer",
            ["Python", "Django"],
            seniority=common_pb2.SENIORITY_MID,
            country="FR",
            timezone="Europe/Paris",
        ),
        "cai": add(
            store,
            "Cai",
            "Frontend Engineer",
            ["JavaScript", "React", "CSS"],
            country="US",
            timezone="America/New_York",
        ),
        "dee": add(
            store,
            "Dee",
            "Registered Nurse",
            ["patient care", "phlebotomy"],
            seniority=common_pb2.SENIORITY_MID,
            country="GB",
            timezone="Europe/London",
        ),
        "eli": add(
            store,
            "Eli",
            "Platform Engineer",
            ["Go", "k8s", "Terraform"],
            country="PL",
            timezone="Europe/Warsaw",
            languages=("pl", "en"),
        ),
    }


def violations(err: grpc.RpcError) -> set[str]:
    fields = set()
    for detail in rpc_status.from_call(err).details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields.update(v.field for v in bad.field_violations)
    return fields


def wait_ready(matching, timeout=30.0) -> pb.IndexStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = matching.GetIndexStatus(pb.GetIndexStatusRequest())
        if status.state == "ready" and status.seq >= status.feed_head:
            return status
        time.sleep(0.05)
    raise AssertionError(f"index not ready: {status}")


BACKEND = pb.Role(
    title="Senior Backend Engineer",
    description="Build Python services on Kubernetes with PostgreSQL.",
    required_skills=["Python", "k8s", "Postgres"],
    nice_to_have_skills=["Terraform"],
    min_seniority=common_pb2.SENIORITY_SENIOR,
    max_seniority=common_pb2.SENIORITY_LEAD,
    countries=["DE", "PL"],
    languages=["en"],
)


def rank(matching, role=BACKEND, top_k=10, **filters) -> pb.RankCandidatesResponse:
    return matching.RankCandidates(
        pb.RankCandidatesRequest(role=role, top_k=top_k, filters=pb.MatchFilters(**filters))
    )


def ids(response) -> list[str]:
    return [r.candidate_id for r in response.results]


def eventually(check, timeout=FRESH_WITHIN_S):
    """Poll `check` until it holds; the freshness bar of the issue is 2 s."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise AssertionError("not visible within the freshness bar")
        time.sleep(0.05)


def test_ranking_is_explained(stubs, people):
    _, matching = stubs
    wait_ready(matching)
    response = rank(matching)
    assert response.encoder.startswith("fake-hashing")
    assert response.index_version
    assert ids(response)[0] == people["ana"]
    top = response.results[0]
    assert top.rank == 1 and 0 < top.score <= 1
    assert {m.skill_id for m in top.matched_skills} >= {"python", "kubernetes", "postgresql"}
    assert list(top.missing_skills) == []
    assert top.components.skills > 0.8 and top.components.seniority == 1.0
    assert "3/3 required skills" in top.reason
    ben = next(r for r in response.results if r.candidate_id == people["ben"])
    assert set(ben.missing_skills) >= {"Kubernetes", "PostgreSQL"}
    assert ben.components.seniority < 1.0
    scores = [r.score for r in response.results]
    assert scores == sorted(scores, reverse=True)
    mapping = {m.text: m for m in response.skill_mappings}
    assert mapping["k8s"].skill_id == "kubernetes" and mapping["k8s"].method == "alias"


def test_unknown_skill_is_reported_not_fatal(stubs, people):
    _, matching = stubs
    wait_ready(matching)
    role = pb.Role(title="Engineer", required_skills=["Python", "qwzxv-flurble"])
    response = rank(matching, role)
    mapping = {m.text: m for m in response.skill_mappings}
    assert mapping["qwzxv-flurble"].method == "none"
    assert mapping["qwzxv-flurble"].skill_id == ""
    assert response.results


def test_filters_apply_before_top_k(stubs, people):
    store, matching = stubs
    pool = store.CreatePool(cpb.CreatePoolRequest(pool=cpb.Pool(name="nurses"))).id
    store.AddToPool(cpb.AddToPoolRequest(pool_id=pool, candidate_ids=[people["dee"]]))
    wait_ready(matching)
    # The nurse is the worst match for a backend role, yet with the pool filter she is the
    # one result: the filter narrows the search, it does not cut down a top-k.
    assert ids(rank(matching, top_k=1, pool_id=pool)) == [people["dee"]]
    strict = rank(matching, enforce_location=True)
    assert set(ids(strict)) == {people["ana"], people["eli"]}
    assert rank(matching, enforce_location=True).considered == 2
    senior = rank(matching, enforce_seniority=True)
    assert people["ben"] not in ids(senior) and people["dee"] not in ids(senior)
    polish = pb.Role(title="Engineer", languages=["pl"])
    assert ids(rank(matching, polish, enforce_languages=True)) == [people["eli"]]


def test_not_contacted_recently_and_segments(stubs, people):
    store, matching = stubs
    now = timestamp_pb2.Timestamp()
    now.GetCurrentTime()
    store.AddTimelineEvent(
        cpb.AddTimelineEventRequest(
            event=cpb.TimelineEvent(
                candidate_id=people["ana"], kind="email_sent", occurred_at=now, channel="email"
            )
        )
    )
    segment = store.CreateSegment(
        cpb.CreateSegmentRequest(
            segment=cpb.Segment(
                name="europe",
                rule=common_pb2.Rule(
                    conditions=[common_pb2.Condition(field="country", op="in", values=["FR", "PL"])]
                ),
            )
        )
    ).id
    wait_ready(matching)
    assert people["ana"] not in ids(rank(matching, not_contacted_days=30))
    assert set(ids(rank(matching, segment_id=segment))) == {people["ben"], people["eli"]}


def test_changes_show_up_within_two_seconds(stubs, people, db):
    store, matching = stubs
    wait_ready(matching)
    role = pb.Role(title="Rust developer", required_skills=["Rust"])
    assert ids(rank(matching, role))[0] != people["dee"]
    # Update: Dee retrains; she is searchable with her new skill without a rebuild.
    store.UpdateCandidate(
        cpb.UpdateCandidateRequest(
            candidate=cpb.Candidate(id=people["dee"], skills=[common_pb2.Skill(label="Rust")]),
            update_mask={"paths": ["skills"]},
        )
    )
    eventually(lambda: rank(matching, role).results[0].candidate_id == people["dee"])
    # Opt-out: gone from every ranking.
    with db.transaction() as s:
        consent.set_state(s, people["ana"], ConsentState.OPTED_OUT)
    eventually(lambda: people["ana"] not in ids(rank(matching)))
    # Merge: the merged-away record disappears, the survivor stays.
    store.MergeCandidates(
        cpb.MergeCandidatesRequest(survivor_id=people["eli"], merged_id=people["ben"])
    )
    eventually(lambda: people["ben"] not in ids(rank(matching)))
    assert people["eli"] in ids(rank(matching))
    # Create: a new person is rankable without a rebuild.
    fay = add(store, "Fay", "Rust Engineer", ["Rust", "Python"])
    eventually(lambda: fay in ids(rank(matching, role)))


def test_similar_candidates(stubs, people):
    _, matching = stubs
    wait_ready(matching)
    response = matching.SimilarCandidates(
        pb.SimilarCandidatesRequest(candidate_id=people["ana"], top_k=3)
    )
    assert people["ana"] not in ids(response)
    assert ids(response)[0] in (people["ben"], people["eli"])


def test_roles_are_stored_and_ranked_by_id(stubs, people):
    _, matching = stubs
    role = matching.CreateRole(pb.CreateRoleRequest(role=BACKEND))
    assert role.id and role.created_at.seconds > 0
    assert matching.GetRole(pb.GetRoleRequest(id=role.id)).title == BACKEND.title
    assert [r.id for r in matching.ListRoles(pb.ListRolesRequest()).roles] == [role.id]
    wait_ready(matching)
    by_id = matching.RankCandidates(pb.RankCandidatesRequest(role_id=role.id, top_k=5))
    assert ids(by_id) == ids(rank(matching, top_k=5))
    assert by_id.role.id == role.id


def test_index_status_and_rebuild_swap(stubs, people, settings):
    _, matching = stubs
    before = wait_ready(matching)
    assert before.vectors == 5 and before.kind == "flat"
    matching.RebuildIndex(pb.RebuildIndexRequest())
    deadline = time.monotonic() + 30
    while True:
        # Queries keep being answered while the rebuild runs.
        assert rank(matching).results
        after = matching.GetIndexStatus(pb.GetIndexStatusRequest())
        if not after.rebuilding and after.index_version != before.index_version:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert after.vectors == 5
    assert (settings.effective_index_dir / "manifest.json").exists()


@pytest.mark.parametrize(
    ("request_", "code", "field"),
    [
        (
            pb.RankCandidatesRequest(role=pb.Role(), top_k=5),
            grpc.StatusCode.INVALID_ARGUMENT,
            "role",
        ),
        (
            pb.RankCandidatesRequest(role=BACKEND, top_k=0),
            grpc.StatusCode.INVALID_ARGUMENT,
            "top_k",
        ),
        (
            pb.RankCandidatesRequest(role=BACKEND, top_k=1001),
            grpc.StatusCode.INVALID_ARGUMENT,
            "top_k",
        ),
        (pb.RankCandidatesRequest(top_k=5), grpc.StatusCode.INVALID_ARGUMENT, "role"),
        (
            pb.RankCandidatesRequest(role_id="0192f1e2-0000-7000-8000-000000000000", top_k=5),
            grpc.StatusCode.NOT_FOUND,
            "",
        ),
        (
            pb.RankCandidatesRequest(
                role=BACKEND, top_k=5, filters=pb.MatchFilters(pool_id="nope")
            ),
            grpc.StatusCode.NOT_FOUND,
            "",
        ),
        (
            pb.RankCandidatesRequest(
                role=BACKEND, top_k=5, filters=pb.MatchFilters(segment_id="nope")
            ),
            grpc.StatusCode.NOT_FOUND,
            "",
        ),
        (
            pb.RankCandidatesRequest(role=pb.Role(title="x", countries=["Atlantis"]), top_k=5),
            grpc.StatusCode.INVALID_ARGUMENT,
            "role.countries[0]",
        ),
        (
            pb.RankCandidatesRequest(role=BACKEND, top_k=5, page_token="garbage!"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "page_token",
        ),
    ],
)
def test_bad_input(stubs, people, request_, code, field):
    _, matching = stubs
    wait_ready(matching)
    with pytest.raises(grpc.RpcError) as err:
        matching.RankCandidates(request_)
    assert err.value.code() == code
    if field:
        assert field in violations(err.value)


def test_similar_unknown_candidate(stubs):
    _, matching = stubs
    wait_ready(matching)
    with pytest.raises(grpc.RpcError) as err:
        matching.SimilarCandidates(
            pb.SimilarCandidatesRequest(
                candidate_id="0192f1e2-0000-7000-8000-000000000000", top_k=3
            )
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_deadline_too_short(stubs, people):
    _, matching = stubs
    wait_ready(matching)
    with pytest.raises(grpc.RpcError) as err:
        matching.RankCandidates(pb.RankCandidatesRequest(role=BACKEND, top_k=5), timeout=0.005)
    # Refused by the server (too little time left to rank) or given up by the client first:
    # either way the caller gets DEADLINE_EXCEEDED, never a half-done ranking.
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_paging(stubs, people):
    _, matching = stubs
    wait_ready(matching)
    first = rank(matching, top_k=2)
    second = matching.RankCandidates(
        pb.RankCandidatesRequest(role=BACKEND, top_k=2, page_token=first.next_page_token)
    )
    assert second.results[0].rank == 3
    assert not set(ids(first)) & set(ids(second))
    assert ids(first) + ids(second) == ids(rank(matching, top_k=4))


def test_erased_candidate_is_gone_within_two_seconds(stubs, people, db):
    """Erasure itself belongs to the privacy work; here its effect on the store (the rows
    deleted, an "erased" feed event) must take the person out of matching."""
    from sqlalchemy import delete

    from rapport.core.store import candidates as store_candidates
    from rapport.core.store import feed
    from rapport.core.store.schema import CandidateRow, CandidateSkillRow, IdentityRow

    _, matching = stubs
    wait_ready(matching)
    assert people["ana"] in ids(rank(matching))
    with db.transaction() as s:
        pk = store_candidates.pk_for(s, people["ana"])
        s.execute(delete(CandidateSkillRow).where(CandidateSkillRow.candidate_pk == pk))
        s.execute(delete(IdentityRow).where(IdentityRow.candidate_pk == pk))
        s.execute(delete(CandidateRow).where(CandidateRow.pk == pk))
        feed.append(s, [(people["ana"], "erased")])
    eventually(lambda: people["ana"] not in ids(rank(matching)))
    with pytest.raises(grpc.RpcError) as err:
        matching.SimilarCandidates(pb.SimilarCandidatesRequest(candidate_id=people["ana"], top_k=3))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_bulk_reads_of_people_are_audited_per_person(settings, stubs, people):
    """Lists, pool pages, segment previews, duplicates and rankings name every person they
    showed, with the caller's key, in the hash-chained log (issue 7 item 3)."""
    store, matching = stubs
    wait_ready(matching)
    everyone = set(people.values())
    listed = {c.id for c in store.ListCandidates(cpb.ListCandidatesRequest()).candidates}
    pool = store.CreatePool(cpb.CreatePoolRequest(pool=cpb.Pool(name="backend")))
    store.AddToPool(cpb.AddToPoolRequest(pool_id=pool.id, candidate_ids=[people["ana"]]))
    store.ListPool(cpb.ListPoolRequest(pool_id=pool.id))
    rule = common_pb2.Rule(
        conditions=[common_pb2.Condition(field="country", op="in", values=["gb"])]
    )
    store.PreviewSegment(cpb.PreviewSegmentRequest(rule=rule))
    ranked = set(ids(rank(matching, top_k=3)))
    assert listed == everyone and len(ranked) == 3
    for action, expected in [
        ("candidate.list_read", everyone),
        ("pool.members_read", {people["ana"]}),
        ("segment.preview_read", {people["dee"]}),
        ("candidate.ranked_read", ranked),
    ]:
        rows = audit_rows_eventually(settings, action, expected)
        assert {r.target_id for r in rows} == expected, action
        assert {r.actor for r in rows} == {"test-admin"} and all(r.key_id for r in rows)
    pool_rows = audit_rows_eventually(settings, "pool.members_read", set())
    assert pool_rows[0].details == {"pool": pool.id}


def test_skills_are_extracted_from_running_text(stubs):
    """ExtractSkills (what the portal's resume upload calls) maps mentions to canonical
    skills through the ranking taxonomy, first mention first, one per skill."""
    _, matching = stubs
    wait_ready(matching)
    text = (
        "Backend engineer. Five years of Python and Postgres; I run our k8s clusters.\n"
        "- Wrote Python tooling for Kubernetes deployments."
    )
    found = matching.ExtractSkills(pb.ExtractSkillsRequest(text=text)).skills
    ids_found = [s.skill_id for s in found]
    assert len(ids_found) == len(set(ids_found)) >= 3
    by_text = {s.text: s for s in found}
    assert by_text["Python"].method == "alias" and by_text["Python"].confidence == 1.0
    assert (by_text["k8s"].skill_id, by_text["k8s"].label) == ("kubernetes", "Kubernetes")
    assert by_text["Postgres"].skill_id == "postgresql"
    assert "Kubernetes" not in by_text  # the same skill as "k8s", named once
    assert all(s.kind == "mentioned" for s in found)
    assert [s.text for s in found][:2] == ["Python", "Postgres"]
    limited = matching.ExtractSkills(pb.ExtractSkillsRequest(text=text, limit=1)).skills
    assert [s.text for s in limited] == ["Python"]
    assert not matching.ExtractSkills(pb.ExtractSkillsRequest(text="  ")).skills


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.ExtractSkillsRequest(text="x" * 200_001), "text"),
        (pb.ExtractSkillsRequest(text="Python", limit=-1), "limit"),
        (pb.ExtractSkillsRequest(text="Python", limit=201), "limit"),
    ],
)
def test_skill_extraction_refuses_oversized_requests(stubs, request_, field):
    _, matching = stubs
    with pytest.raises(grpc.RpcError) as err:
        matching.ExtractSkills(request_)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(err.value) == {field}
