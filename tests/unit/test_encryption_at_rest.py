"""Contact details at rest (issue 7 item 8): sealed in candidates, keyed hashes in
identities, dedup and imports through the hashes, tombstones still refuse a re-import, key
rotation, a wrong key is a clear error, and migration 0010 converts both ways."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from rapport.core.config import Settings
from rapport.core.crypto import TOKEN_PREFIX, WrongKey, generate_key
from rapport.core.domain import CandidateDraft
from rapport.core.errors import AlreadyExists, PreconditionFailed
from rapport.core.store import candidates, merges, privacy, sealing
from rapport.core.store import db as store_db
from rapport.core.store.candidates import Outcome
from rapport.core.store.rotation import rotate

EMAIL, PHONE, URL = "ada.lovelace@example.com", "+442079460958", "linkedin.com/in/ada-lovelace"
PLAINTEXTS = ("ada.lovelace", "example.com", "2079460958", "ada-lovelace")
PG_URL = os.environ.get("RAPPORT_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith("postgresql")


def draft(**kw) -> CandidateDraft:
    base = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "emails": [EMAIL],
        "phones": [PHONE],
        "profile_urls": [URL],
        "external_id": "crm-1",
        "country": "GB",
    }
    return CandidateDraft(**(base | kw))


def raw_dump(database, *tables: str) -> str:
    with database.engine.connect() as conn:
        return "\n".join(
            repr(row) for t in tables for row in conn.exec_driver_sql(f"SELECT * FROM {t}")
        )


def test_raw_tables_hold_no_plaintext_and_reads_open_it(db):
    with db.transaction() as s:
        made = candidates.create(s, draft())
        candidates.upsert_batch(
            s,
            [
                draft(
                    external_id="",
                    first_name="Bob",
                    emails=["bob@b.org"],
                    phones=[],
                    profile_urls=[],
                )
            ],
        )
    dump = raw_dump(db, "candidates", "identities")
    for plain in PLAINTEXTS:
        assert plain not in dump
    assert "bob@b.org" not in dump and "crm-1" in dump  # external ids are not contact details
    with db.read() as s:
        got = candidates.get(s, made.id)
        assert (got.emails, got.phones, got.profile_urls) == ([EMAIL], [PHONE], [URL])
        token = s.execute(
            text("SELECT contacts, contact_kinds FROM candidates WHERE id = :i"), {"i": made.id}
        ).one()
        assert token[0].startswith(TOKEN_PREFIX) and token[1] == 7
        keys = sealing.keys_of(s)
        hashes = set(s.execute(text("SELECT value FROM identities WHERE kind = 'email'")).scalars())
        assert keys.lookup_hash("email", EMAIL) in hashes


def test_dedup_upsert_and_import_twice_find_the_same_person(db):
    with db.transaction() as s:
        first = candidates.create(s, draft())
    with db.transaction() as s, pytest.raises(AlreadyExists, match="emails"):
        candidates.create(s, draft(external_id="other", phones=[], profile_urls=[]))
    with db.transaction() as s:  # found by email alone, updated in place
        (res,) = candidates.upsert_batch(
            s, [draft(external_id="", phones=[], profile_urls=[], headline="Analyst")]
        )
    assert res.outcome == Outcome.UPDATED and res.candidate_id == first.id
    with db.transaction() as s:  # by phone alone
        (res,) = candidates.upsert_batch(s, [draft(external_id="", emails=[], profile_urls=[])])
    assert res.outcome == Outcome.UNCHANGED and res.candidate_id == first.id
    batch = [
        draft(external_id=f"x{i}", emails=[f"p{i}@x.org"], phones=[], profile_urls=[])
        for i in range(5)
    ]
    with db.transaction() as s:
        once = candidates.upsert_batch(s, batch)
    with db.transaction() as s:
        twice = candidates.upsert_batch(s, batch)
    assert {r.outcome for r in once} == {Outcome.CREATED}
    assert {r.outcome for r in twice} == {Outcome.UNCHANGED}
    assert [r.candidate_id for r in once] == [r.candidate_id for r in twice]
    with db.read() as s:
        owners = candidates.identity_owners(s, [("email", "p3@x.org"), ("email", "nobody@x.org")])
    assert list(owners) == [("email", "p3@x.org")]


def test_update_and_merge_keep_identities_hashed_and_unmerge_restores(db):
    with db.transaction() as s:
        a = candidates.create(s, draft())
        b = candidates.create(
            s, draft(external_id="crm-2", emails=["ada@home.org"], phones=[], profile_urls=[])
        )
        candidates.update(
            s,
            b.id,
            draft(
                external_id="crm-2", emails=["ada@home.org", "a2@h.org"], phones=[], profile_urls=[]
            ),
        )
    with db.transaction() as s:
        merge_id, survivor = merges.merge(s, a.id, b.id)
    assert set(survivor.emails) == {EMAIL, "ada@home.org", "a2@h.org"}
    dump = raw_dump(db, "candidates", "identities", "merges")
    assert "home.org" not in dump and "ada.lovelace" not in dump
    with db.transaction() as s:
        kept, back = merges.unmerge(s, merge_id)
    assert kept.emails == [EMAIL] and back.emails == ["ada@home.org", "a2@h.org"]
    with db.read() as s:
        assert candidates.identity_owners(s, [("email", "a2@h.org")]) == {
            ("email", "a2@h.org"): back.pk
        }


def test_erasure_tombstones_still_refuse_a_reimport(db):
    with db.transaction() as s:
        a = candidates.create(s, draft())
        b = candidates.create(
            s, draft(external_id="crm-2", emails=["ada@home.org"], phones=[], profile_urls=[])
        )
        merges.merge(s, a.id, b.id)
    with db.transaction() as s:
        privacy.erase(s, a.id)
    with db.transaction() as s:
        (res,) = candidates.upsert_batch(s, [draft(external_id="", phones=[], profile_urls=[])])
        (res2,) = candidates.upsert_batch(
            s, [draft(external_id="new", emails=["ada@home.org"], phones=[], profile_urls=[])]
        )
    assert res.outcome == Outcome.FAILED and "erased" in res.errors[0].reason
    assert res2.outcome == Outcome.FAILED  # an identity known only from the merged record
    with db.transaction() as s, pytest.raises(PreconditionFailed):
        candidates.create(s, draft(external_id="", emails=[], profile_urls=[]))


def _settings(base: Settings, keys: list[str]) -> Settings:
    return base.model_copy(
        update={"encryption_keys": base.encryption_keys.__class__(",".join(keys))}
    )


def test_rotate_keys_reseals_and_old_key_data_opens_only_until_rotated(settings):
    old, new = generate_key(), generate_key()
    url = settings.effective_database_url
    first = store_db.Database(url, settings=_settings(settings, [old]))
    with first.transaction() as s:
        a = candidates.create(s, draft())
        b = candidates.create(
            s, draft(external_id="crm-2", emails=["b@b.org"], phones=[], profile_urls=[])
        )
        merges.merge(s, a.id, b.id)
    first.close()

    only_new = store_db.Database(url, settings=_settings(settings, [new]))
    with only_new.read() as s, pytest.raises(WrongKey, match="RAPPORT_ENCRYPTION_KEYS"):
        candidates.get(s, a.id)  # a clear error, not garbage
    only_new.close()

    both = store_db.Database(url, settings=_settings(settings, [new, old]))
    with both.read() as s:
        assert candidates.get(s, a.id).emails == [EMAIL, "b@b.org"]  # old tokens still open
    report = rotate(both, batch=1)
    assert report.scanned == 2 and report.resealed == 2 and report.merges_resealed == 1
    assert rotate(both).resealed == 0  # resumable: nothing left under the old key
    both.close()

    after = store_db.Database(url, settings=_settings(settings, [new]))
    with after.read() as s:
        assert candidates.get(s, a.id).emails == [EMAIL, "b@b.org"]
        assert candidates.get(s, b.id).emails == ["b@b.org"]
        # lookups do not depend on the sealing keys
        assert candidates.identity_owners(s, [("email", EMAIL)]) == {("email", EMAIL): a.pk}
    with after.transaction() as s:
        privacy.erase(s, a.id)  # opens the rotated merge before-image too
    after.close()


def test_rotate_keys_cli_reseals_with_the_first_configured_key(settings, database_url, monkeypatch):
    from typer.testing import CliRunner

    from rapport.cli.main import app

    old, new = generate_key(), generate_key()
    first = store_db.Database(database_url, settings=_settings(settings, [old]))
    with first.transaction() as s:
        made = candidates.create(s, draft())
    first.close()
    monkeypatch.setenv("RAPPORT_HOME", str(settings.home))
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    monkeypatch.setenv("RAPPORT_ENCRYPTION_KEYS", f"{new},{old}")
    done = CliRunner().invoke(app, ["--json", "db", "rotate-keys", "--batch", "10"])
    assert done.exit_code == 0, done.stdout
    assert json.loads(done.stdout) == {
        "scanned": 1,
        "resealed": 1,
        "merges_resealed": 0,
        "sends_resealed": 0,
    }
    after = store_db.Database(database_url, settings=_settings(settings, [new]))
    with after.read() as s:
        assert candidates.get(s, made.id).emails == [EMAIL]
    after.close()


def test_key_file_is_used_when_no_key_is_configured(tmp_path, database_url, monkeypatch):
    monkeypatch.delenv("RAPPORT_ENCRYPTION_KEYS")
    monkeypatch.delenv("RAPPORT_LOOKUP_KEY")
    conf = Settings(home=tmp_path / "home", database_url=database_url)
    database = store_db.Database(database_url, settings=conf)
    with database.transaction() as s:
        made = candidates.create(s, draft())
    assert (tmp_path / "home" / "secrets" / "contact-keys.json").exists()
    database.close()
    again = store_db.Database(database_url, settings=conf)
    with again.read() as s:
        assert candidates.get(s, made.id).emails == [EMAIL]
    again.close()


# ---------------------------------------------------------------- migration 0010


@pytest.fixture
def empty_url(tmp_path):
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_migration_seals_existing_rows_and_downgrade_restores_them(empty_url):
    store_db.upgrade(empty_url, "0009")
    engine = store_db.make_engine(empty_url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        for pk, (emails, phones, urls, ext) in enumerate(
            [([EMAIL], [PHONE], [URL], "crm-1"), (["b@b.org"], [], [], "crm-2")], start=1
        ):
            conn.execute(
                OLD_CANDIDATES.insert(),
                {
                    "pk": pk,
                    "id": str(uuid.uuid4()),
                    "external_id": ext,
                    "emails": emails,
                    "phones": phones,
                    "profile_urls": urls,
                    "languages": [],
                    "tags": [],
                    "created_at": now,
                    "updated_at": now,
                }
                | dict.fromkeys(TEXT_COLUMNS, "")
                | {"consent_state": "unknown", "status": "active", "version": 1},
            )
            idents = [("email", v) for v in emails] + [("phone", v) for v in phones]
            idents += [("profile_url", v) for v in urls] + [("external_id", ext)]
            conn.execute(
                IDENTITIES.insert(),
                [{"value": v, "kind": k, "candidate_pk": pk} for k, v in idents],
            )
        before = {
            "survivor": {
                "row": {"emails": [EMAIL], "phones": [], "profile_urls": []},
                "identities": [["email", EMAIL], ["external_id", "crm-1"]],
            },
            "merged": {
                "row": {"emails": ["b@b.org"], "phones": [], "profile_urls": []},
                "identities": [["email", "b@b.org"]],
            },
            "moved_events": [],
            "added_pools": [],
        }
        conn.execute(
            MERGES.insert(),
            {
                "id": "m1",
                "survivor_pk": 1,
                "merged_pk": 2,
                "reason": "",
                "before": before,
                "survivor_version_after": 2,
                "actor": "",
                "merged_at": now,
            },
        )
    engine.dispose()

    store_db.upgrade(empty_url)
    database = store_db.Database(empty_url)
    dump = raw_dump(database, "candidates", "identities", "merges")
    for plain in (*PLAINTEXTS, "b@b.org"):
        assert plain not in dump
    assert "crm-1" in dump
    with database.read() as s:
        one, two = candidates.load_many(s, [1, 2])
        assert (one.emails, one.phones, one.profile_urls) == ([EMAIL], [PHONE], [URL])
        assert two.emails == ["b@b.org"]
        assert candidates.identity_owners(s, [("email", EMAIL), ("phone", PHONE)]) == {
            ("email", EMAIL): 1,
            ("phone", PHONE): 1,
        }
    database.close()

    store_db.downgrade(empty_url, "0009")
    engine = store_db.make_engine(empty_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT emails, phones, profile_urls FROM candidates ORDER BY pk")
        ).all()
        idents = set(conn.execute(text("SELECT kind, value, candidate_pk FROM identities")).all())
        merged = conn.execute(text("SELECT before FROM merges")).scalar_one()
    engine.dispose()
    assert [tuple(_load(c) for c in r) for r in rows] == [
        ([EMAIL], [PHONE], [URL]),
        (["b@b.org"], [], []),
    ]
    assert idents == {
        ("email", EMAIL, 1),
        ("phone", PHONE, 1),
        ("profile_url", URL, 1),
        ("external_id", "crm-1", 1),
        ("email", "b@b.org", 2),
        ("external_id", "crm-2", 2),
    }
    merged = _load(merged)
    assert merged["survivor"]["row"] == {"emails": [EMAIL], "phones": [], "profile_urls": []}
    assert merged["survivor"]["identities"] == [["email", EMAIL], ["external_id", "crm-1"]]
    assert merged["merged"]["identities"] == [["email", "b@b.org"]]


TEXT_COLUMNS = (
    "first_name",
    "last_name",
    "headline",
    "summary",
    "current_company",
    "seniority",
    "city",
    "country",
    "timezone",
    "source",
    "engagement_band",
    "content_hash",
)
When = sa.DateTime(timezone=True)
OLD_CANDIDATES = sa.table(
    "candidates",
    *(sa.column(c) for c in ("pk", "id", "external_id", *TEXT_COLUMNS, "consent_state")),
    *(sa.column(c) for c in ("status", "version")),
    *(sa.column(c, sa.JSON()) for c in ("emails", "phones", "profile_urls", "languages", "tags")),
    sa.column("created_at", When),
    sa.column("updated_at", When),
)
IDENTITIES = sa.table(
    "identities", sa.column("value"), sa.column("kind"), sa.column("candidate_pk")
)
MERGES = sa.table(
    "merges",
    *(sa.column(c) for c in ("id", "survivor_pk", "merged_pk", "reason", "survivor_version_after")),
    sa.column("actor"),
    sa.column("before", sa.JSON()),
    sa.column("merged_at", When),
)


def _load(value):
    return json.loads(value) if isinstance(value, str) else value


def test_what_the_validation_worker_sealed_is_used_only_with_the_writers_keys(db, settings):
    from rapport.core.taxonomy import Taxonomy
    from rapport.core.validation import Limits
    from rapport.services.candidates.validation_pool import validate_all

    mine = sealing.keys_of(db.engine)
    other = sealing.keys_from_settings(
        settings.model_copy(update={"lookup_key": settings.lookup_key.__class__("o" * 40)})
    )
    for n, keys in enumerate((mine, other)):
        records = [{"first_name": f"P{i}", "emails": [f"p{n}{i}@x.org"]} for i in range(3)]
        out = validate_all(records, "GB", "test", Limits(), Taxonomy.bundled().resolve, keys)
        drafts, digests = [d for d, _ in out], [h for _, h in out]
        assert all(isinstance(h, sealing.Prepared) for h in digests)
        with db.transaction() as s:
            res = candidates.upsert_batch(s, drafts, content_hashes=digests)
        assert {r.outcome for r in res} == {Outcome.CREATED}
        with db.read() as s:
            got = candidates.load_many(s, [r.candidate_pk for r in res])
            assert [c.emails for c in got] == [[f"p{n}{i}@x.org"] for i in range(3)]
            # found by the writer's lookup hash: a worker with other keys was not trusted
            owners = candidates.identity_owners(s, [("email", f"p{n}1@x.org")])
            assert owners == {("email", f"p{n}1@x.org"): res[1].candidate_pk}
