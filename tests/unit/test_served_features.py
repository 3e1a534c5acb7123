"""The features kept beside the served scores: a full pass, then people rescored and
dropped in order, folded into a frame that snapshots never see change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from rapport.services.engagement import served_features
from rapport.services.engagement.served_features import ServedFeatures

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def frame(values: dict[int, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {"replies_total": list(values.values()), "source": ["referral"] * len(values)},
        index=pd.Index(list(values), name="pk"),
    )


def kept(book: ServedFeatures) -> dict[int, float]:
    snap = book.snapshot()
    assert snap is not None
    return dict(zip(snap.frame.index.tolist(), snap.frame["replies_total"].tolist(), strict=True))


def test_nothing_is_kept_before_the_first_full_pass():
    book = ServedFeatures()
    book.put(frame({1: 1.0}), T0)
    assert book.snapshot() is None


def test_a_full_pass_then_changes_in_order_last_change_wins():
    book = ServedFeatures()
    whole = book.replace([frame({1: 1.0, 2: 2.0}), frame({3: 3.0})], T0)
    assert whole is not None and whole.index.tolist() == [1, 2, 3]
    book.put(frame({2: 20.0, 4: 4.0}), T0 + timedelta(seconds=1))
    book.drop([1, 4])
    book.put(frame({4: 40.0}), T0 + timedelta(seconds=3))  # back after being dropped
    book.drop([3])
    book.put(frame({2: 200.0}), T0 + timedelta(seconds=5))
    assert kept(book) == {2: 200.0, 4: 40.0}
    snap = book.snapshot()
    assert snap is not None and snap.oldest_as_of == T0


def test_a_snapshot_does_not_change_when_people_change_later():
    book = ServedFeatures()
    book.replace([frame({1: 1.0, 2: 2.0})], T0)
    before = book.snapshot()
    book.put(frame({1: 10.0}), T0 + timedelta(seconds=1))
    book.drop([2])
    assert before is not None and before.frame["replies_total"].tolist() == [1.0, 2.0]
    assert kept(book) == {1: 10.0}


def test_a_new_full_pass_keeps_only_changes_made_after_its_instant():
    book = ServedFeatures()
    book.put(frame({1: 99.0}), T0 - timedelta(seconds=1))  # older than the pass: superseded
    book.put(frame({2: 20.0}), T0 + timedelta(seconds=1))  # rescored while it ran: kept
    book.replace([frame({1: 1.0, 2: 2.0, 3: 3.0})], T0)
    assert kept(book) == {1: 1.0, 2: 20.0, 3: 3.0}


def test_many_rescored_people_are_folded_in_without_a_snapshot(monkeypatch):
    monkeypatch.setattr(served_features, "COMPACT_ROWS", 3)
    book = ServedFeatures()
    book.replace([frame({1: 1.0})], T0)
    book.put(frame({2: 2.0, 3: 3.0}), T0 + timedelta(seconds=1))
    assert book._pending  # below the threshold: queued
    book.put(frame({4: 4.0}), T0 + timedelta(seconds=2))
    assert not book._pending
    assert kept(book) == {1: 1.0, 2: 2.0, 3: 3.0, 4: 4.0}


def test_many_small_changes_are_folded_in_as_they_come(monkeypatch):
    monkeypatch.setattr(served_features, "COMPACT_ENTRIES", 3)
    book = ServedFeatures()
    book.replace([frame({1: 1.0, 2: 2.0})], T0)
    book.put(frame({1: 10.0}), T0 + timedelta(seconds=1))
    book.drop([2])
    assert len(book._pending) == 2
    book.put(frame({3: 3.0}), T0 + timedelta(seconds=2))
    assert not book._pending
    assert kept(book) == {1: 10.0, 3: 3.0}
