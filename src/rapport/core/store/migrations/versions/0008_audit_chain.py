"""Audit hash chain: key_id, row_hash, the audit_head row, append-only triggers.

Rows already in the log are renumbered 1..n (seq order kept) and chained, so that
`rapport audit verify` passes on an upgraded store; from here on only `audit.record`
appends, and triggers reject UPDATE and DELETE of audit rows on both backends.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 04:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
CHUNK = 5000

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
        MESSAGE = 'audit_log is append-only (' || TG_OP || ' refused)';
END
$$
"""
PG_TRIGGERS = (
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)
SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (UPDATE refused)'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (DELETE refused)'); END",
)


def create_triggers(bind) -> None:
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(PG_FUNCTION)
        for sql in PG_TRIGGERS:
            bind.exec_driver_sql(sql)
    else:
        for sql in SQLITE_TRIGGERS:
            bind.exec_driver_sql(sql)


def drop_triggers(bind) -> None:
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_update")
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_delete")


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("key_id", sa.String(length=64), nullable=False, server_default="")
        )
    # both backends rename in place (SQLite >= 3.25)
    bind.exec_driver_sql("ALTER TABLE audit_log RENAME COLUMN hash TO row_hash")
    op.create_table(
        "audit_head",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    last_seq, last_hash = _chain_existing_rows(bind)
    bind.execute(
        sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, :s, :h)"),
        {"s": last_seq, "h": last_hash},
    )
    create_triggers(bind)


def _chain_existing_rows(bind) -> tuple[int, str]:
    """Renumber rows 1..n in seq order and compute their hashes (rows written before the
    chain existed)."""
    from rapport.core.store.audit import row_hash
    from rapport.core.store.schema import UtcDateTime

    count = bind.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()
    if not count:
        return 0, GENESIS
    # Old seqs go negative first, then rows are renumbered 1..n in old seq order (-seq
    # descending) as they are chained: a new seq never collides with one still in use.
    bind.exec_driver_sql("UPDATE audit_log SET seq = -seq")
    log = sa.table(
        "audit_log",
        sa.column("seq", sa.BigInteger()),
        sa.column("at", UtcDateTime()),
        sa.column("actor", sa.String()),
        sa.column("key_id", sa.String()),
        sa.column("request_id", sa.String()),
        sa.column("action", sa.String()),
        sa.column("target_type", sa.String()),
        sa.column("target_id", sa.String()),
        sa.column("details", sa.JSON()),
        sa.column("prev_hash", sa.String()),
        sa.column("row_hash", sa.String()),
    )
    update = (
        sa.update(log)
        .where(log.c.seq == sa.bindparam("b_old"))
        .values(
            seq=sa.bindparam("b_seq"),
            prev_hash=sa.bindparam("b_prev"),
            row_hash=sa.bindparam("b_hash"),
        )
    )
    prev, last = GENESIS, 0
    while True:
        rows = bind.execute(
            sa.select(
                log.c.seq,
                log.c.at,
                log.c.actor,
                log.c.key_id,
                log.c.request_id,
                log.c.action,
                log.c.target_type,
                log.c.target_id,
                log.c.details,
            )
            .where(log.c.seq < 0)
            .order_by(log.c.seq.desc())
            .limit(CHUNK)
        ).all()
        if not rows:
            return last, prev
        params = []
        for r in rows:
            last += 1
            h = row_hash(last, *r[1:], prev)
            params.append({"b_old": r[0], "b_seq": last, "b_prev": prev, "b_hash": h})
            prev = h
        bind.execute(update, params)


def downgrade() -> None:
    bind = op.get_bind()
    drop_triggers(bind)
    op.drop_table("audit_head")
    bind.exec_driver_sql("ALTER TABLE audit_log RENAME COLUMN row_hash TO hash")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("key_id")
