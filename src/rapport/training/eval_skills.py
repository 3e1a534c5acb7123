"""Skills benchmark (TECH / HOUSE job-ad sentences labelled with ESCO v1.1 skills).

The skills half of `rapport eval matching`. Per dataset and split the queries are the unique
sentences with at least one real ESCO label (`LABEL NOT PRESENT` / `UNDERSPECIFIED` are
dropped); the candidates are the 13,896 labels of `skills_en_label.txt`. A gold label missing
from that list still counts as relevant but can never be hit, and is reported.

Three rankers run in the same process on the same queries, so the comparison is fair:
- `ours`: `SkillMapper.rank_labels`, the serving code path (non-ESCO curated entries, which
  are not candidates here, are skipped);
- `anchor`: zero-shot bi-encoder, cosine(sentence, preferred label) with the same encoder
  (the data README's reference: TECH RP@5 ~45.6 / MRR ~43.5, HOUSE ~34.0 / ~33.3);
- `tfidf`: keyword baseline, TF-IDF word 1-2 grams + character 3-5 grams fitted on the labels.

Metrics x100: RP@5 = hits in the top 5 / min(5, #relevant), and MRR of the first relevant
label within the top `MRR_CUTOFF`. Span accuracy of `SkillMapper.map` on the annotated spans
is reported beside them (how often a skill name maps to its gold skill, and how often to
nothing), which is what its threshold was chosen on. Only VALIDATION figures may inform a
choice; test figures are for reporting.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from rapport.models.encoders import Encoder
from rapport.models.skills import SkillMapper

__all__ = ["MRR_CUTOFF", "BenchmarkSplit", "evaluate_skills_benchmark", "load_split"]

MRR_CUTOFF = 100
NOT_LABELS = frozenset({"LABEL NOT PRESENT", "UNDERSPECIFIED"})
LABEL_FILE = "skills_en_label.txt"


def _squash(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split())


@dataclass(frozen=True)
class BenchmarkSplit:
    dataset: str
    split: str
    sentences: tuple[str, ...]  # evaluable queries, in file order
    relevant: tuple[tuple[str, ...], ...]  # gold labels per query (whitespace-normalised)
    unique_sentences: int
    spans: tuple[tuple[str, str], ...]  # (span text, gold label) for spans with a real label


def _bench_dir(data_dir: Path) -> Path:
    data_dir = Path(data_dir)
    return data_dir / "skills_benchmark" if (data_dir / "skills_benchmark").is_dir() else data_dir


def load_labels(data_dir: Path) -> list[str]:
    """The candidate labels, stripped (the file has stray spaces and no-break spaces)."""
    raw = (_bench_dir(data_dir) / LABEL_FILE).read_text(encoding="utf-8")
    return [line.strip() for line in raw.split("\n") if line.strip()]


def load_split(data_dir: Path, dataset: str, split: str) -> BenchmarkSplit:
    path = _bench_dir(data_dir) / f"{dataset}_{split}_annotations.csv"
    relevant: dict[str, list[str]] = {}
    spans: list[tuple[str, str]] = []
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            gold = relevant.setdefault(row["sentence"], [])
            label = _squash(row["label"])
            if not label or label in NOT_LABELS:
                continue
            if label not in gold:
                gold.append(label)
            spans.append((row["span"], label))
    queries = [(s, tuple(g)) for s, g in relevant.items() if g]
    return BenchmarkSplit(
        dataset,
        split,
        tuple(s for s, _ in queries),
        tuple(g for _, g in queries),
        len(relevant),
        tuple(spans),
    )


def _metrics(ranked: Sequence[Sequence[int]], relevant: Sequence[set[int]], n_gold: Sequence[int]):
    rp = rr = 0.0
    for order, gold, n in zip(ranked, relevant, n_gold, strict=True):
        rp += sum(1 for c in order[:5] if c in gold) / min(5, n)
        for rank, c in enumerate(order[:MRR_CUTOFF], start=1):
            if c in gold:
                rr += 1.0 / rank
                break
    count = max(len(ranked), 1)
    return {"rp@5": round(100 * rp / count, 2), "mrr": round(100 * rr / count, 2)}


def _top(scores: np.ndarray, k: int) -> list[list[int]]:
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    out = []
    for row, idx in zip(scores, part, strict=True):
        out.append(idx[np.lexsort((idx, -row[idx]))].tolist())
    return out


class _TfidfBaseline:
    """Keyword baseline: mean of word and character TF-IDF cosines against each label."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.word = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)
        self.char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        self.word_labels = self.word.fit_transform(labels)
        self.char_labels = self.char.fit_transform(labels)

    def scores(self, sentences: Sequence[str]) -> np.ndarray:
        word = (self.word.transform(sentences) @ self.word_labels.T).toarray()
        char = (self.char.transform(sentences) @ self.char_labels.T).toarray()
        return 0.5 * word + 0.5 * char


def _span_accuracy(mapper: SkillMapper, spans: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """How `map` reads the annotated skill names: right skill, wrong skill, or nothing."""
    catalogue = mapper.catalogue
    gold_ids = []
    for _, label in spans:
        entry = catalogue.esco_entry(label)
        gold_ids.append(entry.skill_id if entry is not None else None)
    matches = mapper.map_many([text for text, _ in spans])
    hits = [bool(m.skill_id) and m.skill_id == g for m, g in zip(matches, gold_ids, strict=True)]
    mapped = sum(1 for m in matches if m.skill_id)
    out: dict[str, Any] = {
        "spans": len(spans),
        "accuracy": round(100 * sum(hits) / max(len(spans), 1), 2),
        "mapped": round(100 * mapped / max(len(spans), 1), 2),
        "precision": round(100 * sum(hits) / max(mapped, 1), 2),
        "threshold": mapper.threshold,
    }
    for method in ("alias", "embedding"):
        picked = [h for m, h in zip(matches, hits, strict=True) if m.method == method]
        out[method] = {"count": len(picked), "right": sum(picked)}
    return out


def evaluate_skills_benchmark(
    data_dir: Path,
    mapper: SkillMapper,
    encoder: Encoder,
    *,
    splits: Sequence[str] = ("validation", "test"),
    datasets: Sequence[str] = ("tech", "house"),
) -> dict[str, Any]:
    """RP@5 and MRR of ours / anchor / TF-IDF per dataset and split (see module docstring)."""
    started = time.perf_counter()
    labels = load_labels(data_dir)
    index = {_squash(label): i for i, label in enumerate(labels)}
    entries = mapper.catalogue.entries
    entry_to_label = np.array([index.get(_squash(e.label), -1) if e.esco else -1 for e in entries])
    missing = [label for label in labels if mapper.catalogue.esco_entry(label) is None]
    if missing:
        raise ValueError(f"{len(missing)} benchmark labels are not in the catalogue: {missing[:5]}")
    extra = int((entry_to_label < 0).sum())  # curated-only entries, never candidates here

    t0 = time.perf_counter()
    vectors = mapper.vectors()
    label_seconds = time.perf_counter() - t0
    if mapper.encoder.id == encoder.id:
        # The anchor's label vectors: the same encoder on the same preferred-label strings.
        label_rows = np.full(len(labels), -1)
        label_rows[entry_to_label[entry_to_label >= 0]] = np.flatnonzero(entry_to_label >= 0)
        anchor_labels = vectors[label_rows]
    else:
        anchor_labels = encoder.encode(labels)
    tfidf = _TfidfBaseline(labels)

    results: dict[str, Any] = {}
    for dataset in datasets:
        for split in splits:
            data = load_split(data_dir, dataset, split)
            gold = [{index.get(label, -1) for label in g} - {-1} for g in data.relevant]
            n_gold = [len(g) for g in data.relevant]
            unreachable = sorted({lab for g in data.relevant for lab in g if lab not in index})

            t = time.perf_counter()
            ours = []
            for sentence in data.sentences:
                ranked = mapper.rank_labels(sentence, MRR_CUTOFF + extra)
                order = [
                    index[_squash(label)]
                    for skill_id, label, _ in ranked
                    if _squash(label) in index
                ]
                ours.append(order[:MRR_CUTOFF])
            ours_seconds = time.perf_counter() - t
            queries = encoder.encode(list(data.sentences))
            anchor = _top(queries @ anchor_labels.T, MRR_CUTOFF)
            keyword = _top(tfidf.scores(data.sentences), MRR_CUTOFF)
            results.setdefault(dataset, {})[split] = {
                "queries": len(data.sentences),
                "unique_sentences": data.unique_sentences,
                "distinct_labels": len({lab for g in data.relevant for lab in g}),
                "unreachable_labels": unreachable,
                "ours": _metrics(ours, gold, n_gold),
                "anchor": _metrics(anchor, gold, n_gold),
                "tfidf": _metrics(keyword, gold, n_gold),
                "map_spans": _span_accuracy(mapper, data.spans),
                "ours_ms_per_query": round(1000 * ours_seconds / max(len(data.sentences), 1), 1),
            }
    return {
        "benchmark": "skills_benchmark",
        "encoder": encoder.id,
        "mapper_encoder": mapper.encoder.id,
        "candidates": len(labels),
        "mrr_cutoff": MRR_CUTOFF,
        "catalogue_checksum": mapper.catalogue.checksum,
        "weights": asdict(mapper.weights),
        "label_vectors_seconds": round(label_seconds, 1),
        "seconds": round(time.perf_counter() - started, 1),
        "results": results,
    }
