"""The index keeper: snapshots reused, refused (other encoder) or rebuilt (damaged), the
change feed followed across restarts, and gaps in the feed waited for."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np
import pytest

from rapport.core.domain import CandidateDraft, Seniority, SkillClaim
from rapport.core.store import candidates
from rapport.models.encoders import FakeEncoder
from rapport.models.match_index import FacetFilter
from rapport.models.runtime import load_runtime
from rapport.services.matching.index_keeper import GAP_TIMEOUT_S, FeedCursor, IndexKeeper


def add(db, name: str, skills=("Python",)) -> str:
    draft = CandidateDraft(
        first_name=name,
        headline=f"{name} the engineer",
        skills=[SkillClaim(s.lower(), s) for s in skills],
    )
    with db.transaction() as s:
        return candidates.create(s, draft).id


def keeper_for(db, settings, encoder=None) -> IndexKeeper:
    def runtime():
        enc, builder = load_runtime(settings)
        return (encoder or enc), builder

    keeper = IndexKeeper(db, settings, runtime)
    keeper.start()
    assert keeper.wait_ready(30), keeper.status()
    return keeper


def test_snapshot_is_reused_and_the_feed_replayed(db, settings):
    add(db, "Ana")
    first = keeper_for(db, settings)
    version = first.status()["index_version"]
    first.close()
    bo = add(db, "Bo", ["Rust"])  # written while no keeper runs
    second = keeper_for(db, settings)
    try:
        status = second.status()
        assert status["index_version"] == version  # loaded, not rebuilt
        assert status["vectors"] == 2 and status["seq"] == status["feed_head"]
        index, _ = second.current()
        assert index.profile_by_id(bo) is not None
    finally:
        second.close()


def test_damaged_snapshot_is_detected_and_rebuilt(db, settings, caplog):
    add(db, "Ana")
    keeper_for(db, settings).close()
    snapshot = next(settings.effective_index_dir.glob("*.faiss"))
    data = bytearray(snapshot.read_bytes())
    data[len(data) // 2] ^= 0xFF
    snapshot.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        keeper = keeper_for(db, settings)
    try:
        assert "checksum" in caplog.text or "corrupt" in caplog.text.lower()
        assert keeper.status()["vectors"] == 1
    finally:
        keeper.close()


def test_index_of_another_encoder_is_refused_with_a_clear_message(db, settings, caplog):
    add(db, "Ana")
    keeper_for(db, settings).close()
    with caplog.at_level(logging.WARNING):
        keeper = keeper_for(db, settings, encoder=FakeEncoder(dim=128))
    try:
        assert "was built with encoder 'fake-hashing-384@v1'" in caplog.text
        assert "rapport index rebuild" in caplog.text
        assert keeper.status()["encoder"] == "fake-hashing-128@v1"
        assert keeper.status()["vectors"] == 1
    finally:
        keeper.close()


def test_feed_cursor_waits_for_gaps_then_skips_them():
    cursor = FeedCursor(upto=10)
    cursor.advance([11, 13], now=0.0)
    assert cursor.upto == 11 and cursor.ahead == {13}
    cursor.advance([12], now=1.0)  # the slow transaction commits: contiguous again
    assert cursor.upto == 13 and not cursor.ahead and not cursor.gaps
    cursor.advance([15], now=2.0)  # 14 never commits (rolled back)
    assert cursor.upto == 13
    cursor.advance([], now=2.0 + GAP_TIMEOUT_S + 1)
    assert cursor.upto == 15


def test_unavailable_until_ready(db, settings):
    from rapport.core.errors import Unavailable

    keeper = IndexKeeper(db, settings, lambda: load_runtime(settings))
    with pytest.raises(Unavailable, match="matching index is starting"):
        keeper.current()


def test_strict_filters_follow_updates_and_removals(db, settings):
    """filter_pks answers from postings kept beside the profiles: they must move when a
    profile changes and vanish when a candidate leaves the index."""
    with db.transaction() as s:
        ana = candidates.create(
            s,
            CandidateDraft(
                first_name="Ana",
                country="DE",
                timezone="Europe/Berlin",
                languages=["en-GB", "de"],
                seniority=Seniority.SENIOR,
                skills=[SkillClaim("python", "Python")],
            ),
        )
        bo = candidates.create(
            s,
            CandidateDraft(
                first_name="Bo",
                country="US",
                languages=["en"],
                skills=[SkillClaim("python", "Python")],
            ),
        )
    keeper = keeper_for(db, settings)
    try:
        index, _ = keeper.current()

        names = {index.profile_by_id(c.id).pk: c.id for c in (ana, bo)}

        def passing(within=None, **kw) -> set[str]:
            return {names[int(pk)] for pk in index.filter_pks(FacetFilter(**kw), within)}

        assert passing(languages=("en",)) == {ana.id, bo.id}  # "en" matches "en-GB"
        assert passing(languages=("EN-gb",)) == {ana.id}
        assert passing(countries=frozenset({"us"})) == {bo.id}
        assert passing(countries=frozenset({"FR"}), zones=frozenset({"Europe/Berlin"})) == {ana.id}
        assert passing(seniorities=frozenset({"senior"}), languages=("de",)) == {ana.id}
        assert passing(seniorities=frozenset()) == set()
        only_bo = np.asarray([index.profile_by_id(bo.id).pk], dtype=np.int64)
        assert passing(only_bo) == {bo.id}
        assert passing(only_bo, languages=("de",)) == set()

        moved = replace(ana.draft(), country="FR", timezone="Europe/Paris", languages=["fr"])
        with db.transaction() as s:
            candidates.update(s, ana.id, moved, ana.version)
        deadline = time.monotonic() + 10
        while index.profile_by_id(ana.id).country != "FR" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert passing(countries=frozenset({"DE"})) == set()
        assert passing(countries=frozenset({"FR"})) == {ana.id}
        assert passing(languages=("en",)) == {bo.id}

        index.remove_ids([bo.id])
        assert passing(languages=("en",)) == set()
    finally:
        keeper.close()
