"""Keeps the served engagement scores, and the bands on candidates, in step with the model
and the store.

When a model is installed (at start from the local cache, later each new champion) every
active candidate is scored in chunks: probabilities first, written to the book and, as
bands, to the store in bulk (`candidates.set_engagement_bands`); then each person's factors,
which cost one prediction per feature and so come second. After that the change feed is
followed every `engagement_follow_interval_s`: whoever's profile, timeline or pools changed
is rescored (a merged-away record is dropped). Recency features age with the clock, so
everyone is rescored every `engagement_rescore_interval_s` as well.

Requests never wait for any of this: a person the book has no score for is scored on the
spot (`score_now`), with the same code. The features behind the scores are kept as well
(`features`), for auditing other model versions without reading the timeline again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import func, select

from rapport.core.config import Settings
from rapport.core.store import audit, candidates, feed
from rapport.core.store.candidates import ACTIVE
from rapport.core.store.db import Database
from rapport.core.store.feed import FeedCursor
from rapport.core.store.schema import CandidateRow
from rapport.models.engagement.bands import BandThresholds, band_for
from rapport.services.engagement.model_holder import LoadedModel
from rapport.services.engagement.scores import FACTOR_SLOTS, Factor, ScoreBatch, ScoreBook
from rapport.services.engagement.served_features import ServedFeatures

log = logging.getLogger(__name__)

CHUNK = 5_000  # people per feature query and per band-writing transaction
FEED_PAGE = 5_000
EXPLAIN_CHUNK = 1_000  # people explained between two looks at the change feed
# Changes from the feed up to this many people at once are rescored with their factors;
# a bigger wave (an import) gets probabilities only, and factors when someone asks.
EXPLAIN_FEED_MAX = 1_000


@dataclass(frozen=True)
class Serving:
    """The model answering requests and the scores it made: swapped as one reference."""

    model: LoadedModel
    book: ScoreBook


@dataclass
class Progress:
    state: str = "idle"  # idle | scoring | explaining
    done: int = 0
    total: int = 0
    passes: int = 0
    bands_as_of: datetime | None = None
    bands_changed: int = 0
    last_error: str = ""
    timings: dict[str, float] = field(default_factory=dict)


class ScoreKeeper:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        thresholds: BandThresholds,
        *,
        write_bands: bool = True,
    ) -> None:
        self._db = db
        self._settings = settings
        self._thresholds = thresholds
        self._build_features = None  # features.build_features, imported with the first model
        self._write_bands = write_bands
        self._serving: Serving | None = None
        self.features = ServedFeatures()  # of everyone active, whatever model is served
        self._cursor = FeedCursor()
        self._progress = Progress()
        self._full_requested = threading.Event()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._last_full = 0.0
        self._threads = None  # threadpoolctl controller, made at the first model call
        self._thread = threading.Thread(target=self._run, name="engagement-keeper", daemon=True)

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def install(self, model: LoadedModel) -> None:
        """Serve `model` from now on, with an empty book that the next pass fills.

        One reference assignment: a request sees either the old model and its scores or
        the new model and its (possibly still filling) book, never a mix.
        """
        self._serving = Serving(model, ScoreBook(model.info.version))
        self._full_requested.set()
        self._wake.set()

    def _features(self, session, as_of: datetime, pks):
        """Features of these people (pandas is imported only once there is a model)."""
        if self._build_features is None:
            from rapport.models.engagement.features import build_features

            self._build_features = build_features
        return self._build_features(session, as_of, pks)

    # ----------------------------------------------------------------- reading
    def current(self) -> Serving | None:
        return self._serving

    def status(self) -> dict:
        p = self._progress
        return {
            "state": p.state,
            "done": p.done,
            "total": p.total,
            "passes": p.passes,
            "feed_seq": self._cursor.upto,
            "bands_as_of": p.bands_as_of,
            "bands_changed": p.bands_changed,
            "last_error": p.last_error,
        }

    # ----------------------------------------------------------------- scoring
    def score_now(self, serving: Serving, pks: Sequence[int], *, factors: int = 0) -> ScoreBatch:
        """Score these people from the store as it is now (missing/inactive pks left out)
        and remember the result in the book, unless the model changed meanwhile.
        `factors` > 0 also explains each score (that many factors, strongest first)."""
        as_of = datetime.now(UTC)
        with self._db.read() as s:
            frame = self._features(s, as_of, list(pks))
            self.features.put(frame, as_of)
            present = [int(pk) for pk in frame.index]
            ids: dict[int, str] = {}
            if present:
                query = select(CandidateRow.pk, CandidateRow.id).where(CandidateRow.pk.in_(present))
                ids = dict(s.execute(query).all())
        batch = self._score_frame(serving, frame, [ids[pk] for pk in present], as_of, factors)
        if self._serving is serving:
            serving.book.put(batch)
        return batch

    def _one_thread(self):
        """Model calls on one OpenMP thread. scikit-learn's gradient boosting otherwise fans
        every prediction out over all cores: on a server already running one call per
        request thread that costs more than it saves (explaining 500 people: 2.6 s on two
        threads, 0.9 s on one; a single prediction pays the fan-out for nothing)."""
        if self._threads is None:
            from threadpoolctl import ThreadpoolController

            self._threads = ThreadpoolController()  # after the model loaded its OpenMP
        return self._threads.limit(limits=1, user_api="openmp")

    def _score_frame(
        self, serving: Serving, frame, ids: list[str], as_of: datetime, factors: int
    ) -> ScoreBatch:
        scorer = serving.model.scorer
        pks = np.asarray(frame.index, np.int64)
        probs = np.empty(0)
        explained = None
        if len(frame):
            with self._one_thread():
                probs = np.asarray(scorer.predict_proba(frame), np.float64)
                if factors:
                    explained = [
                        [_factor(f) for f in row] for row in scorer.explain(frame, factors)
                    ]
        return ScoreBatch(
            pks=pks,
            ids=ids,
            probabilities=probs,
            bands=[band_for(float(p), self._thresholds) for p in probs],
            as_of=as_of,
            factors=explained,
            scored_at=datetime.now(UTC),
        )

    # ----------------------------------------------------------------- the thread
    def _run(self) -> None:
        interval = self._settings.engagement_follow_interval_s
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            serving = self._serving
            if serving is None:
                continue
            try:
                due = (
                    time.monotonic() - self._last_full
                    > self._settings.engagement_rescore_interval_s
                )
                if self._full_requested.is_set() or due:
                    self._full_requested.clear()
                    self.full_pass(serving)
                else:
                    self.follow_once(serving)
            except Exception as exc:  # the service keeps answering; the next round retries
                log.exception("engagement scoring failed; retrying")
                self._progress.last_error = f"{type(exc).__name__}: {exc}"
                self._progress.state = "idle"

    def _pages(self, size: int) -> Iterator[list[tuple[int, str]]]:
        """(pk, id) of every active candidate, in pk order, `size` at a time."""
        after = 0
        while True:
            with self._db.read() as s:
                page = list(
                    s.execute(
                        select(CandidateRow.pk, CandidateRow.id)
                        .where(CandidateRow.status == ACTIVE, CandidateRow.pk > after)
                        .order_by(CandidateRow.pk)
                        .limit(size)
                    )
                )
            if not page:
                return
            yield page
            after = page[-1][0]

    def _superseded(self, serving: Serving) -> bool:
        return self._stop.is_set() or self._serving is not serving

    def full_pass(self, serving: Serving) -> None:
        """Score everyone (probabilities and bands, then factors). Abandoned when another
        model is installed meanwhile: that model's own pass follows."""
        started = time.monotonic()
        as_of = datetime.now(UTC)
        with self._db.read() as s:
            head = feed.head(s)
            total = s.execute(
                select(func.count()).select_from(CandidateRow).where(CandidateRow.status == ACTIVE)
            ).scalar_one()
        p = self._progress
        p.state, p.done, p.total = "scoring", 0, total
        changed = 0
        frames = []
        for page in self._pages(CHUNK):
            if self._superseded(serving):
                return
            ids = dict(page)
            with self._db.read() as s:
                frame = self._features(s, as_of, list(ids))
            frames.append(frame)
            batch = self._score_frame(
                serving, frame, [ids[int(pk)] for pk in frame.index], as_of, 0
            )
            serving.book.extend(batch)
            changed += self._store_bands(batch)
            p.done += len(page)
        scored_s = time.monotonic() - started
        kept = self.features.replace(frames, as_of)
        # Changes committed after `head` are replayed by the follower, with a later as_of.
        self._cursor = FeedCursor(upto=head)
        self._last_full = started
        p.passes += 1
        if self._write_bands:
            p.bands_as_of, p.bands_changed = as_of, changed
        self._audit(serving, total, changed, as_of)
        log.info(
            "engagement %s: scored %d candidates in %.1fs (%d bands changed)",
            serving.model.info.version,
            total,
            scored_s,
            changed,
        )
        # Factors cost one prediction per feature and person: explain the most likely
        # responders first (whom recruiters ask about), at most engagement_explain_limit of
        # them; anyone else gets theirs on request. The follower runs between chunks. The
        # features are the pass's own (rows rescored since keep the factors they got then).
        order = serving.book.pks_by_probability(self._settings.engagement_explain_limit)
        p.state, p.done, p.total = "explaining", 0, len(order)
        for start in range(0, len(order), EXPLAIN_CHUNK):
            if self._superseded(serving) or kept is None:
                return
            frame = kept[kept.index.isin(order[start : start + EXPLAIN_CHUNK])]
            if len(frame):
                with self._one_thread():
                    explained = serving.model.scorer.explain(frame, FACTOR_SLOTS)
                serving.book.set_factors(
                    np.asarray(frame.index, np.int64),
                    [[_factor(f) for f in row] for row in explained],
                    as_of,
                )
            p.done = min(start + EXPLAIN_CHUNK, len(order))
            self.follow_once(serving)
        p.state = "idle"
        p.timings = {
            "scores_s": round(scored_s, 2),
            "total_s": round(time.monotonic() - started, 2),
        }
        p.last_error = ""
        log.info(
            "engagement %s: explained %d candidates in %.1fs",
            serving.model.info.version,
            len(order),
            time.monotonic() - started - scored_s,
        )

    def follow_once(self, serving: Serving) -> int:
        """Rescore whoever the change feed shows changed; returns feed events read."""
        read = 0
        cursor = self._cursor
        while not self._superseded(serving):
            with self._db.read() as s:
                events = feed.read_since(s, cursor.upto, FEED_PAGE)
            fresh = [e for e in events if e.seq not in cursor.ahead]
            if not fresh:
                cursor.advance([], time.monotonic())
                return read
            read += len(fresh)
            self.rescore_ids(serving, sorted({e.candidate_id for e in fresh}))
            cursor.advance([e.seq for e in fresh], time.monotonic())
            if len(events) < FEED_PAGE:
                break
        return read

    def rescore_ids(self, serving: Serving, candidate_ids: Sequence[str]) -> None:
        with self._db.read() as s:
            rows = list(
                s.execute(
                    select(CandidateRow.pk, CandidateRow.status, CandidateRow.id).where(
                        CandidateRow.id.in_(list(candidate_ids))
                    )
                )
            )
        gone = [pk for pk, status, _ in rows if status != ACTIVE]
        live = [pk for pk, status, _ in rows if status == ACTIVE]
        # erased: the row is gone, only the book still knows the person's pk
        missing = set(candidate_ids) - {cid for _, _, cid in rows}
        gone += [s.pk for s in (serving.book.get(cid, 0) for cid in missing) if s is not None]
        self.forget(serving, gone)
        if not live:
            return
        factors = FACTOR_SLOTS if len(live) <= EXPLAIN_FEED_MAX else 0
        for start in range(0, len(live), CHUNK):
            batch = self.score_now(serving, live[start : start + CHUNK], factors=factors)
            self._store_bands(batch)

    def forget(self, serving: Serving, pks: Sequence[int]) -> None:
        """These people are gone (merged away, inactive, erased): drop their score and
        features."""
        if pks:
            serving.book.remove(pks)
            self.features.drop(pks)

    def _store_bands(self, batch: ScoreBatch) -> int:
        if not self._write_bands or not len(batch):
            return 0
        with self._db.transaction() as s:
            return candidates.set_engagement_bands(
                s, dict(zip(batch.pks.tolist(), batch.bands, strict=True))
            )

    def _audit(self, serving: Serving, scored: int, changed: int, as_of: datetime) -> None:
        """One audit row per full pass: who wrote the bands (the model), not one per person."""
        if not self._write_bands:
            return
        info = serving.model.info
        with self._db.transaction() as s:
            audit.record(
                s,
                "engagement.bands",
                [info.version],
                target_type="model",
                details={
                    "model": info.name,
                    "version": info.version,
                    "scored": scored,
                    "bands_changed": changed,
                    "as_of": as_of.isoformat(),
                },
            )


def _factor(f) -> Factor:
    """The model's factor as the service's (the number and its text both kept)."""
    value = f.value
    if isinstance(value, str):
        return Factor(f.feature, float(f.contribution), value)
    number = float(value)
    text = str(int(number)) if number.is_integer() else f"{number:.4g}"
    return Factor(f.feature, float(f.contribution), text, number)
