"""Contact details encrypted at rest (issue 7, item 8).

candidates.emails / phones / profile_urls (JSON lists) become `contacts`: one AES-GCM token
per person sealing the three lists (rapport.core.store.sealing), plus `contact_kinds`, a
bit mask of which kinds are present (email 1, phone 2, profile URL 4). identities.value of
email / phone / profile URL rows becomes the keyed lookup hash of the value. Merge
before-images are converted the same way (their row's lists sealed, their identities
hashed). outreach_sends.to_address is sealed, and its lookup hash goes into a new `to_hash`
column (what a reply from that address is matched by). Keys: the settings `rapport db
upgrade` runs with (RAPPORT_ENCRYPTION_KEYS, RAPPORT_LOOKUP_KEY, or the key file under
RAPPORT_HOME).

The downgrade opens every token again and restores the plaintext lists and identity values
(identity hashes are mapped back through the values of the records that hold them).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 05:00:00
"""

import json

import sqlalchemy as sa
from alembic import op

from rapport.core.store import sealing

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BigPk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONTACT_KINDS = ("email", "phone", "profile_url")
LIST_COLUMNS = ("emails", "phones", "profile_urls")
CHUNK = 2_000

candidates_t = sa.table(
    "candidates",
    sa.column("pk", BigPk),
    sa.column("emails", sa.JSON()),
    sa.column("phones", sa.JSON()),
    sa.column("profile_urls", sa.JSON()),
    sa.column("contacts", sa.Text()),
    sa.column("contact_kinds", sa.SmallInteger()),
)
identities_t = sa.table(
    "identities",
    sa.column("value", sa.String(400)),
    sa.column("kind", sa.String(20)),
    sa.column("candidate_pk", BigPk),
)
merges_t = sa.table("merges", sa.column("pk", BigPk), sa.column("before", sa.JSON()))
sends_t = sa.table(
    "outreach_sends",
    sa.column("pk", BigPk),
    sa.column("to_address", sa.String(400)),
    sa.column("to_hash", sa.String(32)),
)


def _mask(e, p, u) -> int:
    return (1 if e else 0) | (2 if p else 0) | (4 if u else 0)


def _seal(keys, e, p, u) -> str:
    return keys.seal(json.dumps([list(e), list(p), list(u)], separators=(",", ":")))


def _open(keys, token):
    if not token:
        return [], [], []
    e, p, u = json.loads(keys.open(token))
    return e, p, u


def _pages(conn, columns, where=None):
    """Candidates in pk order, CHUNK at a time (bounded memory on a big store)."""
    after = -1
    while True:
        stmt = sa.select(candidates_t.c.pk, *columns).where(candidates_t.c.pk > after)
        if where is not None:
            stmt = stmt.where(where)
        rows = conn.execute(stmt.order_by(candidates_t.c.pk).limit(CHUNK)).all()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _rehash_identities(conn, mapping) -> None:
    """identities.value := mapping(kind, value) for contact kinds."""
    rows = conn.execute(
        sa.select(identities_t.c.kind, identities_t.c.value).where(
            identities_t.c.kind.in_(CONTACT_KINDS)
        )
    ).all()
    changes = []
    for kind, value in rows:
        new = mapping(kind, value)
        if new is not None and new != value:
            changes.append({"b_kind": kind, "b_old": value, "b_new": new})
    if changes:
        conn.execute(
            identities_t.update()
            .where(
                identities_t.c.kind == sa.bindparam("b_kind"),
                identities_t.c.value == sa.bindparam("b_old"),
            )
            .values(value=sa.bindparam("b_new")),
            changes,
        )


def _convert_merges(conn, convert) -> None:
    for pk, before in conn.execute(sa.select(merges_t.c.pk, merges_t.c.before)).all():
        if not before:
            continue
        after = dict(before)
        for side in ("survivor", "merged"):
            if isinstance(after.get(side), dict):
                after[side] = convert(dict(after[side]))
        conn.execute(merges_t.update().where(merges_t.c.pk == pk).values(before=after))


def _add(conn, columns) -> None:
    """Add columns filled afterwards. SQLite: native ADD COLUMN, which wants NOT NULL columns
    to carry a default (never used: writers always give values) - a batch copy of candidates
    would have to drop a table other tables' foreign keys point at."""
    for name, type_, default in columns:
        if conn.dialect.name == "sqlite":
            ddl = type_.compile(dialect=conn.dialect)
            op.execute(f"ALTER TABLE candidates ADD COLUMN {name} {ddl} NOT NULL DEFAULT {default}")
        else:
            op.add_column("candidates", sa.Column(name, type_, nullable=True))


def _finish(conn, added, dropped) -> None:
    for name, type_, _ in added:
        if conn.dialect.name != "sqlite":
            op.alter_column("candidates", name, existing_type=type_, nullable=False)
    for name in dropped:
        if conn.dialect.name == "sqlite":
            op.execute(f"ALTER TABLE candidates DROP COLUMN {name}")  # SQLite >= 3.35
        else:
            op.drop_column("candidates", name)


def _convert_sends(conn, convert) -> None:
    """outreach_sends.(to_address, to_hash) := convert(to_address), CHUNK rows at a time."""
    after = -1
    while True:
        rows = conn.execute(
            sa.select(sends_t.c.pk, sends_t.c.to_address)
            .where(sends_t.c.pk > after, sends_t.c.to_address != "")
            .order_by(sends_t.c.pk)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        changes = []
        for pk, address in rows:
            new, hashed = convert(address)
            changes.append({"b_pk": pk, "b_to": new, "b_hash": hashed})
        conn.execute(
            sends_t.update()
            .where(sends_t.c.pk == sa.bindparam("b_pk"))
            .values(to_address=sa.bindparam("b_to"), to_hash=sa.bindparam("b_hash")),
            changes,
        )
        after = rows[-1][0]


def _seal_sends(conn, keys) -> None:
    if conn.dialect.name == "sqlite":
        op.execute("ALTER TABLE outreach_sends ADD COLUMN to_hash VARCHAR(32) NOT NULL DEFAULT ''")
    else:
        op.add_column(
            "outreach_sends", sa.Column("to_hash", sa.String(32), nullable=False, server_default="")
        )
        op.alter_column("outreach_sends", "to_hash", server_default=None)
    _convert_sends(conn, lambda a: (keys.seal(a), keys.lookup_hash("email", a)))
    op.drop_index("ix_outreach_sends_to", table_name="outreach_sends")
    op.create_index("ix_outreach_sends_to_hash", "outreach_sends", ["to_hash", "sent_at"])


def _open_sends(conn, keys) -> None:
    _convert_sends(conn, lambda token: (keys.open(token), ""))
    op.drop_index("ix_outreach_sends_to_hash", table_name="outreach_sends")
    if conn.dialect.name == "sqlite":
        op.execute("ALTER TABLE outreach_sends DROP COLUMN to_hash")
    else:
        op.drop_column("outreach_sends", "to_hash")
    op.create_index("ix_outreach_sends_to", "outreach_sends", ["to_address", "sent_at"])


NEW_COLUMNS = (("contacts", sa.Text(), "''"), ("contact_kinds", sa.SmallInteger(), "0"))
OLD_COLUMNS = tuple((c, sa.JSON(), "'[]'") for c in LIST_COLUMNS)


def upgrade() -> None:
    conn = op.get_bind()
    keys = sealing.keys_of(conn)
    lookup = keys.lookup_hasher()
    _add(conn, NEW_COLUMNS)

    for rows in _pages(conn, [candidates_t.c[c] for c in LIST_COLUMNS]):
        conn.execute(
            candidates_t.update()
            .where(candidates_t.c.pk == sa.bindparam("b_pk"))
            .values(contacts=sa.bindparam("b_contacts"), contact_kinds=sa.bindparam("b_kinds")),
            [
                {
                    "b_pk": pk,
                    "b_contacts": _seal(keys, e or [], p or [], u or []),
                    "b_kinds": _mask(e, p, u),
                }
                for pk, e, p, u in rows
            ],
        )
    _rehash_identities(conn, lookup)

    def seal_image(image: dict) -> dict:
        row = dict(image.get("row") or {})
        lists = [row.pop(c, None) or [] for c in LIST_COLUMNS]
        row["contacts"] = _seal(keys, *lists)
        row["contact_kinds"] = _mask(*lists)
        image["row"] = row
        image["identities"] = [
            [k, lookup(k, v) if k in CONTACT_KINDS else v]
            for k, v in (image.get("identities") or [])
        ]
        return image

    _convert_merges(conn, seal_image)
    _finish(conn, NEW_COLUMNS, LIST_COLUMNS)
    _seal_sends(conn, keys)


def downgrade() -> None:
    conn = op.get_bind()
    keys = sealing.keys_of(conn)
    lookup = keys.lookup_hasher()
    _open_sends(conn, keys)
    _add(conn, OLD_COLUMNS)

    plain: dict[tuple[str, str], str] = {}  # (kind, lookup hash) -> value

    def remember(e, p, u) -> None:
        for kind, values in zip(CONTACT_KINDS, (e, p, u), strict=True):
            for v in values:
                plain[(kind, lookup(kind, v))] = v

    for rows in _pages(conn, [candidates_t.c.contacts]):
        updates = []
        for pk, token in rows:
            e, p, u = _open(keys, token)
            remember(e, p, u)
            updates.append({"b_pk": pk, "b_e": e, "b_p": p, "b_u": u})
        conn.execute(
            candidates_t.update()
            .where(candidates_t.c.pk == sa.bindparam("b_pk"))
            .values(
                emails=sa.bindparam("b_e", type_=sa.JSON()),
                phones=sa.bindparam("b_p", type_=sa.JSON()),
                profile_urls=sa.bindparam("b_u", type_=sa.JSON()),
            ),
            updates,
        )

    def open_image(image: dict) -> dict:
        row = dict(image.get("row") or {})
        e, p, u = _open(keys, row.pop("contacts", None))
        remember(e, p, u)
        row.pop("contact_kinds", None)
        row.update(emails=e, phones=p, profile_urls=u)
        image["row"] = row
        image["identities"] = [
            [k, plain.get((k, v), v) if k in CONTACT_KINDS else v]
            for k, v in (image.get("identities") or [])
        ]
        return image

    # before-images first: their values also resolve identity hashes of merged records
    _convert_merges(conn, open_image)
    _rehash_identities(conn, lambda kind, value: plain.get((kind, value)))

    _finish(conn, OLD_COLUMNS, ("contact_kinds", "contacts"))
