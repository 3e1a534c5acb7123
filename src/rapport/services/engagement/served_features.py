"""The features behind the served engagement scores, kept beside the score book.

Auditing another model version "now" (a challenger before it is promoted, an older
version after a rollback) needs every active person's features. Rebuilding them reads the
whole timeline: seconds at 5M events. The keeper has just computed the same features to
serve its own model, and they do not depend on the model, so it keeps them: the full
pass's frame plus, in order, the people rescored since (change feed, on-demand scores) and
the people dropped (merged away, no longer active, erased). A person costs about 250 bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas loads with the first model, not with the service
    import pandas as pd

# Queued changes are folded into the frame when they hold this many rows or entries (the
# follower queues one small frame a round; folding costs one copy of the frame).
COMPACT_ROWS = 20_000
COMPACT_ENTRIES = 256


@dataclass(frozen=True)
class FeatureSnapshot:
    frame: pd.DataFrame  # indexed by candidate pk, columns of the feature spec
    oldest_as_of: datetime  # the full pass's instant; people rescored since are newer


class ServedFeatures:
    """Safe for concurrent readers and writers: changes are queued under a lock and folded
    into a new frame (never edited in place), so a snapshot stays valid after it is taken."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: pd.DataFrame | None = None
        self._as_of: datetime | None = None
        # ("put", frame) or ("drop", pks), each with the instant it reflects, oldest first
        self._pending: list[tuple[datetime, str, object]] = []
        self._pending_rows = 0

    def replace(self, frames: Sequence[pd.DataFrame], as_of: datetime) -> pd.DataFrame | None:
        """A full pass's features of everyone active as of `as_of` (returned as one frame).
        Changes recorded after that instant (rescored or dropped meanwhile) stay queued on
        top."""
        import pandas as pd

        frame = pd.concat(frames) if len(frames) > 1 else (frames[0] if frames else None)
        with self._lock:
            self._frame, self._as_of = frame, as_of
            self._pending = [p for p in self._pending if p[0] > as_of]
            self._pending_rows = sum(len(p[2]) for p in self._pending)
        return frame

    def put(self, frame: pd.DataFrame, as_of: datetime) -> None:
        """These people's features as of `as_of` (they replace what was kept for them)."""
        if not len(frame):
            return
        with self._lock:
            self._pending.append((as_of, "put", frame))
            self._pending_rows += len(frame)
            if self._pending_rows >= COMPACT_ROWS or len(self._pending) >= COMPACT_ENTRIES:
                self._fold()

    def drop(self, pks: Sequence[int]) -> None:
        """Forget these people (merged away, inactive, erased)."""
        if not len(pks):
            return
        with self._lock:
            self._pending.append((datetime.now(UTC), "drop", np.asarray(pks, np.int64)))
            self._pending_rows += len(pks)
            if len(self._pending) >= COMPACT_ENTRIES:
                self._fold()

    def snapshot(self) -> FeatureSnapshot | None:
        """Everyone's latest kept features, or None before the first full pass."""
        with self._lock:
            if self._frame is None or self._as_of is None:
                return None
            self._fold()
            return FeatureSnapshot(self._frame, self._as_of)

    def _fold(self) -> None:
        """Apply the queued changes (caller holds the lock): for each person touched, the
        last change wins; one copy of the frame however many changes were queued."""
        if self._frame is None or not self._pending:
            return
        import pandas as pd

        puts = [(i, c) for i, (_, kind, c) in enumerate(self._pending) if kind == "put"]
        drops = [(i, c) for i, (_, kind, c) in enumerate(self._pending) if kind == "drop"]
        touched = np.concatenate(
            [np.asarray(c.index if isinstance(c, pd.DataFrame) else c) for _, c in puts + drops]
        )
        parts = [self._frame[~self._frame.index.isin(touched)]]
        if puts:
            stacked = pd.concat([c for _, c in puts])
            seq = np.concatenate([np.full(len(c), i) for i, c in puts])
            latest = ~stacked.index.duplicated(keep="last")  # in queue order: last is newest
            stacked, seq = stacked[latest], seq[latest]
            if drops:
                dropped = pd.Series(
                    np.concatenate([np.full(len(c), i) for i, c in drops]),
                    index=np.concatenate([c for _, c in drops]),
                )
                last_drop = dropped.groupby(level=0).max()
                dropped_at = last_drop.reindex(stacked.index).fillna(-1).to_numpy()
                stacked = stacked[seq > dropped_at]
            parts.append(stacked)
        self._frame = pd.concat(parts).sort_index()
        self._pending, self._pending_rows = [], 0
