"""The audit log's hash chain (DESIGN §9): appends stay one gap-free chain under bulk
imports and concurrent writers; modifying, deleting or inserting rows is detected."""

from __future__ import annotations

import os
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from rapport.core import context
from rapport.core.domain import CandidateDraft
from rapport.core.store import audit, candidates
from rapport.core.store import db as store_db
from rapport.core.store.schema import AuditRow

PG_URL = os.environ.get("RAPPORT_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith("postgresql")


def _drafts(n: int, headline: str = "") -> list[CandidateDraft]:
    return [
        CandidateDraft(
            first_name="P", last_name=str(i), headline=headline, emails=[f"p{i}@example.com"]
        )
        for i in range(n)
    ]


def _write(db, n_calls: int = 10) -> None:
    for i in range(n_calls):
        with db.transaction() as s:
            audit.record(s, "test.write", [str(uuid.uuid4())], details={"i": i, "é": "ü"})


def _drop_triggers(db) -> None:
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.exec_driver_sql("DROP TRIGGER audit_log_append_only ON audit_log")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")


def _raw(db, sql: str, **params) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_chain_is_intact_after_many_writes_and_a_bulk_import(db):
    _write(db, 5)
    with db.transaction() as s:
        out = candidates.upsert_batch(s, _drafts(400))
    assert {r.outcome for r in out} == {"created"}
    with db.transaction() as s:  # the same people again with a change: import updates
        candidates.upsert_batch(s, _drafts(50, headline="x"))
    _write(db, 5)
    with db.read() as s:
        result = audit.verify(s, chunk=64)  # several chunks
        seqs = s.execute(select(AuditRow.seq).order_by(AuditRow.seq)).scalars().all()
    assert result.ok, result
    assert result.rows_checked == len(seqs) == 5 + 400 + 50 + 5
    assert seqs == list(range(1, len(seqs) + 1))
    assert result.head_seq == len(seqs)


def test_rows_record_who_and_link_to_the_previous_one(db):
    token = context.set_current(context.RequestContext(request_id="req-1", actor="alice"))
    try:
        with db.transaction() as s:
            audit.record(s, "candidate.read", ["c1", "c2"], details={"fields": ["emails"]})
    finally:
        context.reset(token)
    with db.read() as s:
        rows = s.execute(select(AuditRow).order_by(AuditRow.seq)).scalars().all()
    assert [(r.seq, r.actor, r.request_id, r.target_id) for r in rows] == [
        (1, "alice", "req-1", "c1"),
        (2, "alice", "req-1", "c2"),
    ]
    assert rows[0].prev_hash == audit.GENESIS and rows[1].prev_hash == rows[0].row_hash
    assert rows[1].row_hash == audit.row_hash(
        2,
        rows[1].at,
        "alice",
        "",
        "req-1",
        "candidate.read",
        "candidate",
        "c2",
        {"fields": ["emails"]},
        rows[0].row_hash,
    )


def test_a_rolled_back_write_leaves_no_gap(db):
    _write(db, 2)
    with pytest.raises(RuntimeError), db.transaction() as s:
        audit.record(s, "test.lost", ["x", "y"])
        raise RuntimeError("abort")
    _write(db, 2)
    with db.read() as s:
        result = audit.verify(s)
    assert result.ok and result.rows_checked == 4


def test_audit_rows_cannot_be_updated_or_deleted(db):
    _write(db, 3)
    for sql in (
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 3",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            _raw(db, sql)
    with db.read() as s:
        assert audit.verify(s).ok


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("details", '{"i": 99}'),
        ("actor", "mallory"),
        ("action", "test.other"),
        ("target_id", "someone-else"),
        ("at", "shift"),
    ],
)
def test_a_modified_row_is_detected_at_its_seq(db, column, value):
    _write(db, 10)
    _drop_triggers(db)
    if column == "at":
        with db.read() as s:
            at = s.execute(select(AuditRow.at).where(AuditRow.seq == 6)).scalar_one()
        with db.engine.begin() as conn:
            conn.execute(
                AuditRow.__table__.update()
                .where(AuditRow.seq == 6)
                .values(at=at - timedelta(seconds=1))
            )
    else:
        _raw(db, f"UPDATE audit_log SET {column} = :v WHERE seq = 6", v=value)
    with db.read() as s:
        result = audit.verify(s)
    assert not result.ok
    assert result.first_bad_seq == 6 and result.rows_checked == 5
    assert "modified" in result.reason


def test_a_rehashed_row_still_breaks_the_link_to_the_next(db):
    _write(db, 10)
    _drop_triggers(db)
    with db.read() as s:
        r = s.execute(select(AuditRow).where(AuditRow.seq == 4)).scalar_one()
        forged = audit.row_hash(
            4, r.at, "mallory", "", r.request_id, r.action, r.target_type, r.target_id,
            r.details, r.prev_hash,
        )  # fmt: skip
    _raw(db, "UPDATE audit_log SET actor = 'mallory', row_hash = :h WHERE seq = 4", h=forged)
    with db.read() as s:
        result = audit.verify(s)
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "prev_hash" in result.reason


@pytest.mark.parametrize(("seq", "bad"), [(1, 1), (7, 7), (10, 10)])
def test_a_deleted_row_is_detected(db, seq, bad):
    _write(db, 10)
    _drop_triggers(db)
    _raw(db, "DELETE FROM audit_log WHERE seq = :s", s=seq)
    with db.read() as s:
        result = audit.verify(s)
    assert (result.ok, result.first_bad_seq) == (False, bad)
    assert "missing" in result.reason


def test_a_row_inserted_past_the_head_is_detected(db):
    _write(db, 3)
    with db.read() as s:
        last = s.execute(select(AuditRow).where(AuditRow.seq == 3)).scalar_one()
    with db.engine.begin() as conn:
        conn.execute(
            AuditRow.__table__.insert().values(
                seq=4,
                at=datetime.now(UTC),
                actor="mallory",
                key_id="",
                request_id="",
                action="x",
                target_type="candidate",
                target_id="t",
                details={},
                prev_hash=last.row_hash,
                row_hash="0" * 64,
            )
        )
    with db.read() as s:
        result = audit.verify(s)
    assert (result.ok, result.first_bad_seq) == (False, 4)


def test_concurrent_writers_keep_one_chain(db):
    threads, rounds = 6, 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer(t: int) -> None:
        try:
            start.wait()
            for i in range(rounds):
                with db.transaction() as s:
                    # read something first, as use cases do, then append
                    s.execute(select(func.count()).select_from(AuditRow)).scalar_one()
                    audit.record(s, "test.concurrent", [f"{t}-{i}-a", f"{t}-{i}-b"])
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    with db.read() as s:
        result = audit.verify(s)
        seqs = s.execute(select(AuditRow.seq).order_by(AuditRow.seq)).scalars().all()
    assert result.ok, result
    assert seqs == list(range(1, threads * rounds * 2 + 1))


def test_query_filters(db):
    token = context.set_current(context.RequestContext(request_id="r", actor="bob"))
    try:
        with db.transaction() as s:
            audit.record(s, "candidate.read", ["c1"])
            audit.record(s, "candidate.update", ["c1", "c2"], details={"fields": ["headline"]})
    finally:
        context.reset(token)
    _write(db, 2)
    with db.read() as s:
        assert [e.seq for e in audit.query(s, candidate_id="c1")] == [2, 1]
        assert [e.action for e in audit.query(s, actor="bob", action="candidate.*")] == [
            "candidate.update",
            "candidate.update",
            "candidate.read",
        ]
        assert len(audit.query(s, action="test.write")) == 2
        assert len(audit.query(s, limit=2)) == 2
        later = datetime.now(UTC) + timedelta(minutes=1)
        assert audit.query(s, since=later) == []
        assert len(audit.query(s, until=later)) == 5
        assert audit.query(s, action="candidate%") == []  # no wildcard smuggling


def _cli(settings, monkeypatch, *args: str):
    from rapport.cli.main import app

    monkeypatch.setenv("RAPPORT_HOME", str(settings.home))
    monkeypatch.setenv("RAPPORT_DATABASE_URL", settings.effective_database_url)
    return CliRunner().invoke(app, list(args))


def test_cli_verify_and_query(db, settings, monkeypatch):
    _write(db, 4)
    ok = _cli(settings, monkeypatch, "audit", "verify")
    assert ok.exit_code == 0, (ok.stdout, ok.stderr)
    assert "intact" in ok.stdout
    listed = _cli(settings, monkeypatch, "--json", "audit", "query", "--action", "test.write")
    assert listed.exit_code == 0 and listed.stdout.count('"seq"') == 4
    _drop_triggers(db)
    _raw(db, "UPDATE audit_log SET details = :v WHERE seq = 3", v='{"i": 7}')
    broken = _cli(settings, monkeypatch, "audit", "verify")
    assert broken.exit_code == 1
    assert "seq 3" in broken.stderr and "BROKEN" in broken.stderr
    as_json = _cli(settings, monkeypatch, "--json", "audit", "verify")
    assert as_json.exit_code == 1 and '"first_bad_seq": 3' in as_json.stdout


def test_upgrade_chains_rows_written_before_the_chain(tmp_path):
    """Migration 0008 renumbers and chains an existing log (ids with gaps, as a PostgreSQL
    sequence leaves them), so verify passes on an upgraded store."""
    if ON_POSTGRES:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        url = url.render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path / 'old.db'}"
    try:
        store_db.upgrade(url, "0007")
        engine = store_db.make_engine(url)
        with engine.begin() as conn:
            for seq in (3, 5, 6, 11):
                conn.execute(
                    text(
                        "INSERT INTO audit_log (seq, at, actor, request_id, action, target_type,"
                        " target_id, details, prev_hash, hash) VALUES (:seq, :at, 'old', '',"
                        " 'candidate.create', 'candidate', :t, :d, '', '')"
                    ),
                    {
                        "seq": seq,
                        "at": datetime(2026, 1, 1, 0, 0, seq, tzinfo=UTC),
                        "t": f"c{seq}",
                        "d": '{"b": 1, "a": [2]}',
                    },
                )
        engine.dispose()
        store_db.upgrade(url)
        db = store_db.Database(url)
        try:
            with db.read() as s:
                rows = s.execute(select(AuditRow).order_by(AuditRow.seq)).scalars().all()
                assert [(r.seq, r.target_id) for r in rows] == [
                    (1, "c3"),
                    (2, "c5"),
                    (3, "c6"),
                    (4, "c11"),
                ]
                assert audit.verify(s).ok
            _write(db, 2)
            with db.read() as s:
                result = audit.verify(s)
            assert result.ok and result.rows_checked == 6
            # and back down: the chain columns, head and triggers go
            with db.engine.begin() as conn:
                cfg = store_db.alembic_config(url)
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "0007")
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DELETE FROM audit_log WHERE seq = 1")
        finally:
            db.close()
    finally:
        if ON_POSTGRES:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def test_a_change_equal_in_python_but_not_in_text_is_detected(db):
    """1 == 1.0 == True in Python: verify compares the canonical text, not the dicts."""
    with db.transaction() as s:
        audit.record(s, "test.same", ["a", "b", "c"], details={"n": 1})
    _drop_triggers(db)
    _raw(db, "UPDATE audit_log SET details = :v WHERE seq = 2", v='{"n": 1.0}')
    with db.read() as s:
        result = audit.verify(s)
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_bulk_reads_are_written_later_in_order_with_who_and_when_of_the_call(db):
    from rapport.core.store.read_audit import ReadAuditor

    auditor = ReadAuditor(db, interval=3600)  # no background round during the test
    token = context.set_current(context.RequestContext(request_id="req-7", actor="bob"))
    try:
        auditor.note("candidate.list_read", ["c1", "c2"])
        auditor.note("pool.members_read", ["c3"], details={"pool": "p1"})
        auditor.note("candidate.list_read", [])  # an empty page: nothing to audit
    finally:
        context.reset(token)
    with db.read() as s:
        assert s.execute(select(AuditRow)).first() is None  # not on the request path
    _write(db, 1)  # a write in between keeps its own place in the chain
    assert auditor.flush() == 3
    with db.read() as s:
        rows = s.execute(select(AuditRow).order_by(AuditRow.seq)).scalars().all()
        assert audit.verify(s).ok
    reads = [(r.action, r.actor, r.request_id, r.target_id, r.details) for r in rows[1:]]
    assert reads == [
        ("candidate.list_read", "bob", "req-7", "c1", {}),
        ("candidate.list_read", "bob", "req-7", "c2", {}),
        ("pool.members_read", "bob", "req-7", "c3", {"pool": "p1"}),
    ]
    assert rows[1].at < rows[0].at  # stamped when read, not when written
    auditor.note("candidate.list_read", ["c4"])
    auditor.close()  # close writes what is left, and later notes are written at once
    auditor.note("candidate.list_read", ["c5"])
    with db.read() as s:
        targets = s.execute(select(AuditRow.target_id).order_by(AuditRow.seq)).scalars().all()
    assert targets[-2:] == ["c4", "c5"]


def test_bulk_read_rows_are_kept_when_the_store_refuses_them_and_a_backlog_blocks(db):
    from rapport.core.store.read_audit import ReadAuditor

    auditor = ReadAuditor(db, interval=3600, max_pending=3)
    _raw(db, "DROP TABLE audit_log")  # the store cannot take rows now
    auditor.note("candidate.list_read", ["c1"])
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        auditor.note("candidate.list_read", ["c2", "c3"])  # backlog: the reader writes
    with pytest.raises(Exception):  # noqa: B017
        auditor.flush()
    assert auditor.backlog == 3  # nothing dropped
