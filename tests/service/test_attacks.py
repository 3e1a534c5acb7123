"""Bad input and attacks over a real in-process server (issue 7, "Bad input and attack").

Each test tries one family of attacks with a real key over gRPC and shows the exact status,
that the error tells nothing it should not (no SQL, no stack trace, no other person's data)
and that nothing was written (row counts of the data tables and the change feed, and the
write actions of the audit log, before and after).

The threats, and where each is tested (test_... names below are in this file):

  SQL injection in ListCandidates filters: quotes, comments,   test_injection_in_list_filters_
    LIKE wildcards (% _ \\), unicode look-alikes, zero-width     matches_only_the_legitimate,
    and bidi characters match nobody (not_in: everybody);       test_malformed_filters_are_
    unknown fields / operators, NUL, values over 2048 chars,    invalid_argument_with_the_field
    absurd day counts, blank skills, > 50 conditions, > 500
    values are INVALID_ARGUMENT with the field. Rules are a
    flat conjunction by schema: no nesting to abuse.
  SQL injection in segment rules (CreateSegment,               test_injection_in_segment_rules_
    PreviewSegment) and content audiences (CreateContent)        is_data_not_sql, test_template_
                                                                 escapes_are_refused_when_...
  template injection: __class__/__mro__, config, self,         test_template_escapes_are_
    lipsum/cycler globals, import/include/extends, private       refused_when_content_is_saved,
    attributes, attr/format filters, range(10**9), set,          test_template_escapes_are_
    macros, a 10**9 nested-loop bomb: refused at save time       refused_in_sequence_steps
  a text bomb (chained replace) that passes the save check:    test_a_text_bomb_renders_safely_
    refused at render time, fast, nothing sent or written        or_not_at_all
  header injection through CRLF in names, e-mail addresses,    test_crlf_in_names_and_addresses_
    sender names, subjects (PreviewStep, TestSend on the wire)   never_becomes_a_header
  oversized free-text fields of CreateCandidate (each named)   test_every_free_text_field_of_
                                                                 create_candidate_is_bounded
  malformed UTF-8, lone surrogates, NUL and controls in        test_malformed_utf8_and_lone_
    imports (refused per record)                                 surrogates_in_imports_...
  NUL in any string of any request (PostgreSQL refuses it)     test_nul_bytes_in_any_string_...
  privilege escalation: recruiter erasing / running            test_privilege_escalation_is_
    retention, hiring manager updating / importing / creating    denied_audited_and_writes_nothing
    segments, outreach engine creating content / exporting /
    scanning duplicates / watching / reading the audit log,
    data scientist exporting / creating: denied and audited
  key management over gRPC (not exposed; guessed methods       test_key_management_is_not_
    refused)                                                     reachable_over_grpc
  a concurrent flood from one key; another key keeps working   test_a_concurrent_flood_from_one_
                                                                 key_leaves_other_keys_working
  resurrection of an erased person (e-mail in other case,      test_an_erased_person_cannot_come_
    phone in other formats; create and import)                   back_in_another_case_or_format
  missing, forged, expired and revoked keys; wrong scheme      tests/service/test_auth.py
  role denials audited; every RPC in the authorization table   tests/service/test_auth.py
  hiring manager outside their pools (NOT_FOUND, no leak)      tests/service/test_auth.py
  contact masking and pseudonymisation                         tests/service/test_auth.py
  per-key rate limit (sequential); oversized messages          tests/service/test_auth.py
  spoofed x-actor; plaintext against TLS; mTLS without cert    tests/service/test_auth.py
  erasure reaching index, scoring, content, export, training   tests/service/test_privacy_erasure.py
  tampering with the audit log                                 tests/unit/test_audit_chain.py
"""

from __future__ import annotations

import email
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from email.policy import default as DEFAULT_POLICY

import grpc
import pytest
from auth_helpers import create_key, open_channel, running
from google.rpc import error_details_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from grpc_status import rpc_status
from mail_helpers import running as running_sink
from sqlalchemy import text

from rapport.core.config import Settings
from rapport.core.privacy import ERASED_MESSAGE
from rapport.v1 import candidates_pb2 as cpb
from rapport.v1 import candidates_pb2_grpc as cpb_grpc
from rapport.v1 import common_pb2
from rapport.v1 import content_pb2 as tpb
from rapport.v1 import content_pb2_grpc as tpb_grpc
from rapport.v1 import outreach_pb2 as opb
from rapport.v1 import outreach_pb2_grpc as opb_grpc
from rapport.v1 import privacy_pb2 as ppb
from rapport.v1 import privacy_pb2_grpc as ppb_grpc

# Tables whose row counts must not move when a request is refused.
DATA_TABLES = (
    "candidates",
    "identities",
    "candidate_skills",
    "timeline_events",
    "pools",
    "pool_members",
    "segments",
    "change_feed",
    "merges",
    "import_fingerprints",
    "content_items",
    "outreach_sequences",
    "outreach_steps",
    "outreach_enrolments",
    "outreach_sends",
    "erasures",
    "erasure_tombstones",
    "consent_events",
    "api_keys",
)
# What an error may never say.
LEAKS = re.compile(
    r"select |insert |update |delete |drop |sqlite|psycopg|sqlalchemy|traceback|"
    r'file "|\.py\b|syntax error at|operationalerror|integrityerror',
    re.IGNORECASE,
)
INJECTIONS = (
    "' OR 1=1 --",
    "' OR '1'='1",
    '"; DROP TABLE candidates; --',
    "'); DELETE FROM candidates; --",
    "%",
    "_",
    "\\",
    "%%",
    '%"',
    'guild" OR "1"="1',
    "python%",
    "python_guild",
    "*",
    "\uff30\uff39\uff34\uff28\uff2f\uff2e-GUILD",  # full-width look-alike
    "python\u200b-guild",  # zero-width space
    "\u202epython-guild",  # right-to-left override
    "python-guild\u0000",  # NUL: PostgreSQL refuses it in text
    "x" * 10_000,
)


# ------------------------------------------------------------------ helpers


def code_of(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value


def violations(err: grpc.RpcError) -> dict[str, str]:
    out: dict[str, str] = {}
    status = rpc_status.from_call(err)
    for detail in status.details if status else ():
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            out.update({v.field: v.description for v in bad.field_violations})
    return out


def assert_refused(
    call,
    code: grpc.StatusCode,
    *,
    field: str = "",
    secrets: tuple[str, ...] = (),
    echo: tuple[str, ...] = (),
) -> grpc.RpcError:
    """`call` fails with `code` (and a violation of `field`, prefix match), and neither its
    message nor its details name SQL, a stack trace or any of `secrets`. Quoting the
    caller's own input back (`echo`: an unknown field name, say) is not a leak."""
    err = code_of(call)
    assert err.code() == code, (err.code(), err.details())
    said = (err.details() or "") + " " + json.dumps(violations(err))
    mine = said
    for own in sorted(echo, key=len, reverse=True):
        mine = mine.replace(own, "").replace(json.dumps(own)[1:-1], "")
    assert not LEAKS.search(mine), said
    for secret in secrets:
        assert secret.lower() not in said.lower(), (secret, said)
    if field:
        assert any(f.startswith(field) for f in violations(err)), (field, violations(err))
    return err


def snapshot(db) -> dict[str, int]:
    """Row counts of the data tables, plus the audit rows that record a write."""
    with db.read() as s:
        counts = {t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in DATA_TABLES}
        actions = s.execute(text("SELECT action FROM audit_log")).scalars().all()
    counts["audit writes"] = sum(1 for a in actions if not _read_or_denial(a))
    return counts


def _read_or_denial(action: str) -> bool:
    return action.startswith("access.") or action.endswith(("read", ".list", ".preview"))


def denials(db, method: str) -> list[dict]:
    with db.read() as s:
        rows = s.execute(
            text("SELECT details FROM audit_log WHERE action = 'access.denied'")
        ).scalars()
        found = [d if isinstance(d, dict) else json.loads(d) for d in rows]
    return [d for d in found if d["method"].endswith("/" + method)]


def person(n: int, **kw) -> cpb.Candidate:
    return cpb.Candidate(
        first_name=kw.pop("first_name", f"Ada{n}"),
        last_name=kw.pop("last_name", "Lovelace"),
        emails=kw.pop("emails", [f"ada{n}@example.com"]),
        phones=kw.pop("phones", [f"+44 20 7946 09{n:02d}"]),
        headline="Senior Backend Engineer",
        location=kw.pop("location", common_pb2.Location(country="GB")),
        **kw,
    )


def strings_of(r: common_pb2.Rule) -> tuple[str, ...]:
    return tuple({s for c in r.conditions for s in (c.field, c.op, *c.values)})


def rule(*conditions: tuple[str, str, list[str]]) -> common_pb2.Rule:
    return common_pb2.Rule(
        conditions=[common_pb2.Condition(field=f, op=o, values=v) for f, o, v in conditions]
    )


def listed(stub, filter_rule: common_pb2.Rule) -> set[str]:
    got = stub.ListCandidates(cpb.ListCandidatesRequest(filter=filter_rule, page_size=1000))
    return {c.id for c in got.candidates}


def ndjson_import(stub, data: bytes, fmt=cpb.IMPORT_FORMAT_NDJSON, **header):
    def requests():
        yield cpb.ImportCandidatesRequest(
            header=cpb.ImportHeader(format=fmt, detail=cpb.IMPORT_DETAIL_ALL, **header)
        )
        yield cpb.ImportCandidatesRequest(chunk=data)

    return stub.ImportCandidates(requests(), timeout=60)


# ------------------------------------------------------------------ a local SMTP sink


@pytest.fixture
def sink():
    with running_sink() as box:
        yield box


@pytest.fixture
def settings(settings, sink) -> Settings:
    """The root settings with outreach pointed at the local sink."""
    return Settings(
        **(
            settings.model_dump()
            | {
                "outreach_smtp_host": "127.0.0.1",
                "outreach_smtp_port": sink.port,
                "outreach_smtp_timeout_s": 10.0,
                "outreach_from_address": "talent@rapport.test",
                "outreach_from_name": "Rapport Talent",
                "outreach_reply_address": "replies@rapport.test",
                "outreach_unsubscribe_url": "https://rapport.test/u",
                "outreach_trigger_interval_s": 3600.0,
            }
        )
    )


@pytest.fixture
def candidates(channel) -> cpb_grpc.CandidateServiceStub:
    return cpb_grpc.CandidateServiceStub(channel)


# ------------------------------------------------------------------ 1. SQL injection


def test_injection_in_list_filters_matches_only_the_legitimate(candidates, db):
    ana = candidates.CreateCandidate(
        cpb.CreateCandidateRequest(
            candidate=person(1, tags=["python-guild"], source="referral", languages=["en"])
        )
    ).id
    ben = candidates.CreateCandidate(
        cpb.CreateCandidateRequest(
            candidate=person(2, tags=["o'brien"], source="linkedin", languages=["de"])
        )
    ).id
    cai = candidates.CreateCandidate(cpb.CreateCandidateRequest(candidate=person(3))).id
    everyone = {ana, ben, cai}
    # the legitimate matches, quotes included
    assert listed(candidates, rule(("tag", "in", ["python-guild"]))) == {ana}
    assert listed(candidates, rule(("tag", "in", ["o'brien"]))) == {ben}
    assert listed(candidates, rule(("source", "in", ["linkedin"]))) == {ben}
    assert listed(candidates, rule(("language", "in", ["en"]))) == {ana}
    before = snapshot(db)
    for name in ("tag", "source", "country", "timezone", "language", "pool", "skill"):
        for value in INJECTIONS:
            # NUL, or a value longer than any stored one: refused
            if len(value) > 2048 or "\x00" in value:
                assert_refused(
                    lambda n=name, v=value: listed(candidates, rule((n, "in", [v]))),
                    grpc.StatusCode.INVALID_ARGUMENT,
                    # NUL: refused for any request field; length: by the rule check
                    field="filter.conditions[0].values"
                    if "\x00" in value
                    else "rule.conditions[0].values",
                )
                continue
            got = listed(candidates, rule((name, "in", [value])))
            assert got == set(), (name, value)  # matches nobody, never everybody
            assert listed(candidates, rule((name, "not_in", [value]))) == everyone, (name, value)
    assert snapshot(db) == before
    assert len(candidates.ListCandidates(cpb.ListCandidatesRequest()).candidates) == 3


def test_malformed_filters_are_invalid_argument_with_the_field(candidates, db):
    candidates.CreateCandidate(cpb.CreateCandidateRequest(candidate=person(1)))
    before = snapshot(db)
    cases = [
        (rule(("first_name' OR '1'='1", "in", ["x"])), "conditions[0].field"),
        (rule(("country); DROP TABLE candidates; --", "in", ["x"])), "conditions[0].field"),
        (rule(("country", "LIKE", ["%"])), "conditions[0].op"),
        (rule(("country", "in ('GB') OR 1=1 --", ["GB"])), "conditions[0].op"),
        (rule(("country", "in", [])), "conditions[0].values"),
        (rule(("country", "in", ["GB", ""])), "conditions[0].values"),
        (rule(("country", "in", ["GB"] * 501)), "conditions[0].values"),
        (rule(("last_contacted_days", "within", ["1; DROP TABLE candidates"])), "conditions[0]"),
        (rule(("last_contacted_days", "within", ["9" * 400])), "conditions[0].values"),
        (rule(("last_contacted_days", "within", ["999999999"])), "conditions[0].values"),
        (rule(("last_contacted_days", "not_within", ["²"])), "conditions[0].values"),
        (rule(("last_contacted_days", "within", ["-1"])), "conditions[0].values"),
        (rule(("seniority", "gte", ["' OR 1=1 --"])), "conditions[0].values"),
        (rule(("reached_final_round", "is", ["1=1"])), "conditions[0].values"),
        (rule(("skill", "in", ["   "])), "conditions[0].values"),
        (rule(("skill", "all", ["python", "\t"])), "conditions[0].values"),
        (rule(*[("country", "in", ["GB"])] * 51), "conditions"),
        (rule(("tag", "in", ["x" * 100_000])), "conditions[0].values"),
    ]
    for bad, where in cases:
        assert_refused(
            lambda r=bad: candidates.ListCandidates(cpb.ListCandidatesRequest(filter=r)),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="rule." + where,
            secrets=("ada1@example.com",),
            echo=strings_of(bad),
        )
    assert snapshot(db) == before


def test_injection_in_segment_rules_is_data_not_sql(candidates, db):
    ana = candidates.CreateCandidate(
        cpb.CreateCandidateRequest(candidate=person(1, tags=["python-guild"]))
    ).id
    ben = candidates.CreateCandidate(cpb.CreateCandidateRequest(candidate=person(2))).id
    before = snapshot(db)
    for i, (bad, where) in enumerate(
        [
            (rule(("tag' OR 1=1 --", "in", ["x"])), "conditions[0].field"),
            (rule(("tag", "= 'x' OR 1=1 --", ["x"])), "conditions[0].op"),
            (rule(*[("tag", "in", ["x"])] * 51), "conditions"),
            (rule(("tag", "in", ["x" * 100_000])), "conditions[0].values"),
        ]
    ):
        segment = cpb.Segment(name=f"evil-{i}", rule=bad)
        assert_refused(
            lambda s=segment: candidates.CreateSegment(cpb.CreateSegmentRequest(segment=s)),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="segment.rule." + where,
            echo=strings_of(bad),
        )
        assert_refused(
            lambda r=bad: candidates.PreviewSegment(cpb.PreviewSegmentRequest(rule=r)),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="rule." + where,
            echo=strings_of(bad),
        )
    assert snapshot(db) == before
    # An injection in a value is a value: saved verbatim, matching nobody (or everybody
    # for not_in), and the candidates table is still there.
    values = [v for v in INJECTIONS if "\x00" not in v and len(v) < 300]
    saved = candidates.CreateSegment(
        cpb.CreateSegmentRequest(
            segment=cpb.Segment(name="'; DROP TABLE segments; --", rule=rule(("tag", "in", values)))
        )
    )
    (listed_back,) = candidates.ListSegments(cpb.ListSegmentsRequest()).segments
    assert listed_back.name == "'; DROP TABLE segments; --"
    assert list(listed_back.rule.conditions[0].values) == values
    preview = candidates.PreviewSegment(cpb.PreviewSegmentRequest(segment_id=saved.id))
    assert preview.count == 0 and not preview.candidates
    everyone = candidates.PreviewSegment(
        cpb.PreviewSegmentRequest(rule=rule(("tag", "not_in", values)))
    )
    assert everyone.count == 2 and {c.id for c in everyone.candidates} == {ana, ben}
    legit = candidates.PreviewSegment(
        cpb.PreviewSegmentRequest(rule=rule(("tag", "in", ["python-guild", *values])))
    )
    assert [c.id for c in legit.candidates] == [ana]
    after = snapshot(db)
    assert after["segments"] == before["segments"] + 1 and after["candidates"] == 2


# ------------------------------------------------------------------ 2. template injection

ESCAPES = (
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ self._TemplateReference__context }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{% import os %}",
    "{% import 'os' as os %}{{ os.system('id') }}",
    "{% include '/etc/passwd' %}",
    "{% extends '/etc/passwd' %}",
    "{{ first_name._secret }}",
    "{{ first_name.__class__ }}",
    "{{ first_name['__class__'] }}",
    "{{ first_name|attr('__class__') }}",
    "{{ '%s'|format(first_name) }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{% set x = 1 %}{{ x }}",
    "{% macro m() %}{% endmacro %}",
    "{{ 'a' * 1000000000 }}",
    "{{ first_name }",
    # a loop bomb: nine nested loops over ten items, 10**9 iterations
    "".join(f"{{% for a{i} in [0,1,2,3,4,5,6,7,8,9] %}}" for i in range(9))
    + "x"
    + "{% endfor %}" * 9,
)


def test_template_escapes_are_refused_when_content_is_saved(channel, db):
    content = tpb_grpc.ContentServiceStub(channel)
    before = snapshot(db)
    for i, bad in enumerate(ESCAPES):
        for where in ("body", "subject"):
            item = tpb.ContentItem(
                kind=tpb.CONTENT_KIND_ARTICLE,
                title=f"evil {i}",
                subject="Hello" if where == "body" else bad,
                body=bad if where == "body" else "Hello {{ first_name }}",
                url="https://example.com/a",
            )
            err = assert_refused(
                lambda it=item: content.CreateContent(tpb.CreateContentRequest(item=it)),
                grpc.StatusCode.INVALID_ARGUMENT,
                field=f"item.{where}",
            )
            assert "root:" not in err.details() and "uid=" not in err.details()
    # the audience of an item is a segment rule: the same checks
    for bad, where in (
        (rule(("title' OR 1=1 --", "in", ["x"])), "conditions[0].field"),
        (rule(("tag", "in", ["x\x00"])), "conditions[0].values"),
        (rule(("skill", "in", [" "])), "conditions[0].values"),
    ):
        item = tpb.ContentItem(
            kind=tpb.CONTENT_KIND_ARTICLE, title="aud", subject="Hi", body="Hi", audience=bad
        )
        assert_refused(
            lambda it=item: content.CreateContent(tpb.CreateContentRequest(item=it)),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="item.audience." + where,
            echo=strings_of(bad),
        )
    assert snapshot(db) == before
    assert not content.ListContent(tpb.ListContentRequest()).items


def test_template_escapes_are_refused_in_sequence_steps(channel, db):
    outreach = opb_grpc.OutreachServiceStub(channel)
    before = snapshot(db)
    for i, bad in enumerate(ESCAPES):
        for where in ("body", "subject"):
            step = opb.SequenceStep(
                key="a",
                subject=bad if where == "subject" else "Hi",
                body=bad if where == "body" else "Hi {{ first_name }}",
            )
            seq = opb.Sequence(name=f"evil {i} {where}", steps=[step])
            assert_refused(
                lambda s=seq: outreach.CreateSequence(opb.CreateSequenceRequest(sequence=s)),
                grpc.StatusCode.INVALID_ARGUMENT,
                field=f"sequence.steps[0].{where}",
            )
    assert snapshot(db) == before
    assert not outreach.ListSequences(opb.ListSequencesRequest()).sequences


def test_a_text_bomb_renders_safely_or_not_at_all(channel, candidates, db, sink):
    """A template that passes the save-time check but would grow without bound when
    rendered (chained replace) is stopped at render time: INVALID_ARGUMENT, fast, nothing
    sent and nothing written."""
    outreach = opb_grpc.OutreachServiceStub(channel)
    ana = candidates.CreateCandidate(cpb.CreateCandidateRequest(candidate=person(1))).id
    bomb = '{{ "xxxxxxxxxx"' + '|replace("x", "xxxxxxxxxx")' * 12 + " }}"  # 10**13 chars
    try:
        seq = outreach.CreateSequence(
            opb.CreateSequenceRequest(
                sequence=opb.Sequence(
                    name="bomb", steps=[opb.SequenceStep(subject="Hi", body=bomb)]
                )
            )
        )
    except grpc.RpcError as err:  # refusing it at save time is as good
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        return
    before = snapshot(db)
    started = time.monotonic()
    for call in (
        lambda: outreach.PreviewStep(opb.PreviewStepRequest(sequence_id=seq.id, candidate_id=ana)),
        lambda: outreach.TestSend(
            opb.TestSendRequest(sequence_id=seq.id, to_address="qa@example.com", candidate_id=ana)
        ),
    ):
        assert_refused(call, grpc.StatusCode.INVALID_ARGUMENT, field="template")
    assert time.monotonic() - started < 10
    assert not sink.received
    assert snapshot(db) == before


# ------------------------------------------------------------------ 3. header injection, sizes


def test_crlf_in_names_and_addresses_never_becomes_a_header(channel, candidates, db, sink):
    outreach = opb_grpc.OutreachServiceStub(channel)
    before = snapshot(db)
    for where, candidate in (
        ("emails[0]", person(9, emails=["ana@example.com\r\nBcc: victim@evil.test"])),
        ("emails[0]", person(9, emails=["ana@example.com\nBcc: victim@evil.test"])),
        ("emails[0]", person(9, emails=["<ana@example.com>, victim@evil.test"])),
    ):
        assert_refused(
            lambda c=candidate: candidates.CreateCandidate(cpb.CreateCandidateRequest(candidate=c)),
            grpc.StatusCode.INVALID_ARGUMENT,
            field=where,
        )
    assert snapshot(db) == before
    # A name with CRLF is kept on one line; the subject that carries it stays one header.
    ana = candidates.CreateCandidate(
        cpb.CreateCandidateRequest(
            candidate=person(
                1,
                first_name="Ana\r\nBcc: victim@evil.test\r\n\r\nphish",
                last_name="X\rCc: other@evil.test",
                current_company="Initech\nX-Evil: 1",
                emails=["ana@example.com"],
            )
        )
    ).id
    from rapport.core.domain import ConsentState
    from rapport.core.store import consent

    with db.transaction() as s:
        consent.set_state(s, ana, ConsentState.GRANTED)

    def sequence(subject: str, sender: str = "Talent") -> opb.Sequence:
        return opb.Sequence(
            name="headers",
            sender_name=sender,
            steps=[opb.SequenceStep(subject=subject, body="Hello {{ first_name }}")],
        )

    # a line break typed into a subject template is refused when the sequence is saved
    for subject in ("Hi\r\nBcc: victim@evil.test", "Hi\nX-Evil: 2", "Hi\rX-Evil: 2"):
        assert_refused(
            lambda s=subject: outreach.CreateSequence(
                opb.CreateSequenceRequest(sequence=sequence(s))
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="sequence.steps[0].subject",
        )
    assert snapshot(db)["outreach_sequences"] == before["outreach_sequences"]
    subject = "Hi {{ full_name }} at {{ current_company }}"
    try:
        seq = outreach.CreateSequence(
            opb.CreateSequenceRequest(
                sequence=sequence(subject, sender="Talent\r\nBcc: victim@evil.test")
            )
        )
    except grpc.RpcError as err:  # refusing the sender name is as good as flattening it
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "sender_name" in json.dumps(violations(err))
        seq = outreach.CreateSequence(opb.CreateSequenceRequest(sequence=sequence(subject)))
    shown = outreach.PreviewStep(opb.PreviewStepRequest(sequence_id=seq.id, candidate_id=ana))
    for value in (shown.message.subject, *shown.message.headers.values()):
        assert "\r" not in value and "\n" not in value, value
    assert not {"Bcc", "Cc", "X-Evil"} & set(shown.message.headers)
    assert shown.message.to_address == "ana@example.com"

    assert_refused(
        lambda: outreach.TestSend(
            opb.TestSendRequest(
                sequence_id=seq.id, to_address="qa@example.com\r\nBcc: victim@evil.test"
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="to_address",
    )
    outreach.TestSend(
        opb.TestSendRequest(sequence_id=seq.id, to_address="qa@example.com", candidate_id=ana)
    )
    [mail] = sink.received
    rcpt, data = mail.rcpt_tos, mail.data
    assert rcpt == ["qa@example.com"]
    message = email.message_from_bytes(data, policy=DEFAULT_POLICY)
    assert message["Bcc"] is None and message["Cc"] is None and message["X-Evil"] is None
    # a flattened sender name stays a display name: the addresses are the real ones
    assert [a.addr_spec for a in message["From"].addresses] == ["talent@rapport.test"]
    assert [a.addr_spec for a in message["To"].addresses] == ["qa@example.com"]
    head = data.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"^(bcc|cc|x-evil):", head, re.IGNORECASE | re.MULTILINE)


def test_every_free_text_field_of_create_candidate_is_bounded(candidates, db):
    long = "x" * 301
    candidate = cpb.Candidate(
        external_id=long,
        first_name=long,
        last_name=long,
        emails=["a" * 300 + "@example.com"],
        phones=["+44 20 7946 " + "1" * 300],
        profile_urls=["https://example.com/" + "p" * 3000],
        headline=long,
        summary="s" * 20_001,
        current_company=long,
        location=common_pb2.Location(city=long, country=long, timezone=long),
        languages=[long],
        skills=[common_pb2.Skill(label=long, evidence="e" * 20_001, source=long)],
        source=long,
        tags=[long],
    )
    before = snapshot(db)
    err = assert_refused(
        lambda: candidates.CreateCandidate(cpb.CreateCandidateRequest(candidate=candidate)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    named = set(violations(err))
    expected = {
        "external_id",
        "first_name",
        "last_name",
        "emails[0]",
        "phones[0]",
        "profile_urls[0]",
        "headline",
        "summary",
        "current_company",
        "city",
        "country",
        "timezone",
        "languages[0]",
        "skills[0].name",
        "skills[0].evidence",
        "skills[0].source",
        "source",
        "tags[0]",
    }
    assert expected <= named, (sorted(expected - named), sorted(named - expected))
    # too many items in a list is refused too
    many = person(1, tags=[f"t{i}" for i in range(51)])
    assert_refused(
        lambda: candidates.CreateCandidate(cpb.CreateCandidateRequest(candidate=many)),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="tags",
    )
    assert snapshot(db) == before


def test_malformed_utf8_and_lone_surrogates_in_imports_are_refused_per_record(candidates, db):
    before = snapshot(db)
    records = [
        b'{"first_name": "Bad\xff\xfe", "emails": ["bad1@example.com"]}',
        b'{"first_name": "Lone \\ud800", "emails": ["bad2@example.com"]}',
        b'{"first_name": "Ok", "last_name": "\\udfff", "emails": ["bad3@example.com"]}',
        b'{"first_name": "Nul\\u0000", "emails": ["bad4@example.com"]}',
        b'{"first_name": "Ctl\\u001b[31m", "emails": ["bad5@example.com"]}',
        b'{"first_name": "Mal", "emails": ["bad6@example.com\\r\\nBcc: x@evil.test"]}',
    ]
    got = ndjson_import(candidates, b"\n".join(records) + b"\n")
    assert got.summary.created == 0 and got.summary.failed == len(records), got.summary
    for result in got.results:
        assert result.outcome == cpb.IMPORT_OUTCOME_FAILED and result.errors, result
        for error in result.errors:
            assert not LEAKS.search(error.reason), error.reason
    csv = b"first_name,email\nBad\xff\xfe,bad7@example.com\nC\xed\xa0\x80,bad8@example.com\n"
    got = ndjson_import(candidates, csv, fmt=cpb.IMPORT_FORMAT_CSV)
    assert got.summary.created == 0 and got.summary.failed == 2, got.summary
    after = snapshot(db)
    assert {k: v for k, v in after.items() if k != "audit writes"} == {
        k: v for k, v in before.items() if k != "audit writes"
    }
    assert after["candidates"] == 0


# ------------------------------------------------------------------ 4. privilege escalation


def test_privilege_escalation_is_denied_audited_and_writes_nothing(
    server, candidates, db, make_key
):
    ana = candidates.CreateCandidate(cpb.CreateCandidateRequest(candidate=person(1))).id
    pool = candidates.CreatePool(cpb.CreatePoolRequest(pool=cpb.Pool(name="backend")))
    candidates.AddToPool(cpb.AddToPoolRequest(pool_id=pool.id, candidate_ids=[ana]))
    recruiter = open_channel(server, make_key("recruiter", label="rec"))
    hm = open_channel(server, make_key("hiring_manager", scopes=(f"pool:{pool.id}",)))
    engine = open_channel(server, make_key("outreach_engine", label="engine"))
    scientist = open_channel(server, make_key("data_scientist", label="ds"))
    denied = grpc.StatusCode.PERMISSION_DENIED
    update = cpb.UpdateCandidateRequest(candidate=cpb.Candidate(id=ana, headline="pwned"))
    update.update_mask.paths.append("headline")
    attempts = [
        (
            "EraseCandidate",
            lambda: ppb_grpc.PrivacyServiceStub(recruiter).EraseCandidate(
                ppb.EraseCandidateRequest(candidate_id=ana, reason="because")
            ),
        ),
        (
            "RunRetention",
            lambda: ppb_grpc.PrivacyServiceStub(recruiter).RunRetention(ppb.RunRetentionRequest()),
        ),
        ("UpdateCandidate", lambda: cpb_grpc.CandidateServiceStub(hm).UpdateCandidate(update)),
        (
            "ImportCandidates",
            lambda: ndjson_import(
                cpb_grpc.CandidateServiceStub(hm), b'{"first_name": "Eve", "emails": ["e@x.io"]}\n'
            ),
        ),
        (
            "CreateSegment",
            lambda: cpb_grpc.CandidateServiceStub(hm).CreateSegment(
                cpb.CreateSegmentRequest(
                    segment=cpb.Segment(name="all", rule=rule(("country", "in", ["GB"])))
                )
            ),
        ),
        (
            "CreateContent",
            lambda: tpb_grpc.ContentServiceStub(engine).CreateContent(
                tpb.CreateContentRequest(
                    item=tpb.ContentItem(
                        kind=tpb.CONTENT_KIND_ARTICLE, title="spam", body="Hi", subject="Hi"
                    )
                )
            ),
        ),
        (
            "ExportCandidate",
            lambda: ppb_grpc.PrivacyServiceStub(engine).ExportCandidate(
                ppb.ExportCandidateRequest(candidate_id=ana)
            ),
        ),
        (
            "FindDuplicates",
            lambda: cpb_grpc.CandidateServiceStub(engine).FindDuplicates(
                cpb.FindDuplicatesRequest()
            ),
        ),
        (
            "WatchChanges",
            lambda: next(
                cpb_grpc.CandidateServiceStub(engine).WatchChanges(
                    cpb.WatchChangesRequest(), timeout=5
                )
            ),
        ),
        (
            "QueryAudit",
            lambda: ppb_grpc.PrivacyServiceStub(engine).QueryAudit(ppb.QueryAuditRequest()),
        ),
        (
            "ExportCandidate",
            lambda: ppb_grpc.PrivacyServiceStub(scientist).ExportCandidate(
                ppb.ExportCandidateRequest(candidate_id=ana)
            ),
        ),
        (
            "CreateCandidate",
            lambda: cpb_grpc.CandidateServiceStub(scientist).CreateCandidate(
                cpb.CreateCandidateRequest(candidate=person(2))
            ),
        ),
    ]
    before = snapshot(db)
    for _method, call in attempts:
        assert_refused(call, denied, secrets=("ada1@example.com", "Lovelace"))
    assert snapshot(db) == before
    for method in {m for m, _ in attempts}:
        expected = sum(1 for m, _ in attempts if m == method)
        assert len(denials(db, method)) == expected, method
    # the candidate is untouched and still there
    got = candidates.GetCandidate(cpb.GetCandidateRequest(id=ana))
    assert got.headline == "Senior Backend Engineer" and got.emails == ["ada1@example.com"]


def test_key_management_is_not_reachable_over_grpc(server, channel, admin_key):
    services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
    assert not any("key" in s.lower() or "auth" in s.lower() for s in services), services
    from google.protobuf import descriptor_pool

    pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
    for name in services - {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}:
        methods = [m.name for m in pool.FindServiceByName(name).methods]
        assert not [m for m in methods if "key" in m.lower()], (name, methods)
    # guessed names are refused to admin too (fail closed) and reveal nothing
    for method in (
        "/rapport.v1.KeyService/CreateKey",
        "/rapport.v1.AuthService/CreateKey",
        "/rapport.v1.CandidateService/CreateKey",
        "/rapport.v1.PrivacyService/RevokeKey",
    ):
        call = channel.unary_unary(method)
        err = code_of(lambda c=call: c(b"", timeout=5))
        assert err.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNIMPLEMENTED)
        assert not LEAKS.search(err.details() or "")


# ------------------------------------------------------------------ 5. a flood


def test_a_concurrent_flood_from_one_key_leaves_other_keys_working(settings, db):
    limited = settings.model_copy(
        update={"auth_rate_limit_per_s": 0.01, "auth_rate_limit_burst": 5}
    )
    flooder = create_key(limited.effective_database_url, "recruiter", label="flooder")
    other = create_key(limited.effective_database_url, "recruiter", label="other")
    with running(limited, services="candidates") as address:
        flood = cpb_grpc.CandidateServiceStub(open_channel(address, flooder))
        calm = cpb_grpc.CandidateServiceStub(open_channel(address, other))
        before = snapshot(db)
        ok_ids: list[str] = []
        codes: list[grpc.StatusCode] = []
        lock = threading.Lock()

        def hammer(n: int) -> None:
            try:
                created = flood.CreateCandidate(
                    cpb.CreateCandidateRequest(candidate=person(n)), timeout=30
                )
                with lock:
                    ok_ids.append(created.id)
                    codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as err:
                assert not LEAKS.search(err.details() or "")
                with lock:
                    codes.append(err.code())

        with ThreadPoolExecutor(max_workers=16) as pool:
            futures = [pool.submit(hammer, n) for n in range(1, 61)]
            # meanwhile the other key keeps working
            for _ in range(2):
                calm.ListPools(cpb.ListPoolsRequest(), timeout=30)
            for f in futures:
                f.result()
        assert len(codes) == 60
        assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}, set(codes)
        assert 1 <= len(ok_ids) <= 6, len(ok_ids)  # the burst (and a refill at most)
        assert calm.ListPools(cpb.ListPoolsRequest(), timeout=30) is not None
        assert len(calm.ListCandidates(cpb.ListCandidatesRequest()).candidates) == len(ok_ids)
        after = snapshot(db)
        assert after["candidates"] - before["candidates"] == len(ok_ids)  # refused: unwritten
        err = code_of(lambda: flood.ListPools(cpb.ListPoolsRequest(), timeout=30))
        assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


# ------------------------------------------------------------------ 6. resurrection


def test_an_erased_person_cannot_come_back_in_another_case_or_format(channel, candidates, db):
    privacy = ppb_grpc.PrivacyServiceStub(channel)
    ana = candidates.CreateCandidate(
        cpb.CreateCandidateRequest(
            candidate=person(
                1,
                first_name="Ana",
                last_name="Erasable",
                emails=["ana.erasable@example.com"],
                phones=["+49 30 1234567"],
                location=common_pb2.Location(country="DE"),
            )
        )
    ).id
    privacy.EraseCandidate(ppb.EraseCandidateRequest(candidate_id=ana, reason="DSR-1"))
    before = snapshot(db)
    for emails in (
        ["ANA.ERASABLE@EXAMPLE.COM"],
        ["  Ana.Erasable@Example.Com  "],
        ["ana.erasable@EXAMPLE.com"],
        ["someone.else@example.com", "Ana.Erasable@example.com"],
    ):
        assert_refused(
            lambda e=emails: candidates.CreateCandidate(
                cpb.CreateCandidateRequest(
                    candidate=person(5, first_name="A.", last_name="E.", emails=e, phones=[])
                )
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            secrets=("ana.erasable", "Erasable"),
        )
    for phones in (["+493012345 67"], ["0049 30 1234567"], ["+49-30-123-4567"], ["030 1234567"]):
        assert_refused(
            lambda p=phones: candidates.CreateCandidate(
                cpb.CreateCandidateRequest(
                    candidate=person(
                        5,
                        first_name="A.",
                        emails=[],
                        phones=p,
                        location=common_pb2.Location(country="DE"),
                    )
                )
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
    rows = [
        {"first_name": "Ana", "emails": ["ANA.Erasable@example.COM"]},
        {"first_name": "Ana", "phones": ["+49 (30) 12 34 567"]},
        {"first_name": "Ana", "phones": ["030-1234567"]},
        {"first_name": "Ana", "phone": "0049301234567"},
    ]
    got = ndjson_import(
        candidates,
        "\n".join(json.dumps(r) for r in rows).encode() + b"\n",
        default_region="DE",
    )
    assert got.summary.created == 0 and got.summary.failed == len(rows), got.summary
    for result in got.results:
        assert any(ERASED_MESSAGE in e.reason for e in result.errors), result
        assert not any("erasable" in e.reason.lower() for e in result.errors), result
    after = snapshot(db)
    # an import run leaves its own audit trail of the attempt, but no candidate or identity
    for table in ("candidates", "identities", "change_feed", "timeline_events"):
        assert after[table] == before[table], table
    assert not candidates.ListCandidates(cpb.ListCandidatesRequest()).candidates


def test_nul_bytes_in_any_string_never_become_an_internal_error(channel, candidates, db):
    """PostgreSQL refuses NUL in text (an internal error, before the fix; SQLite stored it):
    every string a request carries is checked first, and the field is named."""
    content = tpb_grpc.ContentServiceStub(channel)
    outreach = opb_grpc.OutreachServiceStub(channel)
    privacy = ppb_grpc.PrivacyServiceStub(channel)
    ana = candidates.CreateCandidate(cpb.CreateCandidateRequest(candidate=person(1))).id
    nul = "x\x00y"
    before = snapshot(db)
    calls = [
        ("id", lambda: candidates.GetCandidate(cpb.GetCandidateRequest(id=ana + "\x00"))),
        (
            "page_token",
            lambda: candidates.ListCandidates(cpb.ListCandidatesRequest(page_token=nul)),
        ),
        (
            "pool.name",
            lambda: candidates.CreatePool(cpb.CreatePoolRequest(pool=cpb.Pool(name=nul))),
        ),
        (
            "segment.name",
            lambda: candidates.CreateSegment(
                cpb.CreateSegmentRequest(
                    segment=cpb.Segment(name=nul, rule=rule(("country", "in", ["GB"])))
                )
            ),
        ),
        (
            "segment_id",
            lambda: candidates.PreviewSegment(cpb.PreviewSegmentRequest(segment_id=nul)),
        ),
        (
            "item.title",
            lambda: content.CreateContent(
                tpb.CreateContentRequest(
                    item=tpb.ContentItem(kind=tpb.CONTENT_KIND_ARTICLE, title=nul, body="Hi")
                )
            ),
        ),
        (
            "item.fallbacks",
            lambda: content.CreateContent(
                tpb.CreateContentRequest(
                    item=tpb.ContentItem(
                        kind=tpb.CONTENT_KIND_ARTICLE,
                        title="t",
                        body="Hi",
                        fallbacks={"first_name": nul},
                    )
                )
            ),
        ),
        ("id", lambda: content.GetContent(tpb.GetContentRequest(id=nul))),
        (
            "sequence.name",
            lambda: outreach.CreateSequence(
                opb.CreateSequenceRequest(
                    sequence=opb.Sequence(
                        name=nul, steps=[opb.SequenceStep(subject="Hi", body="Hi")]
                    )
                )
            ),
        ),
        (
            "sequence.steps[0].body",
            lambda: outreach.CreateSequence(
                opb.CreateSequenceRequest(
                    sequence=opb.Sequence(
                        name="n", steps=[opb.SequenceStep(subject="Hi", body=nul)]
                    )
                )
            ),
        ),
        (
            "reason",
            lambda: privacy.EraseCandidate(ppb.EraseCandidateRequest(candidate_id=ana, reason=nul)),
        ),
        (
            "candidate_id",
            lambda: privacy.ExportCandidate(ppb.ExportCandidateRequest(candidate_id=nul)),
        ),
        (
            "header.file_name",
            lambda: ndjson_import(candidates, b'{"first_name": "Eve"}\n', file_name=nul),
        ),
    ]
    wrong = []
    for field_name, call in calls:
        err = code_of(call)
        named = violations(err)
        if err.code() != grpc.StatusCode.INVALID_ARGUMENT or not any(
            f.startswith(field_name) for f in named
        ):
            wrong.append((field_name, err.code(), err.details()))
    assert not wrong, wrong
    assert snapshot(db) == before
    assert candidates.GetCandidate(cpb.GetCandidateRequest(id=ana)).id == ana  # not erased
