"""Persisted FAISS index of candidate vectors, searchable by cosine with pre-top-k filters.

Vectors are L2-normalised float32 rows (inner product = cosine); ids are the candidates'
int64 store primary keys (>= 0; faiss uses -1 for "no result").

Two shapes (DESIGN §6):
- flat: `IndexIDMap2` over `IndexFlatIP`. Exact; used below `ivf_threshold` vectors.
- ivf: `IndexIVFFlat` (inner product, spherical k-means) holding the store ids itself, with a
  hashtable direct map so `reconstruct`/`remove_ids` work by id. Not wrapped in
  `IndexIDMap2`: its `remove_ids` assumes the sub-index renumbers rows like a flat index does,
  which IVF does not, so after a removal it would return the wrong ids.

Filters apply before top-k: a small allowed set is scored exactly from its own vectors; a
large one goes to faiss as an `IDSelector` (probing more IVF lists the more selective it is),
and rows that still come back short are redone exhaustively. So k results come back whenever
k allowed ids are indexed.

A snapshot is `index-<version>-<seq>-<nonce>.faiss` plus `manifest.json` naming it with its
sha256. The index file is complete and renamed into place before the manifest is atomically
replaced, so a crash leaves the old snapshot or the new one, never a mix. One writer per
directory. `load` raises `NoSnapshot` when there is none (a `SnapshotError`, so callers
can rebuild on `NoSnapshot`/`CorruptSnapshot` alike) and refuses another encoder's index.

Thread safety: a readers-writer lock. Searches, `get_vector` and `save` share it (faiss search
is const and releases the GIL); `upsert`/`remove` take it exclusively, so a search sees the
index before or after a batch, never half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from rapport.core.errors import PreconditionFailed, RapportError, Unavailable

__all__ = [
    "CorruptSnapshot",
    "EncoderMismatch",
    "IndexManifest",
    "IndexStatus",
    "NoSnapshot",
    "SnapshotError",
    "VectorIndex",
]

FORMAT = 1
MANIFEST = "manifest.json"
KIND_FLAT = "flat"
KIND_IVF = "ivf"
DEFAULT_IVF_THRESHOLD = 50_000
DEFAULT_EXACT_SUBSET_MAX = 2_000  # above it a selector search wins (bench/matching_faiss.py)
TARGET_RECALL = 0.95
TUNE_MARGIN = 0.01  # the tuning sample is noisy and nprobe lands just over the target
RECALL_K = 100
NLIST_MIN, NLIST_MAX = 64, 65_536
TRAIN_POINTS_PER_LIST = 64
MIN_POINTS_PER_LIST = 39  # below this faiss k-means warns and centroids get noisy
TUNE_QUERIES = 256
_BITMAP_MAX_ID = 1 << 24  # a bool mask this long costs ~16 MB per filtered query
_CHUNK = 1 << 20


class SnapshotError(Unavailable):
    """The persisted index cannot be used as it is; the index is not ready."""


class NoSnapshot(SnapshotError):
    """No snapshot has been written to the directory yet: build one."""


class CorruptSnapshot(SnapshotError):
    """Missing file, checksum mismatch or unreadable index: rebuild it."""


class EncoderMismatch(PreconditionFailed, SnapshotError):
    """The snapshot's vectors come from another encoder: they cannot be compared with queries."""

    def __init__(self, directory: Path, built: str, built_dim: int, wanted: str, dim: int):
        self.built, self.wanted = built, wanted
        RapportError.__init__(
            self,
            f"vector index in {directory} was built with encoder {built!r} (dim {built_dim}) "
            f"but the configured encoder is {wanted!r} (dim {dim}); its vectors are not "
            "comparable: run `rapport index rebuild`",
        )


@dataclass(frozen=True)
class IndexManifest:
    """What a snapshot holds, written beside it as manifest.json."""

    format: int
    encoder_id: str
    dim: int
    kind: str
    count: int
    nlist: int
    nprobe: int
    recall: float | None  # measured recall@recall_k of the tuned nprobe; None when exact
    recall_k: int
    trained_count: int  # vectors in the index when the IVF was trained (0 for flat)
    seq: int  # change-feed seq the snapshot reflects: replay from seq + 1
    built_at: str
    saved_at: str
    index_version: str  # changes on every rebuild, not on upserts
    file: str
    sha256: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict) -> IndexManifest:
        names = {f.name for f in fields(cls)}
        missing = names - data.keys()
        if missing:
            raise ValueError(f"manifest lacks {sorted(missing)}")
        return cls(**{k: data[k] for k in names})


@dataclass(frozen=True)
class IndexStatus:
    kind: str
    count: int
    dim: int
    nlist: int
    nprobe: int
    recall: float | None
    encoder_id: str
    index_version: str
    seq: int
    built_at: str
    trained_count: int
    rebuild_reason: str | None


class _RWLock:
    """Many readers or one writer; a waiting writer blocks new readers so it cannot starve."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _new_version(built_at: str) -> str:
    stamp = built_at.replace("-", "").replace(":", "")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def serve_single_threaded() -> None:
    """One OpenMP thread per FAISS call, for servers: concurrency comes from requests running
    in parallel, and FAISS's own thread team only spins against them (a 5k-vector search took
    6 ms with two busy threads, well under 1 ms with one)."""
    faiss.omp_set_num_threads(1)


def nlist_for(n: int) -> int:
    """About 4·sqrt(n) lists, bounded, and never so many that a list trains on < 39 points."""
    nlist = min(max(round(4 * math.sqrt(n)), NLIST_MIN), NLIST_MAX)
    return max(1, min(nlist, n // MIN_POINTS_PER_LIST))


def _as_ids(ids: object) -> np.ndarray:
    arr = np.ascontiguousarray(np.asarray(ids).reshape(-1), dtype=np.int64)
    if len(arr) and arr.min() < 0:
        raise ValueError("ids must be >= 0 (faiss reserves -1 for 'no result')")
    return arr


def _as_vectors(vectors: object, dim: int, rows: int | None = None) -> np.ndarray:
    arr = np.ascontiguousarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"vectors must be (n, {dim}), got {np.shape(vectors)}")
    if rows is not None and arr.shape[0] != rows:
        raise ValueError(f"{rows} ids but {arr.shape[0]} vectors")
    return arr


def _last_wins(ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drops earlier duplicates of an id within one batch, so the batch reads as sequential."""
    uniq, first_from_end = np.unique(ids[::-1], return_index=True)
    if len(uniq) == len(ids):
        return ids, vectors
    keep = np.sort(len(ids) - 1 - first_from_end)
    return ids[keep], np.ascontiguousarray(vectors[keep])


def _sorted_unique(ids: np.ndarray) -> np.ndarray:
    """ids sorted without duplicates; already-sorted input (the usual case) costs one pass."""
    if len(ids) < 2 or bool((ids[1:] > ids[:-1]).all()):
        return ids
    ids = np.sort(ids)
    keep = np.empty(len(ids), dtype=bool)
    keep[0] = True
    np.not_equal(ids[1:], ids[:-1], out=keep[1:])
    return ids[keep]


def _member(sorted_ids: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Mask of `query` values present in `sorted_ids` (query sorted is much faster)."""
    if not len(sorted_ids) or not len(query):
        return np.zeros(len(query), dtype=bool)
    pos = np.searchsorted(sorted_ids, query)
    np.minimum(pos, len(sorted_ids) - 1, out=pos)
    return sorted_ids[pos] == query


def _selector(allowed: np.ndarray) -> tuple[faiss.IDSelector, np.ndarray]:
    """A faiss selector for the ids (>= 0), plus the buffer it points into (keep it alive)."""
    hi = int(allowed[-1])  # allowed is sorted and unique
    if hi < _BITMAP_MAX_ID:
        mask = np.zeros(hi + 1, dtype=bool)
        mask[allowed] = True
        bits = np.packbits(mask, bitorder="little")
        return faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits)), bits
    return faiss.IDSelectorBatch(len(allowed), faiss.swig_ptr(allowed)), allowed


def inner_products(queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """(q, m) inner products of a few queries with a few thousand vectors, without BLAS:
    numpy's own loops take ~0.1 ms here, while a threaded BLAS called from a request thread
    beside other busy threads took 3 ms (its workers wake, contend, then spin)."""
    return np.einsum("qd,md->qm", queries, vectors)


def _top_k(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best k per row of scores (q, m) over columns labelled by ids, best first."""
    if k < scores.shape[1]:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(scores.shape[1]), scores.shape).copy()
    top = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-top, axis=1, kind="stable")
    part = np.take_along_axis(part, order, axis=1)
    return np.take_along_axis(scores, part, axis=1), ids[part]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be opened
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _ivf_ids(index: faiss.IndexIVF) -> np.ndarray:
    lists = index.invlists
    parts = []
    for lst in range(index.nlist):
        size = lists.list_size(lst)
        if size:
            parts.append(faiss.rev_swig_ptr(lists.get_ids(lst), size).copy())
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


class VectorIndex:
    """Candidate vectors by store id; see the module docstring for shapes and guarantees."""

    def __init__(
        self,
        index: faiss.Index,
        *,
        encoder_id: str,
        dim: int,
        kind: str,
        ids: np.ndarray,
        ivf_threshold: int,
        nprobe: int = 1,
        recall: float | None = None,
        trained_count: int = 0,
        built_at: str | None = None,
        index_version: str | None = None,
        seq: int = 0,
        exact_subset_max: int = DEFAULT_EXACT_SUBSET_MAX,
    ) -> None:
        """Use `empty`, `build` or `load`; this wraps an already consistent faiss index."""
        self._index = index
        self.encoder_id = encoder_id
        self.dim = dim
        self.kind = kind
        self._ids = np.sort(ids)  # the ids present, sorted: membership and counts
        self.ivf_threshold = ivf_threshold
        self.exact_subset_max = exact_subset_max
        self._nprobe = nprobe
        self._recall = recall
        self._trained_count = trained_count
        self.built_at = built_at or _now()
        self.index_version = index_version or _new_version(self.built_at)
        self._seq = seq
        self._lock = _RWLock()
        self.build_seconds: dict[str, float] = {}  # IVF build phases, for logs and benchmarks

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def empty(
        cls, encoder_id: str, dim: int, *, ivf_threshold: int = DEFAULT_IVF_THRESHOLD
    ) -> VectorIndex:
        index = faiss.index_factory(dim, "IDMap2,Flat", faiss.METRIC_INNER_PRODUCT)
        return cls(
            index,
            encoder_id=encoder_id,
            dim=dim,
            kind=KIND_FLAT,
            ids=np.zeros(0, dtype=np.int64),
            ivf_threshold=ivf_threshold,
        )

    @classmethod
    def build(
        cls,
        encoder_id: str,
        dim: int,
        ids: object,
        vectors: object,
        *,
        ivf_threshold: int = DEFAULT_IVF_THRESHOLD,
        target_recall: float = TARGET_RECALL,
        nlist: int | None = None,
        seq: int = 0,
        seed: int = 0,
    ) -> VectorIndex:
        """Flat below `ivf_threshold` vectors, else IVF trained on a sample of `vectors` with
        the smallest nprobe whose measured recall@100 reaches `target_recall`."""
        ids = _as_ids(ids)
        vectors = _as_vectors(vectors, dim, len(ids))
        ids, vectors = _last_wins(ids, vectors)
        n = len(ids)
        if n < max(ivf_threshold, 1) or n < MIN_POINTS_PER_LIST * 2:
            flat = cls.empty(encoder_id, dim, ivf_threshold=ivf_threshold)
            flat._index.add_with_ids(vectors, ids)
            flat._ids = np.sort(ids)
            flat._seq = seq
            return flat

        nlist = nlist or nlist_for(n)
        rng = np.random.default_rng(seed)
        index = faiss.index_factory(dim, f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        n_train = min(n, TRAIN_POINTS_PER_LIST * nlist)
        sample = np.sort(rng.choice(n, n_train, replace=False)) if n_train < n else slice(None)
        t0 = time.perf_counter()
        index.train(np.ascontiguousarray(vectors[sample]))
        t1 = time.perf_counter()
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        index.add_with_ids(vectors, ids)
        t2 = time.perf_counter()
        untrained = np.ones(n, dtype=bool)
        untrained[sample] = False  # queries outside the k-means sample behave like new ones
        nprobe, recall = _tune_nprobe(index, ids, vectors, untrained, target_recall, rng)
        built = cls(
            index,
            encoder_id=encoder_id,
            dim=dim,
            kind=KIND_IVF,
            ids=ids,
            ivf_threshold=ivf_threshold,
            nprobe=nprobe,
            recall=recall,
            trained_count=n,
            seq=seq,
        )
        built.build_seconds = {
            "train_s": round(t1 - t0, 3),
            "add_s": round(t2 - t1, 3),
            "tune_s": round(time.perf_counter() - t2, 3),
            "train_points": n_train,
        }
        return built

    # -- updates ----------------------------------------------------------------------------

    def upsert(self, ids: object, vectors: object, *, seq: int | None = None) -> None:
        """Adds or replaces vectors by id. `seq`: the change-feed seq this batch brings us to."""
        ids = _as_ids(ids)
        vectors = _as_vectors(vectors, self.dim, len(ids))
        ids, vectors = _last_wins(ids, vectors)
        with self._lock.write():
            if len(ids):
                self._remove_unlocked(ids)
                self._index.add_with_ids(vectors, ids)
                new = np.sort(ids)
                self._ids = np.insert(self._ids, np.searchsorted(self._ids, new), new)
            if seq is not None:
                self._seq = seq

    def remove(self, ids: object, *, seq: int | None = None) -> int:
        """Removes the ids that are present; returns how many were."""
        ids = _as_ids(ids)
        with self._lock.write():
            removed = self._remove_unlocked(ids)
            if seq is not None:
                self._seq = seq
            return removed

    def _remove_unlocked(self, ids: np.ndarray) -> int:
        ids = _sorted_unique(ids)
        present = ids[_member(self._ids, ids)]
        if not len(present):
            return 0
        if self.kind == KIND_IVF:  # the hashtable direct map only accepts an id array
            sel = faiss.IDSelectorArray(len(present), faiss.swig_ptr(present))
            removed = self._index.remove_ids(sel)
        else:
            removed = self._index.remove_ids(present)
        if removed != len(present):
            raise RuntimeError(f"faiss removed {removed} of {len(present)} ids")
        keep = np.ones(len(self._ids), dtype=bool)
        keep[np.searchsorted(self._ids, present)] = False
        self._ids = self._ids[keep]
        return removed

    # -- reads ------------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock.read():  # an upsert removes before it adds
            return len(self._ids)

    def contains(self, id_: int) -> bool:
        with self._lock.read():
            return bool(_member(self._ids, np.array([id_], dtype=np.int64))[0])

    def get_vector(self, id_: int) -> np.ndarray:
        """The stored vector of one id (for "similar candidates"); KeyError if absent."""
        with self._lock.read():
            if not _member(self._ids, np.array([id_], dtype=np.int64))[0]:
                raise KeyError(id_)
            return self._index.reconstruct(int(id_))

    def get_vectors(self, ids: object) -> tuple[np.ndarray, np.ndarray]:
        """(present ids, their vectors) for many ids at once; absent ids are skipped."""
        wanted = np.unique(_as_ids(ids))
        with self._lock.read():
            present = wanted[_member(self._ids, wanted)]
            if not len(present):
                return present, np.zeros((0, self.dim), dtype=np.float32)
            return present, self._index.reconstruct_batch(present)

    def export(self) -> tuple[np.ndarray, np.ndarray]:
        """All (ids, vectors), ids ascending: what a flat -> IVF rebuild needs without
        re-encoding anyone."""
        with self._lock.read():
            ids = self._ids.copy()
            if not len(ids):
                return ids, np.zeros((0, self.dim), dtype=np.float32)
            return ids, self._index.reconstruct_batch(ids)

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def nprobe(self) -> int:
        return self._nprobe

    def search(
        self,
        query: object,
        k: int,
        *,
        allowed: object | None = None,
        nprobe: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) by cosine, best first. `query` (dim,) gives 1-D arrays, (q, dim)
        gives (q, k') arrays. With `allowed`, only those ids can come back (unknown ones are
        ignored). k' = min(k, eligible ids): fewer than k only when fewer are eligible.
        `nprobe` overrides the tuned one for this call (IVF only: recall against latency)."""
        if k < 1:
            raise ValueError("k must be >= 1")
        single = np.ndim(query) == 1
        q = _as_vectors(query, self.dim)
        base = max(1, nprobe or self._nprobe)
        with self._lock.read():
            if allowed is None:
                scores, ids = self._search_all(q, k, base)
            else:
                allowed = np.asarray(allowed, dtype=np.int64)
                scores, ids = self._search_allowed(q, k, allowed, base)
        return (scores[0], ids[0]) if single else (scores, ids)

    def _ivf_params(self, nprobe: int, sel: faiss.IDSelector | None = None):
        params = faiss.SearchParametersIVF(nprobe=min(nprobe, self._index.nlist))
        if sel is not None:
            params.sel = sel
        return params

    def _search_all(self, q: np.ndarray, k: int, nprobe: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self._ids))
        if k == 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        if self.kind == KIND_FLAT:
            return self._index.search(q, k)
        scores, ids = self._index.search(q, k, params=self._ivf_params(nprobe))
        return self._complete(q, k, scores, ids, None)

    def _complete(self, q, k, scores, ids, sel) -> tuple[np.ndarray, np.ndarray]:
        """Redoes, probing every list (exact), the IVF rows that came back with < k hits."""
        short = (ids[:, k - 1] < 0) if k else np.zeros(len(q), bool)
        if short.any():
            s2, i2 = self._index.search(
                np.ascontiguousarray(q[short]), k, params=self._ivf_params(self._index.nlist, sel)
            )
            scores[short], ids[short] = s2, i2
        return scores, ids

    def _search_allowed(self, q, k, allowed, nprobe) -> tuple[np.ndarray, np.ndarray]:
        allowed = _sorted_unique(allowed.reshape(-1))  # sorted: fast membership and bitmap
        allowed = allowed[np.searchsorted(allowed, 0) :]
        n = len(self._ids)
        if not len(allowed) or not n:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        if len(allowed) <= self.exact_subset_max:
            present = allowed[_member(self._ids, allowed)]
            if not len(present):
                return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
            vecs = self._index.reconstruct_batch(present)
            return _top_k(inner_products(q, vecs), present, min(k, len(present)))

        sel, _buffer = _selector(allowed)  # _buffer: faiss only holds a pointer into it
        if self.kind == KIND_FLAT:
            scores, ids = self._index.search(q, k, params=faiss.SearchParameters(sel=sel))
            got = int((ids[0] >= 0).sum())  # exact: every row finds min(k, eligible)
            return scores[:, :got], ids[:, :got]
        # A filter keeping a fraction f of the vectors leaves ~f as many per list: probe
        # ~1/f as many lists to see as many eligible vectors as an unfiltered search does.
        fraction = min(1.0, len(allowed) / n)
        nprobe = math.ceil(nprobe / fraction)
        scores, ids = self._index.search(q, k, params=self._ivf_params(nprobe, sel))
        if (ids[:, k - 1] >= 0).all():
            return scores, ids
        eligible = int(_member(self._ids, allowed).sum())
        k = min(k, eligible)
        if k == 0:
            return scores[:, :0], ids[:, :0]
        return self._complete(q, k, scores[:, :k].copy(), ids[:, :k].copy(), sel)

    # -- lifecycle --------------------------------------------------------------------------

    def rebuild_reason(self) -> str | None:
        """Why a rebuild (by the caller, from `export()`) would now pay off, or None."""
        n = len(self._ids)
        if self.kind == KIND_FLAT and n >= self.ivf_threshold:
            return f"flat index holds {n} vectors, past the IVF threshold {self.ivf_threshold}"
        if self.kind == KIND_IVF:
            if n < self.ivf_threshold // 2:
                return f"IVF index shrank to {n} vectors, well below the threshold"
            if n > 4 * self._trained_count or n < self._trained_count // 4:
                return f"IVF lists were sized for {self._trained_count} vectors, it holds {n}"
        return None

    def should_rebuild(self) -> bool:
        return self.rebuild_reason() is not None

    def status(self) -> IndexStatus:
        with self._lock.read():
            return IndexStatus(
                kind=self.kind,
                count=len(self._ids),
                dim=self.dim,
                nlist=self._index.nlist if self.kind == KIND_IVF else 0,
                nprobe=self._nprobe if self.kind == KIND_IVF else 0,
                recall=self._recall,
                encoder_id=self.encoder_id,
                index_version=self.index_version,
                seq=self._seq,
                built_at=self.built_at,
                trained_count=self._trained_count,
                rebuild_reason=self.rebuild_reason(),
            )

    def save(self, directory: Path, *, seq: int | None = None) -> IndexManifest:
        """Writes a snapshot reflecting change-feed `seq` (default: the last applied one).
        Updates wait while the index file is written."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock.read():
            seq = self._seq if seq is None else seq
            name = f"index-{self.index_version}-{seq}-{uuid.uuid4().hex[:8]}.faiss"
            tmp = directory / f"{name}.tmp"
            digest = hashlib.sha256()
            with tmp.open("wb") as f:

                def sink(chunk: bytes) -> int:
                    digest.update(chunk)
                    f.write(chunk)
                    return len(chunk)

                faiss.write_index(self._index, faiss.PyCallbackIOWriter(sink, _CHUNK))
                f.flush()
                os.fsync(f.fileno())
            manifest = IndexManifest(
                format=FORMAT,
                encoder_id=self.encoder_id,
                dim=self.dim,
                kind=self.kind,
                count=len(self._ids),
                nlist=self._index.nlist if self.kind == KIND_IVF else 0,
                nprobe=self._nprobe if self.kind == KIND_IVF else 0,
                recall=self._recall,
                recall_k=RECALL_K,
                trained_count=self._trained_count,
                seq=seq,
                built_at=self.built_at,
                saved_at=_now(),
                index_version=self.index_version,
                file=name,
                sha256=digest.hexdigest(),
            )
            self._seq = max(self._seq, seq)
        os.replace(tmp, directory / name)
        tmp_manifest = directory / f"{MANIFEST}.{uuid.uuid4().hex[:8]}.tmp"
        with tmp_manifest.open("w", encoding="utf-8") as f:
            f.write(manifest.to_json())
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(directory)  # the index file's name is durable before the manifest names it
        os.replace(tmp_manifest, directory / MANIFEST)
        _fsync_dir(directory)
        for stale in [*directory.glob("index-*.faiss*"), *directory.glob(f"{MANIFEST}.*.tmp")]:
            if stale.name != name:
                with contextlib.suppress(OSError):
                    stale.unlink()
        return manifest

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        encoder_id: str,
        dim: int,
        ivf_threshold: int = DEFAULT_IVF_THRESHOLD,
    ) -> tuple[VectorIndex, IndexManifest]:
        """The snapshot in `directory`, checked against its manifest and the configured encoder.

        Raises NoSnapshot, EncoderMismatch or CorruptSnapshot (all SnapshotError)."""
        directory = Path(directory)
        path = directory / MANIFEST
        if not path.exists():
            raise NoSnapshot(f"no vector index snapshot in {directory}")
        try:
            manifest = IndexManifest.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise CorruptSnapshot(f"unreadable {path}: {exc}") from exc
        if manifest.format != FORMAT:
            raise CorruptSnapshot(
                f"{path} has format {manifest.format}, this version reads {FORMAT}: rebuild"
            )
        if manifest.encoder_id != encoder_id or manifest.dim != dim:
            raise EncoderMismatch(directory, manifest.encoder_id, manifest.dim, encoder_id, dim)
        file = directory / manifest.file
        if Path(manifest.file).name != manifest.file or not file.is_file():
            raise CorruptSnapshot(f"{path} names {manifest.file!r}, which is missing")
        actual = _sha256(file)
        if actual != manifest.sha256:
            raise CorruptSnapshot(
                f"checksum mismatch for {file}: manifest says {manifest.sha256[:12]}..., "
                f"file has {actual[:12]}..."
            )
        try:
            index = faiss.read_index(str(file))
        except RuntimeError as exc:
            raise CorruptSnapshot(f"faiss cannot read {file}: {exc}") from exc
        ids = _check_loaded(index, manifest, file)
        loaded = cls(
            index,
            encoder_id=encoder_id,
            dim=dim,
            kind=manifest.kind,
            ids=ids,
            ivf_threshold=ivf_threshold,
            nprobe=manifest.nprobe or 1,
            recall=manifest.recall,
            trained_count=manifest.trained_count,
            built_at=manifest.built_at,
            index_version=manifest.index_version,
            seq=manifest.seq,
        )
        return loaded, manifest


def _check_loaded(index: faiss.Index, manifest: IndexManifest, file: Path) -> np.ndarray:
    """The loaded index's ids, after checking it is the shape the manifest promises."""
    problems = []
    if index.d != manifest.dim or index.ntotal != manifest.count:
        problems.append(f"d={index.d} ntotal={index.ntotal}")
    if index.metric_type != faiss.METRIC_INNER_PRODUCT:
        problems.append("metric is not inner product")
    if manifest.kind == KIND_FLAT and isinstance(index, faiss.IndexIDMap2):
        ids = faiss.vector_to_array(index.id_map).astype(np.int64, copy=False)
    elif manifest.kind == KIND_IVF and isinstance(index, faiss.IndexIVFFlat):
        if index.direct_map.type != faiss.DirectMap.Hashtable:
            problems.append("IVF index has no id hashtable")
        if index.nlist != manifest.nlist:
            problems.append(f"nlist={index.nlist}")
        ids = _ivf_ids(index)
    else:
        problems.append(f"{type(index).__name__} is not a {manifest.kind} index")
        ids = np.zeros(0, dtype=np.int64)
    if not problems and len(np.unique(ids)) != len(ids):
        problems.append("duplicate ids")
    if problems:
        raise CorruptSnapshot(f"{file} does not match its manifest: {'; '.join(problems)}")
    return ids


def _tune_nprobe(
    index: faiss.IndexIVF,
    ids: np.ndarray,
    vectors: np.ndarray,
    untrained: np.ndarray,
    target: float,
    rng: np.random.Generator,
) -> tuple[int, float]:
    """Smallest nprobe whose recall@100 on a sample of the data reaches `target` + margin.

    The queries are indexed vectors with their own hit removed on both sides, so the trivial
    self-match does not flatter the figure, taken where possible from outside the k-means
    sample (its points sit closer to their centroids than new queries do). Returns (nprobe,
    measured recall)."""
    n = len(ids)
    k = min(RECALL_K, n - 1)
    pool = np.flatnonzero(untrained)
    if len(pool) < TUNE_QUERIES:
        pool = np.arange(n)
    rows = rng.choice(pool, min(TUNE_QUERIES, len(pool)), replace=False)
    nq = len(rows)
    target = min(1.0, target + TUNE_MARGIN)
    queries = np.ascontiguousarray(vectors[rows])
    _, gt_pos = faiss.knn(queries, vectors, k + 1, metric=faiss.METRIC_INNER_PRODUCT)
    truth = [_drop(ids[p], ids[r], k) for p, r in zip(gt_pos, rows, strict=True)]

    cache: dict[int, float] = {}

    def recall(nprobe: int) -> float:
        if nprobe not in cache:
            params = faiss.SearchParametersIVF(nprobe=nprobe)
            _, got = index.search(queries, k + 1, params=params)
            hits = sum(
                len(np.intersect1d(_drop(g, ids[r], k), t, assume_unique=True))
                for g, t, r in zip(got, truth, rows, strict=True)
            )
            cache[nprobe] = hits / (k * nq)
        return cache[nprobe]

    lo, hi = 0, 1  # recall(lo) < target (or lo = 0), recall(hi) is the candidate
    while hi < index.nlist and recall(hi) < target:
        lo, hi = hi, min(hi * 2, index.nlist)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if recall(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi, round(recall(hi), 4)


def _drop(found: np.ndarray, own: int, k: int) -> np.ndarray:
    """The k best ids other than the query's own (and other than faiss's -1 padding)."""
    found = found[(found != own) & (found >= 0)]
    return found[:k]
