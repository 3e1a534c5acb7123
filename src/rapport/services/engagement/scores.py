"""Scores of the served engagement model, kept in memory so that answering needs no database.

Scoring a person means reading their history and running the model: milliseconds. The
service scores everyone once when a model is loaded (it has to, to write their bands) and
keeps the results here, keyed by candidate pk and id, so ScoreCandidate is a lookup and
ScoreCandidates over a million people is mostly serialisation. A book belongs to one model
version: a new champion gets a new book, so a score never outlives the model that made it.

Layout: an immutable `_Arrays` base sorted by pk (a million people with their top factors
take about 130 MB), replaced whole when it grows; an overlay dict for the people rescored
since (change feed, on-demand misses), merged into the base once it holds `COMPACT_AT`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np

from rapport.core.domain import ENGAGEMENT_BANDS

FACTOR_SLOTS = 8  # factors kept per person; a request for more is computed afresh
COMPACT_AT = 20_000  # overlay entries that trigger a merge into the arrays
_ID = "S36"  # candidate ids are UUID strings
_BAND_CODE = {band: i for i, band in enumerate(ENGAGEMENT_BANDS)}


class Factor(NamedTuple):
    """One feature's push on a person's score, in log-odds (> 0 raises the probability).
    (Tuples, not dataclasses: a stream of a million scores builds them by the million.)"""

    feature: str
    contribution: float
    value: str
    numeric_value: float = math.nan


class Score(NamedTuple):
    candidate_id: str
    pk: int
    probability: float
    band: str
    as_of: datetime  # the store as of this instant fed the features
    scored_at: datetime  # when the model ran
    factors: tuple[Factor, ...] | None  # None: not kept for this person (compute them)


@dataclass
class ScoreBatch:
    """What one scoring run produced for several people: same model, same as_of."""

    pks: np.ndarray  # int64
    ids: Sequence[str]
    probabilities: np.ndarray  # float
    bands: Sequence[str]
    as_of: datetime
    factors: Sequence[Sequence[Factor]] | None = None
    scored_at: datetime | None = None  # default: as_of

    def __len__(self) -> int:
        return len(self.pks)

    def scores(self) -> list[Score]:
        factors = self.factors
        return [
            Score(
                self.ids[i],
                int(self.pks[i]),
                float(self.probabilities[i]),
                self.bands[i],
                self.as_of,
                self.scored_at or self.as_of,
                tuple(factors[i]) if factors is not None else None,
            )
            for i in range(len(self.pks))
        ]


@dataclass(frozen=True)
class _Arrays:
    pks: np.ndarray  # int64, ascending
    ids: np.ndarray  # S36, aligned with pks
    id_order: np.ndarray  # positions sorting ids
    sorted_ids: np.ndarray  # ids[id_order], searched by id
    probs: np.ndarray  # float32
    bands: np.ndarray  # int8 into ENGAGEMENT_BANDS
    as_of: np.ndarray  # float64 epoch seconds
    scored_at: np.ndarray  # float64 epoch seconds
    has_factors: np.ndarray  # bool
    f_feature: np.ndarray  # int16 (n, FACTOR_SLOTS) into the book's feature names; -1 empty
    f_contrib: np.ndarray  # float32 (n, FACTOR_SLOTS)
    f_number: np.ndarray  # float32 (n, FACTOR_SLOTS), NaN when not numeric
    f_text: np.ndarray  # int32 (n, FACTOR_SLOTS) into the book's interned texts; -1 numeric

    @classmethod
    def empty(cls) -> _Arrays:
        return cls._build(*_empty_columns())

    @classmethod
    def _build(cls, pks, ids, probs, bands, as_of, scored, has, ff, fc, fn, ft) -> _Arrays:
        order = np.argsort(ids, kind="stable")
        return cls(pks, ids, order, ids[order], probs, bands, as_of, scored, has, ff, fc, fn, ft)

    def columns(self) -> tuple:
        return (
            self.pks,
            self.ids,
            self.probs,
            self.bands,
            self.as_of,
            self.scored_at,
            self.has_factors,
            self.f_feature,
            self.f_contrib,
            self.f_number,
            self.f_text,
        )

    def position_of_id(self, candidate_id: bytes) -> int:
        i = int(self.sorted_ids.searchsorted(candidate_id))
        if i < len(self.sorted_ids) and self.sorted_ids[i] == candidate_id:
            return int(self.id_order[i])
        return -1

    def positions_of_pks(self, pks: np.ndarray) -> np.ndarray:
        """Position of each pk, -1 where absent."""
        pos = np.searchsorted(self.pks, pks)
        pos[pos >= len(self.pks)] = 0
        hit = self.pks[pos] == pks if len(self.pks) else np.zeros(len(pks), bool)
        return np.where(hit, pos, -1)


def _empty_columns(n: int = 0) -> tuple:
    k = FACTOR_SLOTS
    return (
        np.zeros(n, np.int64),
        np.zeros(n, _ID),
        np.zeros(n, np.float32),
        np.zeros(n, np.int8),
        np.zeros(n, np.float64),
        np.zeros(n, np.float64),
        np.zeros(n, bool),
        np.full((n, k), -1, np.int16),
        np.zeros((n, k), np.float32),
        np.full((n, k), np.nan, np.float32),
        np.full((n, k), -1, np.int32),
    )


class ScoreBook:
    """Scores of one model version; safe for concurrent readers and one writer at a time."""

    def __init__(self, model_version: str) -> None:
        self.model_version = model_version
        self._lock = threading.Lock()
        self._arrays = _Arrays.empty()
        self._overlay: dict[int, Score | None] = {}  # None: removed
        self._overlay_ids: dict[str, int] = {}
        self._features: list[str] = []
        self._feature_code: dict[str, int] = {}
        self._texts: list[str] = []
        self._text_code: dict[str, int] = {}

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        with self._lock:
            arrays, overlay = self._arrays, dict(self._overlay)
        pos = arrays.positions_of_pks(np.fromiter(overlay, np.int64, len(overlay)))
        shadowed = int((pos >= 0).sum())
        added = sum(1 for v in overlay.values() if v is not None)
        return len(arrays.pks) - shadowed + added

    def get(self, candidate_id: str, factors: int = FACTOR_SLOTS) -> Score | None:
        """The person's score with at most `factors` factors (0: none materialised)."""
        with self._lock:
            pk = self._overlay_ids.get(candidate_id)
            if pk is not None:
                return _trim(self._overlay.get(pk), factors)
            arrays = self._arrays
        try:
            key = candidate_id.encode("ascii")
        except UnicodeEncodeError:
            return None
        pos = arrays.position_of_id(key)
        if pos < 0:
            return None
        pk = int(arrays.pks[pos])
        with self._lock:  # removed or rescored since the arrays were taken
            if pk in self._overlay:
                return _trim(self._overlay[pk], factors)
        return self._row(arrays, pos, factors)

    def get_many(self, pks: np.ndarray, factors: int = 0) -> list[Score | None]:
        """The score of each pk (None where the book has none), in order; with at most
        `factors` factors each (0: none materialised, what a plain stream needs)."""
        pks = np.asarray(pks, np.int64)
        with self._lock:
            arrays = self._arrays
            overlay = self._overlay
            shadowed = {pk: overlay[pk] for pk in pks.tolist() if pk in overlay}
        positions = arrays.positions_of_pks(pks).tolist()
        if not factors and not shadowed:
            return self._rows_plain(arrays, positions)
        out: list[Score | None] = []
        for pk, pos in zip(pks.tolist(), positions, strict=True):
            if pk in shadowed:
                out.append(_trim(shadowed[pk], factors))
            else:
                out.append(self._row(arrays, pos, factors) if pos >= 0 else None)
        return out

    def _rows_plain(self, a: _Arrays, positions: list[int]) -> list[Score | None]:
        """Many rows without factors, reading each column once (the streaming path)."""
        found = [p for p in positions if p >= 0]
        ids = a.ids[found].tolist()
        pks = a.pks[found].tolist()
        probs = a.probs[found].tolist()
        bands = [ENGAGEMENT_BANDS[b] for b in a.bands[found].tolist()]
        stamps = _datetimes(a.as_of[found].tolist())
        scored = _datetimes(a.scored_at[found].tolist())
        rows = iter(
            Score(i.decode("ascii"), pk, p, b, t, st, None)
            for i, pk, p, b, t, st in zip(ids, pks, probs, bands, stamps, scored, strict=True)
        )
        return [next(rows) if p >= 0 else None for p in positions]

    def _row(self, a: _Arrays, i: int, factors: int = FACTOR_SLOTS) -> Score:
        explained = None
        if a.has_factors[i]:
            names, texts = self._features, self._texts
            explained = tuple(
                Factor(names[f], c, texts[t] if t >= 0 else _number_text(n), n)
                for f, c, n, t in zip(
                    a.f_feature[i, :factors].tolist(),
                    a.f_contrib[i, :factors].tolist(),
                    a.f_number[i, :factors].tolist(),
                    a.f_text[i, :factors].tolist(),
                    strict=True,
                )
                if f >= 0
            )
        return Score(
            a.ids[i].decode("ascii"),
            int(a.pks[i]),
            float(a.probs[i]),
            ENGAGEMENT_BANDS[a.bands[i]],
            datetime.fromtimestamp(float(a.as_of[i]), UTC),
            datetime.fromtimestamp(float(a.scored_at[i]), UTC),
            explained,
        )

    def pks_by_probability(self, limit: int) -> np.ndarray:
        """Up to `limit` pks the arrays hold, most likely responders first."""
        arrays = self._arrays
        if limit <= 0 or not len(arrays.pks):
            return np.empty(0, np.int64)
        order = np.argsort(-arrays.probs, kind="stable")[:limit]
        return arrays.pks[order]

    # ------------------------------------------------------------------ writing
    def put(self, batch: ScoreBatch) -> None:
        """Add or replace these people's scores."""
        if not len(batch):
            return
        scores = batch.scores()
        with self._lock:
            for s in scores:
                if s.factors is None:  # keep factors we have when only the number changed
                    old = self._overlay.get(s.pk)
                    if old is not None and old.factors is not None and old.as_of == s.as_of:
                        s = s._replace(factors=old.factors)
                self._overlay[s.pk] = s
                self._overlay_ids[s.candidate_id] = s.pk
            if len(self._overlay) >= COMPACT_AT:
                self._compact()

    def remove(self, pks: Sequence[int]) -> None:
        """Forget these people (merged away, gone): their score is no longer served."""
        with self._lock:
            for pk in pks:
                old = self._overlay.get(int(pk))
                if old is not None:
                    self._overlay_ids.pop(old.candidate_id, None)
                self._overlay[int(pk)] = None
            pos = self._arrays.positions_of_pks(np.asarray(list(pks), np.int64))
            for p in pos[pos >= 0].tolist():
                self._overlay_ids.pop(self._arrays.ids[p].decode("ascii"), None)

    def extend(self, batch: ScoreBatch) -> None:
        """Append a bulk-scoring chunk straight into the arrays (no overlay on the way)."""
        if not len(batch):
            return
        columns = self._columns_of(batch)
        with self._lock:
            merged = _merge(self._arrays.columns(), columns, {})
            self._arrays = _Arrays._build(*merged)
            for pk in batch.pks.tolist():  # the chunk is newer than what the overlay held
                old = self._overlay.pop(int(pk), None)
                if old is not None:
                    self._overlay_ids.pop(old.candidate_id, None)

    def set_factors(
        self, pks: np.ndarray, factors: Sequence[Sequence[Factor]], as_of: datetime
    ) -> int:
        """Attach factors to scores made as of `as_of` (a full pass explaining what it scored
        earlier). Rows rescored since keep theirs. Returns how many rows took them."""
        stamp = as_of.timestamp()
        taken = 0
        with self._lock:
            a = self._arrays
            positions = a.positions_of_pks(np.asarray(pks, np.int64))
            for pk, pos, row in zip(pks.tolist(), positions.tolist(), factors, strict=True):
                if pos < 0 or a.as_of[pos] != stamp or pk in self._overlay:
                    continue
                a.f_feature[pos] = -1
                a.f_text[pos] = -1
                a.f_number[pos] = np.nan
                a.f_contrib[pos] = 0.0
                for k, f in enumerate(row[:FACTOR_SLOTS]):
                    a.f_feature[pos, k] = self._feature(f.feature)
                    a.f_contrib[pos, k] = f.contribution
                    a.f_number[pos, k] = f.numeric_value
                    if math.isnan(f.numeric_value):
                        a.f_text[pos, k] = self._text(f.value)
                # readers take the row only once this flag is set, after its factors
                a.has_factors[pos] = True
                taken += 1
        return taken

    def compact(self) -> None:
        with self._lock:
            self._compact()

    def _compact(self) -> None:
        """Merge the overlay into new arrays (caller holds the lock)."""
        if not self._overlay:
            return
        live = [s for s in self._overlay.values() if s is not None]
        removed = {pk for pk, s in self._overlay.items() if s is None}
        extra = self._columns_of_scores(live)
        self._arrays = _Arrays._build(*_merge(self._arrays.columns(), extra, removed))
        self._overlay.clear()
        self._overlay_ids.clear()

    # ------------------------------------------------------------------ encoding
    def _feature(self, name: str) -> int:
        code = self._feature_code.get(name)
        if code is None:
            code = self._feature_code[name] = len(self._features)
            self._features.append(name)
        return code

    def _text(self, text: str) -> int:
        code = self._text_code.get(text)
        if code is None:
            code = self._text_code[text] = len(self._texts)
            self._texts.append(text)
        return code

    def _columns_of(self, batch: ScoreBatch) -> tuple:
        with self._lock:
            return self._encode(
                np.asarray(batch.pks, np.int64),
                batch.ids,
                np.asarray(batch.probabilities, np.float32),
                batch.bands,
                np.full(len(batch), batch.as_of.timestamp()),
                np.full(len(batch), (batch.scored_at or batch.as_of).timestamp()),
                batch.factors,
            )

    def _columns_of_scores(self, scores: list[Score]) -> tuple:
        return self._encode(
            np.fromiter((s.pk for s in scores), np.int64, len(scores)),
            [s.candidate_id for s in scores],
            np.fromiter((s.probability for s in scores), np.float32, len(scores)),
            [s.band for s in scores],
            [s.as_of.timestamp() for s in scores],
            [s.scored_at.timestamp() for s in scores],
            [s.factors for s in scores],
        )

    def _encode(self, pks, ids, probs, bands, as_of, scored_at, factors) -> tuple:
        n = len(pks)
        cols = list(_empty_columns(n))
        cols[0] = pks
        cols[1] = np.array([i.encode("ascii") for i in ids], _ID) if n else cols[1]
        cols[2] = probs
        cols[3] = np.fromiter((_BAND_CODE[b] for b in bands), np.int8, n)
        cols[4] = np.asarray(as_of, np.float64)
        cols[5] = np.asarray(scored_at, np.float64)
        if factors is not None:
            has, ff, fc, fn, ft = cols[6:]
            for i, row in enumerate(factors):
                if row is None:
                    continue
                has[i] = True
                for k, f in enumerate(row[:FACTOR_SLOTS]):
                    ff[i, k] = self._feature(f.feature)
                    fc[i, k] = f.contribution
                    fn[i, k] = f.numeric_value
                    if math.isnan(f.numeric_value):
                        ft[i, k] = self._text(f.value)
        return tuple(cols)


def _merge(base: tuple, extra: tuple, removed: set[int]) -> tuple:
    """Columns of base and extra, extra winning on equal pks, without `removed`; by pk."""
    pks = np.concatenate([base[0], extra[0]])
    # stable sort by pk: for equal pks the extra row comes last; keep the last of each run
    order = np.argsort(pks, kind="stable")
    sorted_pks = pks[order]
    last = np.ones(len(order), bool)
    last[:-1] = sorted_pks[1:] != sorted_pks[:-1]
    keep = order[last]
    if removed:
        keep = keep[~np.isin(pks[keep], np.fromiter(removed, np.int64, len(removed)))]
    return tuple(np.concatenate([b, e])[keep] for b, e in zip(base, extra, strict=True))


def _trim(score: Score | None, factors: int) -> Score | None:
    if score is None or score.factors is None or len(score.factors) <= factors:
        return score
    return score._replace(factors=score.factors[:factors])


def _datetimes(stamps: list[float]) -> list[datetime]:
    """Epoch seconds as datetimes; a full pass shares one instant, converted once."""
    cache: dict[float, datetime] = {}
    out = []
    for t in stamps:
        d = cache.get(t)
        if d is None:
            d = cache[t] = datetime.fromtimestamp(t, UTC)
        out.append(d)
    return out


def _number_text(value: float) -> str:
    if math.isnan(value):
        return ""
    return str(int(value)) if value.is_integer() else f"{value:.4g}"
