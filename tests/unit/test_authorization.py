"""The authorization table, API keys and the helpers use cases apply (issue 7, DESIGN §9)."""

from __future__ import annotations

import importlib
import pkgutil
import time
from datetime import UTC, datetime, timedelta

import pytest

import rapport.v1
from rapport.core import auth, authorization, context
from rapport.core.domain import Candidate
from rapport.core.errors import Unauthenticated, ValidationFailed
from rapport.core.store.schema import ApiKeyRow, AuditRow
from rapport.services.common.auth import TokenBuckets, bearer_token

C = "/rapport.v1.CandidateService/"


def _generated_methods() -> set[str]:
    methods = set()
    for info in pkgutil.iter_modules(rapport.v1.__path__):
        if not info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"rapport.v1.{info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            methods.update(f"/{service.full_name}/{m.name}" for m in service.methods)
    return methods


def test_every_generated_rpc_is_in_the_table():
    methods = _generated_methods()
    assert len(methods) > 50
    missing = sorted(m for m in methods if authorization.permission_for(m) is None)
    assert not missing, f"RPCs missing from the authorization table: {missing}"


def test_every_role_has_permissions_that_exist():
    assert set(authorization.ROLE_PERMISSIONS) == set(auth.ROLES)
    for role, permissions in authorization.ROLE_PERMISSIONS.items():
        assert permissions <= authorization.ALL_PERMISSIONS, role
    assert authorization.ROLE_PERMISSIONS["admin"] == authorization.ALL_PERMISSIONS


@pytest.mark.parametrize(
    ("role", "method", "allowed"),
    [
        ("admin", "/rapport.v1.PrivacyService/EraseCandidate", True),
        ("recruiter", "/rapport.v1.PrivacyService/EraseCandidate", False),
        ("recruiter", "/rapport.v1.PrivacyService/SetConsent", True),
        ("outreach_engine", "/rapport.v1.PrivacyService/GetConsent", True),
        ("data_scientist", "/rapport.v1.PrivacyService/SetConsent", False),
        ("recruiter", "/rapport.v1.ContentService/CreateContent", True),
        ("sourcer", "/rapport.v1.ContentService/CreateContent", False),
        ("sourcer", C + "ImportCandidates", True),
        ("sourcer", C + "CreatePool", True),
        ("sourcer", "/rapport.v1.OutreachService/CreateSequence", False),
        ("hiring_manager", C + "GetCandidate", True),
        ("hiring_manager", C + "UpdateCandidate", False),
        ("hiring_manager", C + "FindDuplicates", False),
        ("hiring_manager", C + "ListTimeline", False),
        ("outreach_engine", "/rapport.v1.ContentService/NextBestContent", True),
        ("outreach_engine", "/rapport.v1.ContentService/RecordOutcome", True),
        ("outreach_engine", C + "CreateCandidate", False),
        ("data_scientist", "/rapport.v1.EngagementService/GetModelInfo", True),
        ("data_scientist", "/rapport.v1.AnalyticsService/FairnessReport", True),
        ("data_scientist", C + "CreateCandidate", False),
        ("data_scientist", C + "ListTimeline", False),
        ("admin", "/rapport.v1.CandidateService/NoSuchMethod", False),  # fail closed
        ("admin", "/other.Service/Method", False),
        ("superuser", C + "GetCandidate", False),  # unknown role
        ("", C + "GetCandidate", False),
    ],
)
def test_role_table(role, method, allowed):
    assert authorization.allows(role, method) is allowed


def _as(role: str, scopes: tuple[str, ...] = ()):
    return context.set_current(context.RequestContext(role=role, key_id="k", scopes=scopes))


def test_mask_contacts_by_role():
    person = Candidate(
        id="c1",
        first_name="Ada",
        last_name="Lovelace",
        external_id="ext-1",
        emails=["ada@example.org"],
        phones=["+442071234567"],
        profile_urls=["https://linkedin.com/in/ada"],
        headline="Engineer",
    )
    for role, names_kept in (("hiring_manager", True), ("data_scientist", False)):
        token = _as(role)
        try:
            masked = authorization.mask_contacts(person)
        finally:
            context.reset(token)
        assert masked.emails == [] and masked.phones == [] and masked.profile_urls == []
        assert masked.headline == "Engineer"
        assert (masked.first_name == "Ada") is names_kept
        assert (masked.external_id == "ext-1") is names_kept
    for role in ("admin", "recruiter", "outreach_engine", ""):
        token = _as(role)
        try:
            assert authorization.mask_contacts(person) is person
        finally:
            context.reset(token)


def test_pool_scope_only_for_hiring_managers():
    token = _as("hiring_manager", ("pool:p1", "role:r1", "pool:p2"))
    try:
        assert authorization.pool_scope() == ["p1", "p2"]
        rule = authorization.scoped_rule(authorization_rule())
        assert rule.conditions[-1].field == "pool" and rule.conditions[-1].values == ("p1", "p2")
    finally:
        context.reset(token)
    token = _as("recruiter", ("pool:p1",))
    try:
        assert authorization.pool_scope() is None
        assert authorization.scoped_rule(authorization_rule()) == authorization_rule()
    finally:
        context.reset(token)


def authorization_rule():
    from rapport.core.domain import Rule

    return Rule(())


def test_token_bucket():
    buckets = TokenBuckets(rate=2.0, burst=3)
    assert [buckets.take("a", now=0.0) for _ in range(4)] == [True, True, True, False]
    assert buckets.take("b", now=0.0)  # per key
    assert buckets.take("a", now=0.5)  # one token back after 1/rate seconds
    assert not buckets.take("a", now=0.5)
    assert TokenBuckets(rate=0, burst=1).take("a")  # 0: no limit


def test_token_buckets_forget_refilled_keys():
    """Per-address and per-email buckets must not grow without bound: once the table
    doubles, buckets that have refilled (the same as unseen) are dropped; limits hold."""
    buckets = TokenBuckets(rate=1.0, burst=2)
    buckets.PRUNE_FROM = 100
    buckets._prune_at = 100
    assert buckets.take("busy", now=0.0) and buckets.take("busy", now=0.0)
    for i in range(99):
        buckets.take(f"passer-{i}", now=float(i) / 100)
    assert len(buckets) == 100
    buckets.take("late", now=5.0)  # everyone but "late" has refilled by now
    assert len(buckets) == 1
    assert buckets.take("busy", now=5.0)  # refilled, so a fresh bucket: still correct
    for i in range(150):  # all within one refill period: nothing to drop
        buckets.take(f"burst-{i}", now=5.0)
    assert len(buckets) == 152
    assert buckets.take("late", now=5.0) and not buckets.take("late", now=5.0)  # limit kept


def test_bearer_token():
    assert bearer_token("Bearer rk_abc") == "rk_abc"
    assert bearer_token("bearer  rk_abc ") == "rk_abc"
    assert bearer_token("Basic xyz") == "" and bearer_token(None) == ""


def test_parse_duration():
    assert auth.parse_duration("90d") == timedelta(days=90)
    assert auth.parse_duration("12h") == timedelta(hours=12)
    for bad in ("", "0d", "d", "5y", "-1d"):
        with pytest.raises(ValidationFailed):
            auth.parse_duration(bad)


def test_keys_are_stored_hashed_and_checked(db):
    with db.transaction() as s:
        key, token = auth.create_key(s, "recruiter", team="emea", label="ana", scopes=["pool:x"])
    assert token.startswith(f"rk_{key.prefix}_")
    with db.read() as s:
        row = s.query(ApiKeyRow).one()
        assert token not in (row.secret_hash, row.prefix) and row.secret_hash == auth.digest(token)
        principal = auth.lookup(s, token)
        assert principal == auth.Principal(key.id, "recruiter", "emea", ("pool:x",), "ana")
        forged = [
            token[:-1] + ("A" if token[-1] != "A" else "B"),  # right prefix, wrong secret
            f"rk_zzzzzzzz_{token.split('_', 2)[2]}",  # right secret, wrong prefix
            "",
            "not-a-key",
            token + "x",
        ]
        for bad in forged:
            with pytest.raises(Unauthenticated):
                auth.lookup(s, bad)
        actions = [r.action for r in s.query(AuditRow).all()]
        assert "key.create" in actions


def test_expired_and_revoked_keys_are_refused(db):
    now = datetime.now(UTC)
    with db.transaction() as s:
        expired, expired_token = auth.create_key(s, "admin", expires_at=now - timedelta(seconds=1))
        live, live_token = auth.create_key(s, "admin", expires_at=now + timedelta(days=1))
    with db.read() as s:
        with pytest.raises(Unauthenticated):
            auth.lookup(s, expired_token)
        assert auth.lookup(s, live_token).key_id == live.id
    authenticator = auth.Authenticator(db, ttl_s=60.0)
    assert authenticator.authenticate(live_token).key_id == live.id
    with db.transaction() as s:
        auth.revoke(s, live.id)
    with pytest.raises(Unauthenticated):  # the in-process cache forgot it at once
        authenticator.authenticate(live_token)
    with db.read() as s:
        states = {k.id: k.state() for k in auth.list_keys(s)}
    assert states == {expired.id: "expired", live.id: "revoked"}


def test_authenticator_caches_successes(db):
    with db.transaction() as s:
        key, token = auth.create_key(s, "admin")
    authenticator = auth.Authenticator(db, ttl_s=0.3)
    authenticator.authenticate(token)
    with db.read() as s:
        assert auth.list_keys(s)[0].last_used_at is not None
    with db.transaction() as s:  # revoked by another process: no in-process invalidation
        s.query(ApiKeyRow).update({"revoked_at": datetime.now(UTC)})
    assert authenticator.authenticate(token).key_id == key.id  # cached
    time.sleep(0.35)
    with pytest.raises(Unauthenticated):  # ... until the TTL has passed
        authenticator.authenticate(token)


def test_create_key_validates(db):
    with db.transaction() as s:
        with pytest.raises(ValidationFailed):
            auth.create_key(s, "root")
        with pytest.raises(ValidationFailed):
            auth.create_key(s, "hiring_manager", scopes=["pools:1; DROP TABLE"])
