"""The in-memory score book: lookups by id and pk, rescoring, removal, compaction, factors."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from rapport.services.engagement import scores as scores_module
from rapport.services.engagement.scores import Factor, ScoreBatch, ScoreBook

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def batch(pks, probs=None, *, as_of=T0, factors=None) -> ScoreBatch:
    pks = list(pks)
    probs = probs if probs is not None else [pk / 1000 for pk in pks]
    return ScoreBatch(
        pks=np.asarray(pks, np.int64),
        ids=[ident(pk) for pk in pks],
        probabilities=np.asarray(probs, float),
        bands=["hot" if p > 0.5 else "cold" for p in probs],
        as_of=as_of,
        factors=factors,
    )


def ident(pk: int) -> str:
    return str(uuid.UUID(int=pk))


def test_extend_then_lookup_by_id_and_pk():
    book = ScoreBook("3")
    book.extend(batch(range(1, 101)))
    book.extend(batch(range(101, 201)))
    assert len(book) == 200
    s = book.get(ident(150))
    assert (s.pk, s.candidate_id, s.band, s.as_of) == (150, ident(150), "cold", T0)
    assert s.probability == pytest.approx(0.150, abs=1e-6)
    assert s.factors is None  # not explained yet
    got = book.get_many(np.array([5, 999, 200]))
    assert [g.pk if g else None for g in got] == [5, None, 200]
    assert book.get(ident(999)) is None
    assert book.get("not-a-uuid-é") is None


def test_put_shadows_the_arrays_and_remove_forgets():
    book = ScoreBook("3")
    book.extend(batch(range(1, 11)))
    later = T0 + timedelta(hours=1)
    book.put(batch([4, 11], [0.9, 0.8], as_of=later))
    assert book.get(ident(4)).probability == pytest.approx(0.9)
    assert book.get(ident(4)).as_of == later
    assert book.get_many(np.array([4]))[0].band == "hot"
    assert len(book) == 11  # 4 replaced, 11 added
    book.remove([4, 5, 11])
    assert book.get(ident(4)) is None
    assert book.get(ident(11)) is None
    assert book.get_many(np.array([5, 6]))[0] is None
    assert len(book) == 8


def test_compaction_keeps_the_newest_and_drops_the_removed(monkeypatch):
    monkeypatch.setattr(scores_module, "COMPACT_AT", 5)
    book = ScoreBook("3")
    book.extend(batch(range(1, 21)))
    later = T0 + timedelta(minutes=5)
    book.put(batch([2, 3], [0.7, 0.6], as_of=later))
    book.remove([7])
    book.put(batch([30, 31, 32], as_of=later))  # sixth overlay entry: compacts
    assert not book._overlay  # merged into the arrays
    assert len(book) == 22
    assert book.get(ident(2)).probability == pytest.approx(0.7)
    assert book.get(ident(7)) is None
    assert [s.pk for s in book.get_many(np.array([30, 31, 32, 1]))] == [30, 31, 32, 1]


def test_factors_round_trip_and_only_attach_to_their_own_pass():
    book = ScoreBook("3")
    book.extend(batch([1, 2, 3]))
    explained = [
        [Factor("source", 0.4, "referral"), Factor("reply_rate", -0.2, "0.25", 0.25)],
        [Factor("days_since_last_contact", 1.5, "12", 12.0)],
        [],
    ]
    assert book.set_factors(np.array([1, 2, 3]), explained, T0) == 3
    one = book.get(ident(1))
    assert one.factors == (
        Factor("source", pytest.approx(0.4), "referral", one.factors[0].numeric_value),
        Factor("reply_rate", pytest.approx(-0.2), "0.25", pytest.approx(0.25)),
    )
    assert math.isnan(one.factors[0].numeric_value)
    assert book.get(ident(2)).factors[0].value == "12"
    assert book.get(ident(3)).factors == ()  # explained, nothing stood out
    # a rescore since then wins; factors explained for the older pass do not attach
    book.put(batch([2], [0.99], as_of=T0 + timedelta(hours=1)))
    assert book.set_factors(np.array([2]), [[Factor("x", 1.0, "1", 1.0)]], T0) == 0
    assert book.get(ident(2)).factors is None
    # nor to scores from another pass
    assert book.set_factors(np.array([1]), [[]], T0 - timedelta(days=1)) == 0


def test_put_with_factors_then_without_keeps_them_for_the_same_instant():
    book = ScoreBook("3")
    with_factors = batch([9], [0.3], factors=[[Factor("source", 0.1, "event")]])
    book.put(with_factors)
    book.put(batch([9], [0.3]))  # the same scoring, probabilities only
    assert book.get(ident(9)).factors == (Factor("source", 0.1, "event"),)


def test_most_likely_responders_come_first_for_explaining():
    book = ScoreBook("3")
    book.extend(batch([1, 2, 3, 4], [0.1, 0.9, 0.5, 0.7]))
    assert book.pks_by_probability(3).tolist() == [2, 4, 3]
    assert book.pks_by_probability(0).tolist() == []
    assert book.pks_by_probability(10).tolist() == [2, 4, 3, 1]
