"""Authentication and authorization over real in-process servers (issue 7, DESIGN §9).

Threats tried: no key, forged / expired / revoked keys, a role calling what it may not,
a hiring manager reaching outside their pools, contact details for roles that may not see
them, a flood of requests, an oversized message, a spoofed x-actor, plaintext against TLS,
a client without certificate against mutual TLS. And: every RPC the full server exposes
(listed through reflection) is in the authorization table.
"""

from __future__ import annotations

import datetime as dt

import grpc
import pytest
from auth_helpers import create_key, open_channel, running
from google.protobuf import descriptor_pool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from sqlalchemy import select

from rapport.core import authorization
from rapport.core.store.db import Database
from rapport.core.store.schema import AuditRow
from rapport.v1 import candidates_pb2 as pb
from rapport.v1 import candidates_pb2_grpc as pb_grpc
from rapport.v1 import common_pb2

INFRASTRUCTURE = {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}


def stub_for(address: str, key: str = "", **tls) -> pb_grpc.CandidateServiceStub:
    return pb_grpc.CandidateServiceStub(open_channel(address, key, **tls))


def person(n: int) -> pb.Candidate:
    return pb.Candidate(
        first_name=f"Ada{n}",
        last_name="Lovelace",
        external_id=f"ext-{n}",
        emails=[f"ada{n}@example.com"],
        phones=[f"+44 20 7946 09{n:02d}"],
        profile_urls=[f"https://www.linkedin.com/in/ada-{n}/"],
        headline="Senior Backend Engineer",
        location=common_pb2.Location(country="GB"),
    )


def code_of(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code()


def audit_rows(settings, action: str) -> list[AuditRow]:
    db = Database(settings.effective_database_url)
    try:
        with db.read() as s:
            return list(s.execute(select(AuditRow).where(AuditRow.action == action)).scalars())
    finally:
        db.close()


# ---------------------------------------------------------------- the table covers every RPC


def test_every_rpc_the_server_exposes_is_in_the_authorization_table(channel):
    """Lists every service and method through server reflection on the full server."""
    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    pool = descriptor_pool.DescriptorPool(database)
    methods = {
        f"/{name}/{m.name}"
        for name in services - INFRASTRUCTURE
        for m in pool.FindServiceByName(name).methods
    }
    assert {"rapport.v1.CandidateService", "rapport.v1.ContentService"} <= services
    assert len(methods) > 50
    unprotected = sorted(m for m in methods if authorization.permission_for(m) is None)
    assert not unprotected, f"RPCs not in the authorization table: {unprotected}"
    for method in methods:  # and each is callable by admin only if the table says so
        assert authorization.allows("admin", method)


# ---------------------------------------------------------------- authentication


def test_no_key_forged_expired_and_revoked_keys_are_unauthenticated(server, settings, make_key):
    from rapport.core import auth

    url = settings.effective_database_url
    expired = make_key("admin", expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    revoked = make_key("admin", label="to-revoke")
    good = make_key("admin")
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    assert stub_for(server, revoked).ListPools(pb.ListPoolsRequest()) is not None
    db = Database(url)
    with db.transaction() as s:
        key_id = next(k.id for k in auth.list_keys(s) if k.label == "to-revoke")
        auth.revoke(s, key_id)  # in this process: the server's cache forgets it at once
    db.close()
    for key in ("", "rk_nonsense", forged, expired, revoked):
        stub = stub_for(server, key)
        assert code_of(lambda s=stub: s.ListPools(pb.ListPoolsRequest())) == (
            grpc.StatusCode.UNAUTHENTICATED
        ), key
        # every kind of RPC: server stream, client stream
        assert (
            code_of(lambda s=stub: next(s.WatchChanges(pb.WatchChangesRequest(), timeout=5)))
            == grpc.StatusCode.UNAUTHENTICATED
        )
        assert (
            code_of(
                lambda s=stub: s.ImportCandidates(iter([pb.ImportCandidatesRequest(chunk=b"x")]))
            )
            == grpc.StatusCode.UNAUTHENTICATED
        )
    assert stub_for(server, good).ListPools(pb.ListPoolsRequest()) is not None
    # a wrong scheme is no key either
    raw = pb_grpc.CandidateServiceStub(grpc.insecure_channel(server))
    assert (
        code_of(
            lambda: raw.ListPools(
                pb.ListPoolsRequest(), metadata=[("authorization", f"Basic {good}")]
            )
        )
        == grpc.StatusCode.UNAUTHENTICATED
    )


def test_health_and_reflection_stay_open(server):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(server) as ch:
        reply = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        assert "rapport.v1.CandidateService" in ProtoReflectionDescriptorDatabase(ch).get_services()


def test_actor_is_the_key_not_the_x_actor_header(server, settings, channel):
    stub = pb_grpc.CandidateServiceStub(channel)
    created = stub.CreateCandidate(pb.CreateCandidateRequest(candidate=person(1)))
    stub.GetCandidate(pb.GetCandidateRequest(id=created.id), metadata=[("x-actor", "mallory")])
    reads = audit_rows(settings, "candidate.read")
    assert [r.actor for r in reads] == ["test-admin"]


# ---------------------------------------------------------------- roles


def test_roles_allowed_and_denied_and_denials_are_audited(server, settings, channel, make_key):
    admin = pb_grpc.CandidateServiceStub(channel)
    created = admin.CreateCandidate(pb.CreateCandidateRequest(candidate=person(1)))
    keys = {role: make_key(role, label=f"k-{role}") for role in authorization.ROLE_PERMISSIONS}
    create = pb.CreatePoolRequest(pool=pb.Pool(name="p"))
    cases = {
        # role: (may CreatePool, may GetCandidate, may UpdateCandidate)
        "admin": (True, True, True),
        "recruiter": (True, True, True),
        "sourcer": (True, True, True),
        "hiring_manager": (False, False, False),  # Get: out of scope -> NOT_FOUND below
        "outreach_engine": (False, True, False),
        "data_scientist": (False, True, False),
    }
    for i, (role, (pool_ok, get_ok, update_ok)) in enumerate(cases.items()):
        stub = stub_for(server, keys[role])
        create.pool.name = f"pool-{i}"
        if pool_ok:
            stub.CreatePool(create)
        else:
            assert code_of(lambda s=stub: s.CreatePool(create)) == grpc.StatusCode.PERMISSION_DENIED
        get = pb.GetCandidateRequest(id=created.id)
        if get_ok:
            assert stub.GetCandidate(get).id == created.id
        else:
            assert code_of(lambda s=stub, r=get: s.GetCandidate(r)) == grpc.StatusCode.NOT_FOUND
        update = pb.UpdateCandidateRequest(candidate=pb.Candidate(id=created.id, headline="x"))
        update.update_mask.paths.append("headline")
        if update_ok:
            stub.UpdateCandidate(update)
        else:
            assert code_of(lambda s=stub, r=update: s.UpdateCandidate(r)) == (
                grpc.StatusCode.PERMISSION_DENIED
            )
    denied = audit_rows(settings, "access.denied")
    by_role = {(r.details["role"], r.details["method"].rsplit("/", 1)[1]) for r in denied}
    assert ("outreach_engine", "CreatePool") in by_role
    assert ("hiring_manager", "UpdateCandidate") in by_role
    assert all(r.details["key_id"] == r.target_id and r.actor.startswith("k-") for r in denied)
    assert len(denied) == 6  # CreatePool and UpdateCandidate, for three roles each


def test_hiring_manager_sees_only_their_pools_masked_and_nothing_leaks(
    server, settings, channel, make_key
):
    admin = pb_grpc.CandidateServiceStub(channel)
    inside, outside = (
        admin.CreateCandidate(pb.CreateCandidateRequest(candidate=person(n))) for n in (1, 2)
    )
    mine = admin.CreatePool(pb.CreatePoolRequest(pool=pb.Pool(name="backend-hires")))
    other = admin.CreatePool(pb.CreatePoolRequest(pool=pb.Pool(name="sales-hires")))
    admin.AddToPool(pb.AddToPoolRequest(pool_id=mine.id, candidate_ids=[inside.id]))
    admin.AddToPool(pb.AddToPoolRequest(pool_id=other.id, candidate_ids=[outside.id]))
    hm = stub_for(server, make_key("hiring_manager", scopes=(f"pool:{mine.id}",)))

    got = hm.GetCandidate(pb.GetCandidateRequest(id=inside.id))
    assert got.first_name == "Ada1" and got.headline == "Senior Backend Engineer"
    assert not got.emails and not got.phones and not got.profile_urls

    with pytest.raises(grpc.RpcError) as out_of_scope:
        hm.GetCandidate(pb.GetCandidateRequest(id=outside.id))
    missing_id = "0192e3c4-5b6a-7c8d-9e0f-112233445566"
    with pytest.raises(grpc.RpcError) as missing:
        hm.GetCandidate(pb.GetCandidateRequest(id=missing_id))
    assert out_of_scope.value.code() == missing.value.code() == grpc.StatusCode.NOT_FOUND
    # the same answer as for a candidate that does not exist: existence does not leak
    assert out_of_scope.value.details().replace(
        outside.id, "ID"
    ) == missing.value.details().replace(missing_id, "ID")
    assert [r.target_id for r in audit_rows(settings, "access.out_of_scope")] == [outside.id]

    listed = hm.ListCandidates(pb.ListCandidatesRequest())
    assert [c.id for c in listed.candidates] == [inside.id]
    assert not listed.candidates[0].emails and not listed.candidates[0].phones
    assert [p.id for p in hm.ListPools(pb.ListPoolsRequest()).pools] == [mine.id]
    members = hm.ListPool(pb.ListPoolRequest(pool_id=mine.id)).members
    assert [m.candidate.id for m in members] == [inside.id]
    assert not members[0].candidate.emails and not members[0].candidate.profile_urls
    assert code_of(lambda: hm.ListPool(pb.ListPoolRequest(pool_id=other.id))) == (
        grpc.StatusCode.NOT_FOUND
    )
    # read-only: writes are refused before anything runs, and nothing changed
    for call in (
        lambda: hm.AddToPool(pb.AddToPoolRequest(pool_id=mine.id, candidate_ids=[outside.id])),
        lambda: hm.CreateCandidate(pb.CreateCandidateRequest(candidate=person(3))),
        lambda: hm.FindDuplicates(pb.FindDuplicatesRequest(candidate_id=inside.id)),
        lambda: hm.ListTimeline(pb.ListTimelineRequest(candidate_id=outside.id)),
    ):
        assert code_of(call) == grpc.StatusCode.PERMISSION_DENIED
    assert admin.ListPool(pb.ListPoolRequest(pool_id=mine.id)).members[0].candidate.emails
    assert len(admin.ListPool(pb.ListPoolRequest(pool_id=mine.id)).members) == 1
    assert len(admin.ListCandidates(pb.ListCandidatesRequest()).candidates) == 2

    unscoped = stub_for(server, make_key("hiring_manager"))  # no pools: sees nobody
    assert not unscoped.ListCandidates(pb.ListCandidatesRequest()).candidates
    assert not unscoped.ListPools(pb.ListPoolsRequest()).pools


def test_data_scientist_sees_pseudonymised_candidates(server, channel, make_key):
    admin = pb_grpc.CandidateServiceStub(channel)
    created = admin.CreateCandidate(pb.CreateCandidateRequest(candidate=person(1)))
    ds = stub_for(server, make_key("data_scientist"))
    for got in (
        ds.GetCandidate(pb.GetCandidateRequest(id=created.id)),
        ds.ListCandidates(pb.ListCandidatesRequest()).candidates[0],
    ):
        assert got.id == created.id and got.headline == "Senior Backend Engineer"
        assert not (got.emails or got.phones or got.profile_urls)
        assert not (got.first_name or got.last_name or got.external_id)
    assert (
        code_of(lambda: ds.FindDuplicates(pb.FindDuplicatesRequest(candidate_id=created.id)))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    engine = stub_for(server, make_key("outreach_engine"))  # sends mail: sees contacts
    assert engine.GetCandidate(pb.GetCandidateRequest(id=created.id)).emails


# ---------------------------------------------------------------- floods and big messages


def test_per_key_rate_limit(settings):
    limited = settings.model_copy(
        update={"auth_rate_limit_per_s": 0.01, "auth_rate_limit_burst": 3}
    )
    first = create_key(limited.effective_database_url, "admin")
    second = create_key(limited.effective_database_url, "admin")
    with running(limited, "candidates") as address:
        stub = stub_for(address, first)
        for _ in range(3):
            stub.ListPools(pb.ListPoolsRequest())
        with pytest.raises(grpc.RpcError) as err:
            stub.ListPools(pb.ListPoolsRequest())
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "rate limit" in err.value.details()
        stub_for(address, second).ListPools(pb.ListPoolsRequest())  # per key


def test_oversized_message_is_refused_and_writes_nothing(settings):
    small = settings.model_copy(update={"max_message_bytes": 32 * 1024})
    key = create_key(small.effective_database_url, "admin")
    with running(small, "candidates") as address:
        stub = stub_for(address, key)
        big = person(1)
        big.summary = "x" * 40_000
        assert code_of(lambda: stub.CreateCandidate(pb.CreateCandidateRequest(candidate=big))) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED
        )
        assert not stub.ListCandidates(pb.ListCandidatesRequest()).candidates
        stub.CreateCandidate(pb.CreateCandidateRequest(candidate=person(2)))  # normal size: ok


# ---------------------------------------------------------------- TLS


def _certificates(tmp_path):
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write(stem: str, key, cert) -> None:
        (tmp_path / f"{stem}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        (tmp_path / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("rapport test CA"))
        .issuer_name(name("rapport test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    write("ca", ca_key, ca)
    for stem, usage, sans in (
        (
            "server",
            ExtendedKeyUsageOID.SERVER_AUTH,
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
        ),
        ("client", ExtendedKeyUsageOID.CLIENT_AUTH, [x509.DNSName("rapport-client")]),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name(stem))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        write(stem, key, cert)
    return tmp_path


def test_tls_and_mutual_tls(settings, tmp_path):
    certs = _certificates(tmp_path)
    tls = settings.model_copy(
        update={"tls_cert_file": certs / "server.pem", "tls_key_file": certs / "server.key"}
    )
    key = create_key(tls.effective_database_url, "admin")
    request = pb.ListPoolsRequest()
    with running(tls, "candidates") as address:
        assert stub_for(address, key, ca_file=certs / "ca.pem").ListPools(request, timeout=10)
        plaintext = stub_for(address, key)
        assert code_of(lambda: plaintext.ListPools(request, timeout=5)) == (
            grpc.StatusCode.UNAVAILABLE
        )
        no_key = stub_for(address, "", ca_file=certs / "ca.pem")
        assert code_of(lambda: no_key.ListPools(request, timeout=10)) == (
            grpc.StatusCode.UNAUTHENTICATED
        )

    mutual = tls.model_copy(update={"tls_client_ca_file": certs / "ca.pem"})
    with running(mutual, "candidates") as address:
        with_cert = stub_for(
            address,
            key,
            ca_file=certs / "ca.pem",
            cert_file=certs / "client.pem",
            key_file=certs / "client.key",
        )
        assert with_cert.ListPools(request, timeout=10)
        without_cert = stub_for(address, key, ca_file=certs / "ca.pem")
        assert code_of(lambda: without_cert.ListPools(request, timeout=5)) == (
            grpc.StatusCode.UNAVAILABLE
        )


def test_rankings_for_data_scientists_carry_no_names(server, channel, make_key):
    import time

    from rapport.v1 import matching_pb2 as mpb
    from rapport.v1 import matching_pb2_grpc as mpb_grpc

    admin = pb_grpc.CandidateServiceStub(channel)
    for n in (1, 2):
        c = person(n)
        c.skills.append(common_pb2.Skill(label="Python"))
        admin.CreateCandidate(pb.CreateCandidateRequest(candidate=c))
    matching = mpb_grpc.MatchingServiceStub(channel)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = matching.GetIndexStatus(mpb.GetIndexStatusRequest(), timeout=5)
        if status.state == "ready" and status.seq >= status.feed_head and status.seq > 0:
            break
        time.sleep(0.05)
    request = mpb.RankCandidatesRequest(
        role=mpb.Role(title="Backend engineer", required_skills=["Python"]), top_k=5
    )
    named = matching.RankCandidates(request, timeout=10).results
    assert len(named) == 2 and all(r.display_name for r in named)
    ds = mpb_grpc.MatchingServiceStub(open_channel(server, make_key("data_scientist")))
    anonymous = ds.RankCandidates(request, timeout=10).results
    assert [r.candidate_id for r in anonymous] == [r.candidate_id for r in named]
    assert not any(r.display_name for r in anonymous)
    hm = mpb_grpc.MatchingServiceStub(open_channel(server, make_key("hiring_manager")))
    assert code_of(lambda: hm.RankCandidates(request, timeout=10)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )


def test_keys_cli_create_list_revoke(server, settings, monkeypatch):
    import json

    from typer.testing import CliRunner

    from rapport.cli.main import app

    monkeypatch.setenv("RAPPORT_DATABASE_URL", settings.effective_database_url)
    monkeypatch.delenv("RAPPORT_API_KEY", raising=False)
    runner = CliRunner()

    def rapport(*args: str, code: int = 0):
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    shown = rapport(
        "keys", "create", "--role", "sourcer", "--label", "sam", "--expires-in", "30d"
    ).stdout
    token = next(line for line in shown.splitlines() if line.startswith("rk_"))
    assert f"export RAPPORT_API_KEY={token}" in shown
    stub = stub_for(server, token)
    stub.CreatePool(pb.CreatePoolRequest(pool=pb.Pool(name="sourced")))

    listed = json.loads(rapport("--json", "keys", "list").stdout)["keys"]
    mine = next(k for k in listed if k["label"] == "sam")
    assert mine["role"] == "sourcer" and mine["state"] == "active" and mine["expires_at"]
    assert mine["last_used_at"] and token not in json.dumps(listed)

    rapport("keys", "revoke", mine["id"])
    assert code_of(lambda: stub.ListPools(pb.ListPoolsRequest())) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    listed = json.loads(rapport("--json", "keys", "list").stdout)["keys"]
    assert next(k for k in listed if k["id"] == mine["id"])["state"] == "revoked"

    assert rapport("keys", "create", "--role", "root", code=1).stderr.startswith("INVALID_ARGUMENT")
    assert rapport("keys", "revoke", "no-such-key", code=1).stderr.startswith("NOT_FOUND")
    assert rapport("keys", "create", "--role", "admin", "--expires-in", "soon", code=1)


def test_a_served_rpc_missing_from_the_table_is_denied_even_to_admin(settings, db):
    """Fail closed: a handler nobody put in the authorization table is refused (and audited)."""
    from rapport.services.common.auth import Authorizer
    from rapport.services.common.server import ServiceSpec, build_server

    ran = []

    def register(server: grpc.Server) -> None:
        handler = grpc.unary_unary_rpc_method_handler(lambda req, ctx: ran.append(1) or b"ok")
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("rapport.v1.ShadowService", {"Do": handler}),)
        )

    spec = ServiceSpec("rapport.v1.ShadowService", register)
    with pytest.raises(ValueError):  # authentication on and no authorizer: refused outright
        build_server(settings, [spec], port=0)
    server, port, _ = build_server(settings, [spec], port=0, authorizer=Authorizer(db, settings))
    try:
        key = create_key(settings.effective_database_url, "admin")
        with open_channel(f"127.0.0.1:{port}", key) as ch:
            call = ch.unary_unary("/rapport.v1.ShadowService/Do")
            assert code_of(lambda: call(b"", timeout=5)) == grpc.StatusCode.PERMISSION_DENIED
    finally:
        server.stop(None).wait()
    assert not ran
    assert [r.details["method"] for r in audit_rows(settings, "access.denied")] == [
        "/rapport.v1.ShadowService/Do"
    ]


def test_hiring_manager_sees_only_the_roles_they_own(server, channel, make_key):
    from rapport.v1 import matching_pb2 as mpb
    from rapport.v1 import matching_pb2_grpc as mpb_grpc

    admin = mpb_grpc.MatchingServiceStub(channel)
    owned, other = (
        admin.CreateRole(
            mpb.CreateRoleRequest(role=mpb.Role(title=title, required_skills=["Python"]))
        )
        for title in ("Backend engineer", "Account executive")
    )
    hm = mpb_grpc.MatchingServiceStub(
        open_channel(server, make_key("hiring_manager", scopes=(f"role:{owned.id}",)))
    )
    assert hm.GetRole(mpb.GetRoleRequest(id=owned.id)).title == "Backend engineer"
    assert code_of(lambda: hm.GetRole(mpb.GetRoleRequest(id=other.id))) == (
        grpc.StatusCode.NOT_FOUND
    )
    assert [r.id for r in hm.ListRoles(mpb.ListRolesRequest()).roles] == [owned.id]
    assert code_of(lambda: hm.CreateRole(mpb.CreateRoleRequest(role=mpb.Role(title="x")))) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    assert len(admin.ListRoles(mpb.ListRolesRequest()).roles) == 2


def test_recruiters_see_their_teams_pools_and_shared_ones(server, channel, make_key):
    admin = pb_grpc.CandidateServiceStub(channel)
    person_id = admin.CreateCandidate(pb.CreateCandidateRequest(candidate=person(1))).id
    shared = admin.CreatePool(pb.CreatePoolRequest(pool=pb.Pool(name="shared")))  # no team
    emea = stub_for(server, make_key("recruiter", team="emea"))
    apac = stub_for(server, make_key("recruiter", team="apac"))
    theirs = emea.CreatePool(pb.CreatePoolRequest(pool=pb.Pool(name="emea backend")))
    emea.AddToPool(pb.AddToPoolRequest(pool_id=theirs.id, candidate_ids=[person_id]))

    assert {p.id for p in emea.ListPools(pb.ListPoolsRequest()).pools} == {shared.id, theirs.id}
    assert {p.id for p in apac.ListPools(pb.ListPoolsRequest()).pools} == {shared.id}
    for call in (
        lambda: apac.ListPool(pb.ListPoolRequest(pool_id=theirs.id)),
        lambda: apac.AddToPool(pb.AddToPoolRequest(pool_id=theirs.id, candidate_ids=[person_id])),
    ):
        assert code_of(call) == grpc.StatusCode.NOT_FOUND
    apac.AddToPool(pb.AddToPoolRequest(pool_id=shared.id, candidate_ids=[person_id]))
    assert len(emea.ListPool(pb.ListPoolRequest(pool_id=theirs.id)).members) == 1
    # candidates themselves are not team-scoped, and admins see every pool
    assert apac.GetCandidate(pb.GetCandidateRequest(id=person_id)).emails
    assert len(admin.ListPools(pb.ListPoolsRequest()).pools) == 2
