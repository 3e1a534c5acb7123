"""Keeps the matching index in step with the store, from start to shutdown.

On start: load the vector snapshot (refusing one made by another encoder or failing its
checksum, then rebuilding), reload profiles, and replay the change feed from the snapshot's
position. Then follow the feed every `index_follow_interval_s`, so a created, updated,
merged or erased candidate is searchable or gone within about a second. A rebuild builds a
new index aside while queries keep using the old one, replays what changed meanwhile, and
swaps. Snapshots are written periodically and on shutdown.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from rapport.core.config import Settings
from rapport.core.errors import PreconditionFailed, Unavailable
from rapport.core.store import feed, profiles
from rapport.core.store.db import Database
from rapport.core.store.feed import GAP_TIMEOUT_S, FeedCursor  # noqa: F401 (re-exported)
from rapport.models.encoders import Encoder
from rapport.models.match_index import MatchIndex
from rapport.models.profiles import ProfileBuilder, candidate_text
from rapport.models.vector_index import (
    NoSnapshot,
    SnapshotError,
    VectorIndex,
    serve_single_threaded,
)

log = logging.getLogger(__name__)

# Feed ops that change what is embedded; others (timeline, pool) only re-check rankability.
PROFILE_OPS = frozenset(
    {"created", "updated", "merged", "unmerged", "erased", "anonymised", "consent"}
)
# Ops after which the snapshot on disk is rewritten at once, not at the next interval.
FORGET_OPS = frozenset({"erased", "anonymised"})
# People read, mapped and encoded per step of a rebuild. Texts are sorted by length within a
# page before batching, so a bigger page pads less (about +5% over 512 on seeded texts).
BUILD_PAGE = 2_048
FEED_PAGE = 5_000


@dataclass
class Progress:
    state: str = "starting"  # starting | building | ready | failed
    message: str = ""
    done: int = 0
    total: int = 0
    rebuilding: bool = False


def feed_head(db: Database) -> int:
    with db.read() as s:
        return feed.head(s)


def _out_of_gc_scans() -> None:
    """Move what is alive now, above all the index just loaded (100k profiles with their
    skills: millions of objects that live as long as the index), out of the cyclic
    collector's scans: a full collection over them stalls every request in the process for
    a tenth of a second, which is the p99 of a ranking. A replaced index is still freed by
    reference counting (it holds no cycles). Only in a process that freezes its long-lived
    state already (`rapport serve` does at start): not in a test run's servers."""
    if gc.get_freeze_count():
        gc.freeze()


class IndexKeeper:
    """Owns the live MatchIndex and the thread that keeps it current."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        runtime: Callable[[], tuple[Encoder, ProfileBuilder]],
    ) -> None:
        self._db = db
        self._settings = settings
        self._runtime = runtime
        self._encoder: Encoder | None = None
        self._builder: ProfileBuilder | None = None
        self._index: MatchIndex | None = None
        self._cursor = FeedCursor()
        self._progress = Progress()
        self._lock = threading.Lock()  # guards swaps of _index/_cursor and _progress
        self._apply_lock = threading.Lock()  # one applier of feed changes at a time
        self._stop = threading.Event()
        self._rebuild_requested = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-keeper", daemon=True)
        self._dirty = False
        self._last_snapshot = time.monotonic()
        self._forgot = False  # erased or anonymised people applied since the last snapshot

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> None:
        serve_single_threaded()
        self._thread.start()

    def close(self) -> None:
        """Stop following and write a last snapshot. A thread still loading the model is
        left to die with the process (it is a daemon) rather than delay shutdown."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self._index is not None and self._dirty:
            self._save_snapshot()

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._progress.state in ("ready", "failed"):
                return self._progress.state == "ready"
            time.sleep(0.05)
        return False

    # ----------------------------------------------------------------- queries
    def current(self) -> tuple[MatchIndex, int]:
        """The live index and the feed position it reflects; Unavailable until built."""
        with self._lock:
            index, progress = self._index, self._progress
            seq = self._cursor.upto
        if index is None:
            if progress.state == "failed":
                raise Unavailable(f"matching index unavailable: {progress.message}")
            pct = f" {100 * progress.done // progress.total}%" if progress.total else ""
            raise Unavailable(
                f"matching index is {progress.state}{pct} ({progress.done:,}/{progress.total:,})"
                "; retry shortly"
            )
        return index, seq

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            raise Unavailable("the encoder is still loading; retry shortly")
        return self._encoder

    @property
    def builder(self) -> ProfileBuilder:
        if self._builder is None:
            raise Unavailable("the skill mapper is still loading; retry shortly")
        return self._builder

    def status(self) -> dict:
        with self._lock:
            index, progress, seq = self._index, self._progress, self._cursor.upto
        vec = index.vectors.status() if index is not None else None
        return {
            "state": progress.state,
            "message": progress.message,
            "encoder": self._encoder.id if self._encoder else self._settings.encoder,
            "index_version": vec.index_version if vec else "",
            "kind": vec.kind if vec else "",
            "vectors": len(index.vectors) if index is not None else 0,
            "seq": seq,
            "feed_head": feed_head(self._db),
            "built_at": datetime.fromisoformat(vec.built_at) if vec and vec.built_at else None,
            "rebuilding": progress.rebuilding
            or progress.state == "building"
            or self._rebuild_requested.is_set(),
            "nlist": vec.nlist if vec else 0,
            "nprobe": vec.nprobe if vec else 0,
            "done": progress.done,
            "total": progress.total,
        }

    def request_rebuild(self) -> None:
        if self._progress.state == "failed" and self._encoder is None:
            raise PreconditionFailed(f"cannot rebuild: {self._progress.message}")
        self._rebuild_requested.set()

    # ----------------------------------------------------------------- the thread
    def _set(self, **changes) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._progress, key, value)

    def prepare(self) -> None:
        """Load the encoder and skill mapper (slow the first time: model export, label
        embeddings). The keeper's thread does this itself; benchmarks call it directly."""
        if self._encoder is None or self._builder is None:
            self._encoder, self._builder = self._runtime()

    def _run(self) -> None:
        try:
            self.prepare()
            self._open()
        except Exception as exc:  # the service stays up and says why matching cannot
            log.exception("matching index failed to start")
            self._set(state="failed", message=str(exc))
            return
        interval = self._settings.index_follow_interval_s
        while not self._stop.wait(interval):
            try:
                if self._rebuild_requested.is_set():
                    self._rebuild_requested.clear()
                    self._rebuild()
                self.follow_once()
                if self._dirty and (
                    self._forgot  # an erasure: the copy on disk must not keep them either
                    or time.monotonic() - self._last_snapshot
                    > self._settings.index_snapshot_interval_s
                ):
                    self._forgot = False
                    self._save_snapshot()
            except Exception:
                log.exception("matching index maintenance failed; retrying")

    def _open(self) -> None:
        directory = self._settings.effective_index_dir
        encoder = self.encoder
        try:
            loaded = VectorIndex.load(
                directory,
                encoder_id=encoder.id,
                dim=encoder.dim,
                ivf_threshold=self._settings.index_ivf_threshold,
            )
        except NoSnapshot:
            log.info("no index snapshot in %s: building one", directory)
            loaded = None
        except SnapshotError as exc:
            log.warning("not using the index snapshot: %s; rebuilding", exc)
            self._set(message=str(exc))
            loaded = None
        if loaded is None:
            self._rebuild()
            return
        vectors, manifest = loaded
        index = MatchIndex(vectors, encoder, self.builder)
        self._set(state="building", message="loading profiles", total=len(vectors))
        after = 0
        while True:
            with self._db.read() as s:
                page = profiles.rankable_after(s, after, 2_000)
            if not page:
                break
            index.put_profiles(self.builder.build_many(page))
            after = page[-1].pk
            self._set(done=len(index))
        with self._lock:
            self._index = index
            self._cursor = FeedCursor(upto=manifest.seq)
        self.follow_once()
        _out_of_gc_scans()
        self._set(state="ready", message="")
        log.info("matching index loaded: %d vectors at seq %d", len(vectors), manifest.seq)

    def build_fresh(
        self, on_progress: Callable[[int, int], None] | None = None
    ) -> tuple[MatchIndex, int]:
        """A complete index of the store as of now, and the feed position it reflects."""
        encoder, builder = self.encoder, self.builder
        head = feed_head(self._db)
        with self._db.read() as s:
            total = profiles.count_rankable(s)
        ids: list[np.ndarray] = []
        vecs: list[np.ndarray] = []
        built_profiles = []
        after, done = 0, 0
        while not self._stop.is_set():
            with self._db.read() as s:
                page = profiles.rankable_after(s, after, BUILD_PAGE)
            if not page:
                break
            built_profiles.extend(builder.build_many(page))
            vecs.append(encoder.encode([candidate_text(c) for c in page]))
            ids.append(np.fromiter((c.pk for c in page), np.int64, len(page)))
            after, done = page[-1].pk, done + len(page)
            total = max(total, done)
            if on_progress:
                on_progress(done, total)
        all_ids = np.concatenate(ids) if ids else np.empty(0, np.int64)
        all_vecs = np.vstack(vecs) if vecs else np.empty((0, encoder.dim), np.float32)
        vectors = VectorIndex.build(
            encoder.id,
            encoder.dim,
            all_ids,
            all_vecs,
            ivf_threshold=self._settings.index_ivf_threshold,
        )
        index = MatchIndex(vectors, encoder, builder)
        index.put_profiles(built_profiles)
        return index, head

    def _rebuild(self) -> None:
        first = self._index is None
        self._set(
            state="building" if first else self._progress.state,
            rebuilding=True,
            done=0,
            total=0,
        )
        started = time.monotonic()
        index, head = self.build_fresh(lambda d, t: self._set(done=d, total=t))
        if self._stop.is_set():
            return
        # Catch the new index up with what changed while it was built, then swap.
        with self._apply_lock:
            cursor = FeedCursor(upto=head)
            self._catch_up(index, cursor)
            with self._lock:
                self._index, self._cursor = index, cursor
        self._dirty = True
        self._save_snapshot()
        _out_of_gc_scans()
        self._set(state="ready", rebuilding=False, message="")
        log.info(
            "matching index built: %d vectors in %.1fs", len(index), time.monotonic() - started
        )

    def follow_once(self) -> int:
        """Apply feed events not yet applied; returns how many were read."""
        with self._lock:
            index, cursor = self._index, self._cursor
        if index is None:
            return 0
        with self._apply_lock:
            return self._catch_up(index, cursor)

    def _catch_up(self, index: MatchIndex, cursor: FeedCursor) -> int:
        read = 0
        while True:
            with self._db.read() as s:
                events = feed.read_since(s, cursor.upto, FEED_PAGE)
            fresh = [e for e in events if e.seq not in cursor.ahead]
            if not fresh:
                cursor.advance([], time.monotonic())
                return read
            read += len(fresh)
            changed = {e.candidate_id for e in fresh if e.op in PROFILE_OPS}
            if any(e.op in FORGET_OPS for e in fresh):
                self._forgot = True
            touched = {e.candidate_id for e in fresh} - changed
            self._apply(index, changed, touched)
            cursor.advance([e.seq for e in fresh], time.monotonic())
            self._dirty = True
            if len(events) < FEED_PAGE:
                return read

    def _apply(self, index: MatchIndex, changed: set[str], touched: set[str]) -> None:
        with self._db.read() as s:
            live = profiles.rankable_by_id(s, sorted(changed | touched))
        live_ids = {c.id for c in live}
        index.remove_ids((changed | touched) - live_ids)
        # Only re-embed what changed, or what is rankable but not yet indexed.
        to_embed = [c for c in live if c.id in changed or index.profile_by_id(c.id) is None]
        for start in range(0, len(to_embed), BUILD_PAGE):
            index.upsert(to_embed[start : start + BUILD_PAGE])

    def _save_snapshot(self) -> None:
        with self._lock:
            index, seq = self._index, self._cursor.upto
        if index is None:
            return
        try:
            index.vectors.save(self._settings.effective_index_dir, seq=seq)
            self._dirty = False
            self._last_snapshot = time.monotonic()
        except OSError:
            log.exception("could not write the index snapshot")


def build_keeper(settings: Settings, db: Database) -> IndexKeeper:
    """The keeper for a service process: the runtime loads in its thread, not at start."""
    from rapport.models.runtime import load_runtime

    return IndexKeeper(db, settings, lambda: load_runtime(settings))
