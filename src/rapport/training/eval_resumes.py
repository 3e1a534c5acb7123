"""Role-to-resume retrieval on the public resume data set, through the serving code path.

Each of the 25 job categories becomes a role (its name as the title); the deduplicated
resumes become candidates (the resume as summary, skills extracted from it exactly as the
service does for summaries); ranking goes through `MatchIndex.rank`. Relevant = the resumes
of that category. Beside it, a TF-IDF keyword baseline over the same texts and queries.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from rapport.core.domain import Candidate, Role
from rapport.models.encoders import Encoder
from rapport.models.match_index import MatchIndex
from rapport.models.profiles import ProfileBuilder, candidate_text
from rapport.models.ranking import Weights, resolve_role
from rapport.models.vector_index import VectorIndex

RESUMES_FILE = Path("resumes") / "UpdatedResumeDataSet.csv"
NDCG_AT = 10


def _fix_mojibake(text: str) -> str:
    """Undo UTF-8 read as cp1252/latin-1 ("NaÃ¯ve" -> "Naïve") where that round-trips."""
    if "Ã" not in text and "â" not in text:
        return text
    try:
        return text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        try:
            return text.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return text


def load_resumes(data_dir: Path) -> list[tuple[str, str]]:
    """(category, text) per distinct resume text, in file order (the file repeats most)."""
    seen: set[str] = set()
    out = []
    with (data_dir / RESUMES_FILE).open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            text = row["Resume"].strip()
            if text and text not in seen:
                seen.add(text)
                out.append((row["Category"].strip(), _fix_mojibake(text)))
    return out


def average_precision(ranked_relevance: Sequence[bool], total_relevant: int) -> float:
    hits, total = 0, 0.0
    for i, relevant in enumerate(ranked_relevance, start=1):
        if relevant:
            hits += 1
            total += hits / i
    return total / total_relevant if total_relevant else 0.0


def ndcg(ranked_relevance: Sequence[bool], total_relevant: int, k: int = NDCG_AT) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, rel in enumerate(ranked_relevance[:k]) if rel)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, total_relevant)))
    return dcg / ideal if ideal else 0.0


def _scores(rankings: dict[str, list[str]], labels: dict[str, str]) -> dict:
    counts: dict[str, int] = {}
    for category in labels.values():
        counts[category] = counts.get(category, 0) + 1
    aps, ndcgs = [], []
    for category, ranked in rankings.items():
        relevance = [labels[c] == category for c in ranked]
        aps.append(average_precision(relevance, counts[category]))
        ndcgs.append(ndcg(relevance, counts[category]))
    return {
        "MAP": round(100 * float(np.mean(aps)), 2),
        f"nDCG@{NDCG_AT}": round(100 * float(np.mean(ndcgs)), 2),
    }


def evaluate_resumes(
    data_dir: Path, encoder: Encoder, builder: ProfileBuilder, weights: Weights
) -> dict:
    resumes = load_resumes(data_dir)
    candidates = [
        Candidate(id=f"resume-{i:04d}", pk=i + 1, summary=text)
        for i, (_, text) in enumerate(resumes)
    ]
    labels = {c.id: category for c, (category, _) in zip(candidates, resumes, strict=True)}
    categories = sorted(set(labels.values()))

    index = MatchIndex(VectorIndex.empty(encoder.id, encoder.dim), encoder, builder)
    for start in range(0, len(candidates), 64):
        index.upsert(candidates[start : start + 64])
    ours: dict[str, list[str]] = {}
    for category in categories:
        query = resolve_role(Role(title=category), builder.resolver)
        vector = encoder.encode([query.text()])[0]
        result = index.rank(
            query,
            vector,
            allowed=None,
            offset=0,
            top_k=len(candidates),
            weights=weights,
        )
        ours[category] = [s.profile.id for s in result.results]

    texts = [candidate_text(c) for c in candidates]
    tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english")
    docs = tfidf.fit_transform(texts)
    queries = tfidf.transform(categories)
    sims = (queries @ docs.T).toarray()
    baseline = {
        category: [candidates[j].id for j in np.argsort(-sims[i], kind="stable")]
        for i, category in enumerate(categories)
    }
    return {
        "data": str(data_dir / RESUMES_FILE),
        "resumes": len(candidates),
        "categories": len(categories),
        "encoder": encoder.id,
        "ours": _scores(ours, labels),
        "tfidf": _scores(baseline, labels),
    }
