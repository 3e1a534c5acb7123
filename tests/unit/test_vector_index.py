"""The persisted FAISS vector index: exactness, IVF recall, updates, filters before top-k,
snapshots (atomic, checksummed, encoder-checked) and concurrent use."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from rapport.core.errors import PreconditionFailed
from rapport.models.vector_index import (
    DEFAULT_EXACT_SUBSET_MAX,
    MANIFEST,
    CorruptSnapshot,
    EncoderMismatch,
    NoSnapshot,
    SnapshotError,
    VectorIndex,
    nlist_for,
)

ENC = "test-encoder@fp32"
DIM = 48


def unit(rows: np.ndarray) -> np.ndarray:
    rows = rows.astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def random_unit(n: int, seed: int, dim: int = DIM) -> np.ndarray:
    return unit(np.random.default_rng(seed).standard_normal((n, dim)))


def clustered(n: int, seed: int, *, clusters: int = 40, spread: float = 0.35) -> np.ndarray:
    """Unit vectors around random centres, like sentence embeddings of similar profiles."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((clusters, DIM)))
    which = rng.integers(0, clusters, n)
    return unit(centres[which] + spread * rng.standard_normal((n, DIM)) / np.sqrt(DIM) * 4)


def brute(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    scores = vectors @ query
    return ids[np.argsort(-scores, kind="stable")[:k]]


def store_ids(n: int, seed: int = 7) -> np.ndarray:
    """Sparse-ish positive primary keys, not 0..n-1, so id/position mix-ups show."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(10 * n, n, replace=False)).astype(np.int64) + 1


@pytest.fixture(scope="module")
def ivf_data():
    n = 4000
    vectors, ids = clustered(n, 1), store_ids(n)
    index = VectorIndex.build(ENC, DIM, ids, vectors, ivf_threshold=1000)
    return index, ids, vectors


def test_flat_top_k_equals_brute_force():
    vectors, ids = random_unit(500, 0), store_ids(500)
    index = VectorIndex.build(ENC, DIM, ids, vectors)
    assert index.kind == "flat" and len(index) == 500
    queries = random_unit(5, 99)
    scores, got = index.search(queries, 10)
    assert got.shape == (5, 10)
    for q, row, srow in zip(queries, got, scores, strict=True):
        np.testing.assert_array_equal(row, brute(vectors, ids, q, 10))
        assert np.all(np.diff(srow) <= 1e-6)
    s1, i1 = index.search(queries[0], 10)
    assert i1.shape == (10,) and s1.shape == (10,)
    np.testing.assert_array_equal(i1, got[0])


def test_k_larger_than_index_returns_everything():
    vectors, ids = random_unit(7, 0), store_ids(7)
    index = VectorIndex.build(ENC, DIM, ids, vectors)
    _, got = index.search(vectors[0], 50)
    assert sorted(got) == sorted(ids)
    _, none = VectorIndex.empty(ENC, DIM).search(vectors[0], 5)
    assert none.shape == (0,)


def test_ivf_build_and_recall(ivf_data):
    index, ids, vectors = ivf_data
    status = index.status()
    assert status.kind == "ivf" and status.count == 4000
    assert status.nlist == nlist_for(4000) and 1 <= status.nprobe <= status.nlist
    assert status.recall is not None and status.recall >= 0.95
    queries = clustered(50, 2)  # same distribution, not in the index
    _, got = index.search(queries, 10)
    hits = sum(
        len(np.intersect1d(row, brute(vectors, ids, q, 10)))
        for q, row in zip(queries, got, strict=True)
    )
    assert hits / (50 * 10) >= 0.9


def test_nlist_for_is_bounded():
    assert nlist_for(1_000_000) == 4000
    assert nlist_for(100_000) == round(4 * 100_000**0.5)
    assert nlist_for(4000) == 4000 // 39  # never fewer than 39 training points per list
    assert nlist_for(10**10) == 65_536


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_upsert_replaces_and_remove_vanishes(kind, ivf_data):
    if kind == "ivf":
        _, ids, vectors = ivf_data
        index = VectorIndex.build(ENC, DIM, ids, vectors, ivf_threshold=1000)
    else:
        vectors, ids = random_unit(300, 3), store_ids(300)
        index = VectorIndex.build(ENC, DIM, ids, vectors)
    assert index.kind == kind
    n = len(index)
    target = int(ids[5])
    new = random_unit(1, 123)
    index.upsert([target], new, seq=11)
    assert len(index) == n and index.seq == 11
    np.testing.assert_allclose(index.get_vector(target), new[0], atol=1e-6)
    _, got = index.search(new[0], 1)
    assert got[0] == target

    gone = ids[10:20]
    assert index.remove(np.concatenate([gone, [10**9]])) == 10
    assert index.remove(gone) == 0
    assert len(index) == n - 10
    assert not index.contains(int(gone[0])) and index.contains(int(ids[30]))
    with pytest.raises(KeyError):
        index.get_vector(int(gone[0]))
    _, got = index.search(vectors[10:20], 20)
    assert not np.isin(got, gone).any()
    # the survivors still map to their own vectors (IndexIDMap2 over IVF would not)
    for i in (0, 25, 100, len(ids) - 1):
        assert index.search(vectors[i], 1)[1][0] == ids[i]


def test_upsert_adds_new_ids_and_keeps_last_duplicate():
    index = VectorIndex.empty(ENC, DIM)
    vecs = random_unit(3, 4)
    index.upsert([5, 9, 5], vecs)
    assert len(index) == 2
    np.testing.assert_allclose(index.get_vector(5), vecs[2], atol=1e-6)
    ids, exported = index.export()
    np.testing.assert_array_equal(ids, [5, 9])
    np.testing.assert_allclose(exported, vecs[[2, 1]], atol=1e-6)
    with pytest.raises(ValueError):
        index.upsert([1], random_unit(1, 0, dim=DIM + 1))
    with pytest.raises(ValueError):
        index.upsert([-1], vecs[:1])


def _check_allowed(index, vectors, ids, allowed, k, *, exact=True):
    queries = random_unit(4, 55)
    pos = np.searchsorted(ids, allowed)
    for q in queries:
        scores, got = index.search(q, k, allowed=allowed)
        assert len(got) == min(k, len(allowed))
        assert np.isin(got, allowed).all() and len(set(got.tolist())) == len(got)
        assert np.all(np.diff(scores) <= 1e-6)
        if exact:
            np.testing.assert_array_equal(got, brute(vectors[pos], ids[pos], q, k))


@pytest.mark.parametrize("path", ["exact-subset", "selector"])
def test_allowed_flat(path):
    vectors, ids = random_unit(2000, 5), store_ids(2000)
    index = VectorIndex.build(ENC, DIM, ids, vectors)
    index.exact_subset_max = 10**6 if path == "exact-subset" else 0
    rng = np.random.default_rng(6)
    for size in (3, 40, 600):
        allowed = np.sort(rng.choice(ids, size, replace=False))
        _check_allowed(index, vectors, ids, allowed, 20)


@pytest.mark.parametrize("path", ["exact-subset", "selector"])
def test_allowed_ivf(path, ivf_data):
    index, ids, vectors = ivf_data
    index.exact_subset_max = 10**6 if path == "exact-subset" else 0
    try:
        rng = np.random.default_rng(8)
        for size in (5, 60, 400, 2000):
            allowed = np.sort(rng.choice(ids, size, replace=False))
            # the exact path is exact; the selector path may miss a neighbour, never a slot
            _check_allowed(index, vectors, ids, allowed, 30, exact=path == "exact-subset")
    finally:
        index.exact_subset_max = DEFAULT_EXACT_SUBSET_MAX


@pytest.mark.parametrize("exact_subset_max", [10**6, 0])
def test_allowed_ignores_unknown_ids_and_never_pads(exact_subset_max, ivf_data):
    index, ids, _ = ivf_data
    index.exact_subset_max = exact_subset_max
    try:
        allowed = np.concatenate([ids[[3, 700, 2500]], [10**8, 10**8 + 1, 0]])
        scores, got = index.search(random_unit(2, 9), 10, allowed=allowed)
        assert got.shape == (2, 3) and scores.shape == (2, 3)
        assert set(got[0]) == set(ids[[3, 700, 2500]])
        _, none = index.search(random_unit(1, 9)[0], 10, allowed=np.array([10**8], np.int64))
        assert none.shape == (0,)
        _, none = index.search(random_unit(1, 9)[0], 10, allowed=np.array([], np.int64))
        assert none.shape == (0,)
    finally:
        index.exact_subset_max = DEFAULT_EXACT_SUBSET_MAX


def test_selector_with_huge_ids_uses_batch_selector():
    ids = np.array([3, 2**40, 2**40 + 5, 2**50], dtype=np.int64)
    vecs = random_unit(4, 10)
    index = VectorIndex.build(ENC, DIM, ids, vecs)
    index.exact_subset_max = 0
    _, got = index.search(vecs[1], 4, allowed=ids[1:3])
    assert sorted(got.tolist()) == [2**40, 2**40 + 5]


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_save_load_round_trip(kind, tmp_path, ivf_data):
    if kind == "ivf":
        index, ids, vectors = ivf_data
    else:
        vectors, ids = random_unit(400, 11), store_ids(400)
        index = VectorIndex.build(ENC, DIM, ids, vectors)
    manifest = index.save(tmp_path, seq=42)
    assert manifest.seq == 42 and manifest.count == len(ids) and manifest.kind == kind
    written = json.loads((tmp_path / MANIFEST).read_text())
    assert written["sha256"] == manifest.sha256 and written["encoder_id"] == ENC
    assert (tmp_path / manifest.file).is_file()

    loaded, read = VectorIndex.load(tmp_path, encoder_id=ENC, dim=DIM)
    assert read == manifest
    assert loaded.status().index_version == index.status().index_version
    assert loaded.status().seq == 42 and len(loaded) == len(index)
    queries = random_unit(6, 12)
    for allowed in (None, ids[::7]):
        s1, i1 = index.search(queries, 25, allowed=allowed)
        s2, i2 = loaded.search(queries, 25, allowed=allowed)
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_allclose(s1, s2)
    # the loaded index keeps working: updates and id lookups
    loaded.upsert([int(ids[0])], random_unit(1, 13))
    loaded.remove([int(ids[1])])
    assert len(loaded) == len(ids) - 1 and not loaded.contains(int(ids[1]))


def test_rebuild_changes_version(tmp_path):
    vectors, ids = random_unit(50, 14), store_ids(50)
    a = VectorIndex.build(ENC, DIM, ids, vectors)
    b = VectorIndex.build(ENC, DIM, ids, vectors)
    assert a.index_version != b.index_version


def test_missing_snapshot(tmp_path):
    with pytest.raises(NoSnapshot):
        VectorIndex.load(tmp_path / "nowhere", encoder_id=ENC, dim=DIM)


def test_encoder_mismatch_is_refused_clearly(tmp_path):
    VectorIndex.build(ENC, DIM, store_ids(20), random_unit(20, 15)).save(tmp_path, seq=1)
    with pytest.raises(EncoderMismatch) as err:
        VectorIndex.load(tmp_path, encoder_id="all-MiniLM-L6-v2@int8", dim=DIM)
    text = str(err.value)
    assert ENC in text and "all-MiniLM-L6-v2@int8" in text and "rapport index rebuild" in text
    assert isinstance(err.value, SnapshotError) and isinstance(err.value, PreconditionFailed)
    with pytest.raises(EncoderMismatch):
        VectorIndex.load(tmp_path, encoder_id=ENC, dim=DIM * 2)


def test_flipped_byte_is_detected(tmp_path):
    manifest = VectorIndex.build(ENC, DIM, store_ids(200), random_unit(200, 16)).save(
        tmp_path, seq=3
    )
    path = tmp_path / manifest.file
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptSnapshot, match="checksum"):
        VectorIndex.load(tmp_path, encoder_id=ENC, dim=DIM)


def test_missing_or_garbled_files_are_corrupt(tmp_path):
    manifest = VectorIndex.build(ENC, DIM, store_ids(30), random_unit(30, 17)).save(tmp_path, seq=3)
    (tmp_path / manifest.file).unlink()
    with pytest.raises(CorruptSnapshot, match="missing"):
        VectorIndex.load(tmp_path, encoder_id=ENC, dim=DIM)
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(CorruptSnapshot):
        VectorIndex.load(tmp_path, encoder_id=ENC, dim=DIM)
    (tmp_path / MANIFEST).write_text(json.dumps({"format": 1}))
    with pytest.raises(CorruptSnapshot):
        VectorIndex.load(tmp_path, encoder_id=ENC, dim=DIM)


def test_crash_leftovers_do_not_break_load(tmp_path):
    vectors, ids = random_unit(100, 18), store_ids(100)
    index = VectorIndex.build(ENC, DIM, ids, vectors)
    first = index.save(tmp_path, seq=5)
    # a later save that died: half an index file, a finished but unnamed one, a torn manifest
    (tmp_path / "index-crashed-6-deadbeef.faiss.tmp").write_bytes(b"\x00" * 100)
    (tmp_path / "index-crashed-6-cafebabe.faiss").write_bytes(b"garbage")
    (tmp_path / f"{MANIFEST}.0badf00d.tmp").write_text('{"format": 1, "encod')
    loaded, manifest = VectorIndex.load(tmp_path, encoder_id=ENC, dim=DIM)
    assert manifest == first and len(loaded) == 100
    # the next save replaces the snapshot and sweeps every leftover
    index.upsert([int(ids[0])], random_unit(1, 19), seq=6)
    second = index.save(tmp_path)
    assert second.seq == 6 and second.file != first.file
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([MANIFEST, second.file])
    loaded, manifest = VectorIndex.load(tmp_path, encoder_id=ENC, dim=DIM)
    assert manifest == second and loaded.seq == 6


def test_rebuild_reason():
    vectors, ids = random_unit(120, 20), store_ids(120)
    index = VectorIndex.build(ENC, DIM, ids[:90], vectors[:90], ivf_threshold=100)
    assert index.kind == "flat" and not index.should_rebuild()
    index.upsert(ids[90:], vectors[90:])
    assert index.should_rebuild() and "threshold" in index.status().rebuild_reason
    rebuilt = VectorIndex.build(ENC, DIM, *index.export(), ivf_threshold=100)
    assert rebuilt.kind == "ivf" and not rebuilt.should_rebuild()
    rebuilt.remove(ids[:80])
    assert rebuilt.should_rebuild()


def test_concurrent_search_during_upserts():
    """Readers never see half a batch: each batch gives ten ids one shared vector, so a
    filtered search over those ten must find ten equal scores."""
    n = 3000
    vectors, ids = clustered(n, 21), store_ids(n)
    index = VectorIndex.build(ENC, DIM, ids, vectors, ivf_threshold=1000)
    group = ids[:10]
    index.upsert(group, np.repeat(random_unit(1, 22), 10, axis=0))
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        rng = np.random.default_rng(23)
        for g in range(150):
            shared = unit(rng.standard_normal((1, DIM)))
            others = rng.choice(ids[10:], 20, replace=False)
            batch_ids = np.concatenate([group, others])
            batch = np.concatenate([np.repeat(shared, 10, axis=0), random_unit(20, 100 + g)])
            index.upsert(batch_ids, batch, seq=g)
            if g % 10 == 0:
                index.remove(others[:2])
                index.upsert(others[:2], random_unit(2, 500 + g))
        stop.set()

    def reader(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            while not stop.is_set():
                q = unit(rng.standard_normal(DIM)[None])[0]
                scores, got = index.search(q, 10, allowed=group)
                assert len(got) == 10 and set(got) == set(group)
                assert np.ptp(scores) < 1e-5, scores
                scores, got = index.search(q, 50)
                assert len(got) == 50 and (got >= 0).all() and len(set(got.tolist())) == 50
                assert np.isin(got, ids).all()
                assert len(index) in (n, n - 2)  # the writer's remove, then its re-add
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=reader, args=(s,)) for s in (1, 2, 3)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    assert len(index) == n and index.seq == 149


def test_ivf_filter_far_from_query_still_fills_k(ivf_data):
    """Allowed ids all far from the query (padded with unknown ids, so the filter looks
    loose and few lists are probed): those lists hold too few, so the search falls back to
    probing every list rather than returning short."""
    index, ids, vectors = ivf_data
    index.exact_subset_max = 0
    try:
        q = vectors[0]
        far = np.sort(ids[vectors @ q < -0.2])
        unknown = np.arange(10**7, 10**7 + len(ids), dtype=np.int64)
        _, got = index.search(q, 25, allowed=np.concatenate([far, unknown]))
        pos = np.searchsorted(ids, far)
        np.testing.assert_array_equal(got, brute(vectors[pos], ids[pos], q, 25))
    finally:
        index.exact_subset_max = DEFAULT_EXACT_SUBSET_MAX


def test_allowed_in_any_order_with_duplicates():
    vectors, ids = random_unit(300, 24), store_ids(300)
    index = VectorIndex.build(ENC, DIM, ids, vectors)
    allowed = np.concatenate([ids[200:100:-1], ids[150:160], [-5]])  # unsorted, repeats
    for exact_subset_max in (10**6, 0):
        index.exact_subset_max = exact_subset_max
        _, got = index.search(vectors[120], 150, allowed=allowed)
        assert sorted(got.tolist()) == sorted(ids[101:201].tolist())
