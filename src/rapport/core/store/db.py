"""Engine, sessions and the schema gate.

Alembic is the only schema path: `upgrade()` runs the migrations, and `Database` refuses
to serve a database whose revision is not the code's head.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from rapport.core.errors import SchemaOutOfDate
from rapport.core.store import sealing

MIGRATIONS = Path(__file__).parent / "migrations"


def dialect_insert(session: Session, table):
    """An INSERT of the session's dialect, so ON CONFLICT clauses can be added (both
    SQLite and PostgreSQL have them, under the same SQLAlchemy API)."""
    name = session.get_bind().dialect.name
    return postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # Take transaction control from pysqlite. Writers BEGIN IMMEDIATE: a deferred
        # transaction that reads and then writes fails at once with "database is locked"
        # when another writer got in between, instead of waiting its turn.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _sqlite_begin(conn) -> None:
    immediate = conn.get_execution_options().get("rapport_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: index upkeep of big imports stays in memory
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute("PRAGMA wal_autocheckpoint=20000")
    cur.close()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head", *, settings=None) -> None:
    """Bring the schema at `url` to `revision` (what `rapport db upgrade` runs). Migrations
    that seal or open contact details use the keys `settings` configure (default: the
    environment's)."""
    _migrate(command.upgrade, url, revision, settings)


def downgrade(url: str, revision: str, *, settings=None) -> None:
    _migrate(command.downgrade, url, revision, settings)


def _migrate(run, url: str, revision: str, settings) -> None:
    engine = make_engine(url)
    sealing.install(engine, settings)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            run(cfg, revision)
    finally:
        engine.dispose()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


class Database:
    """One engine and its session factory; checks the schema revision on open."""

    def __init__(self, url: str, *, check_schema: bool = True, settings=None) -> None:
        """`settings` give the contact-detail keys (default: the environment's settings)."""
        self.url = url
        self.engine = make_engine(url)
        sealing.install(self.engine, settings)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writer_sessions = sessionmaker(
            self.engine.execution_options(rapport_write=True), expire_on_commit=False
        )
        if check_schema:
            current, head = current_revision(self.engine), head_revision()
            if current != head:
                self.engine.dispose()
                raise SchemaOutOfDate(current, head)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any error, always closes."""
        with self._writer_sessions.begin() as session:
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def refresh_statistics(self) -> None:
        """After a bulk load: fresh planner statistics, or PostgreSQL keeps planning for the
        empty tables it last sampled (seq scans where an index lookup takes a millisecond).
        Autovacuum would get there too, a minute or more later."""
        if self.dialect == "postgresql":
            # VACUUM also marks pages all-visible, which index-only scans need; it cannot
            # run inside a transaction.
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM (ANALYZE) candidates, candidate_skills, identities")
        else:
            # a full ANALYZE: `PRAGMA optimize` samples only some tables, and half the
            # statistics led SQLite to probe by country for each skill match (2x slower)
            with self.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")

    def planned_rows(self, table: str) -> int | None:
        """PostgreSQL: the row count `table`'s statistics describe (0 if it was never
        analyzed). Other backends: None, they keep no such estimate."""
        if self.dialect != "postgresql":
            return None
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%(t)s)", {"t": table}
            ).scalar()
        return max(0, int(rows or 0))

    def analyze(self, tables: Sequence[str]) -> None:
        """PostgreSQL: fresh statistics for `tables` in the middle of a bulk load, so that
        lookups by key keep probing indexes (ANALYZE blocks no writer). A no-op elsewhere."""
        if self.dialect == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"ANALYZE {', '.join(tables)}")

    @functools.cached_property
    def read_audit(self):
        """The batched audit of bulk reads (rapport.core.store.read_audit)."""
        from rapport.core.store.read_audit import ReadAuditor

        return ReadAuditor(self)

    def close(self) -> None:
        if "read_audit" in self.__dict__:
            self.read_audit.close()
        self.engine.dispose()
