"""Skill normalisation: free text -> canonical skill ids over ESCO v1.1 and the curated taxonomy.

Two vocabularies meet here. The curated taxonomy (`rapport.core.taxonomy`, 400 everyday skills
with the aliases CVs use) decides ids wherever it names a skill; the vendored ESCO v1.1 list
(`data/esco_skills.json.gz`, built once by `scripts/build_esco_catalogue.py`: 13,896 preferred
labels with alternative labels and definitions) covers the long tail. An ESCO skill the
curated taxonomy names (by label or alias, as `Taxonomy.known` reads it) takes the curated id,
so "Python (computer programming)" and "Python" are one skill `python`, exactly as the import
path in core resolves them; every other ESCO skill is `esco:<uuid>` (or `esco:label-<slug>`
for the few v1.1 labels whose URI the build could not recover).

`SkillMapper` answers four questions:
- `map(text)`: which skill a skill name means. Exact normalised alias first (confidence 1.0),
  else the nearest label by embedding if its cosine clears `threshold`,
  else method "none" with an empty id: callers report it, they never fail on it.
- `rank_labels(sentence, k)`: which skills a free-text sentence (a job-ad line) talks about.
  Hybrid: the encoder's cosine between the sentence and each label, the best cosine between
  any short word window of the sentence (1-3 words) and the label, and TF-IDF (word and
  character n-grams) between the sentence and the label. The
  weights were chosen on the skills benchmark's VALIDATION splits (`rapport.training.
  eval_skills`), never on its test splits.
- `extract(text)`: skill mentions in a summary or resume, by alias phrases over word n-grams
  (optionally plus sentence-level `rank_labels` hits above a stricter confidence).
- `credit(required, owned)`: 1.0 for the skill itself, `RELATED_CREDIT` for a curated related
  skill (symmetric), else 0.

Label embeddings depend only on (encoder id, the labels embedded); with the real model the 14k
labels take ~30 s (ONNX) to ~3 min (torch) on two busy cores, so they are cached as .npy under
`cache_dir` (written atomically) and reused by every later process.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from rapport.core.taxonomy import Taxonomy, normalise_key, slug
from rapport.models.encoders import Encoder

__all__ = [
    "DEFAULT_THRESHOLD",
    "RELATED_CREDIT",
    "RankWeights",
    "SkillCatalogue",
    "SkillEntry",
    "SkillMapper",
    "SkillMatch",
]

log = logging.getLogger(__name__)

RELATED_CREDIT = 0.5
# Cosine a skill name must reach against a label or alias to count as that skill (map()).
DEFAULT_THRESHOLD = 0.75
ESCO_URI_PREFIX = "http://data.europa.eu/esco/skill/"
MAX_WINDOW_TOKENS = 96  # a longer text is cut; the encoder reads ~256 word pieces anyway
_EMBED_SPEC = "labels-v1"  # bump when the choice of embedded texts changes

# A word: starts and ends with a letter, digit, "+" or "#" ("C++", "C#", "Node.js", "CI/CD"),
# so surrounding punctuation and a sentence's full stop fall away.
_TOKEN = re.compile(r"[\w+#](?:[^\s,;:()\[\]{}\"!?<>|]*[\w+#])?")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+|\s+[-*\u2022]\s+")


@dataclass(frozen=True, slots=True)
class SkillMatch:
    """What a piece of text was taken to mean; `skill_id` is "" when it means nothing known."""

    text: str
    skill_id: str
    label: str
    confidence: float
    method: str  # "alias" | "embedding" | "none"


@dataclass(frozen=True, slots=True)
class SkillEntry:
    """One rankable label: an ESCO v1.1 skill, or a curated skill ESCO lacks."""

    skill_id: str
    label: str
    uri: str
    alt_labels: tuple[str, ...]
    definition: str
    esco: bool  # `label` is an ESCO v1.1 preferred label


@dataclass(frozen=True)
class RankWeights:
    """How `rank_labels` mixes its signals.

    Chosen on the skills benchmark's validation splits (TECH + HOUSE, 136 sentences) by a
    coarse grid, taking a point on the flat top rather than the single best cell. Windows were
    the big win (short skill phrases drown in a whole-sentence vector); embedding ESCO's
    alternative labels or definitions as extra vectors lowered the validation figures.
    """

    sentence: float = 1.0  # cosine(sentence, label)
    window: float = 1.5  # best cosine(any 1-3 word window of the sentence, label)
    word: float = 0.75  # TF-IDF word 1-2 grams, sentence vs label
    char: float = 0.25  # TF-IDF character 3-5 grams, sentence vs label
    window_sizes: tuple[int, ...] = (1, 2, 3)

    @property
    def total(self) -> float:
        """The highest score a label can reach (every signal at 1): scales scores to [0, 1]."""
        return self.sentence + self.window + self.word + self.char


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _esco_id(uri: str, label: str) -> str:
    if uri.startswith(ESCO_URI_PREFIX):
        return "esco:" + uri[len(ESCO_URI_PREFIX) :]
    return "esco:label-" + slug(label)


# ------------------------------------------------------------------------------ catalogue


class SkillCatalogue:
    """ESCO v1.1 skills merged with the curated taxonomy, with exact alias lookup."""

    def __init__(self, esco: Mapping[str, Any], taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.source: Mapping[str, Any] = dict(esco.get("source", {}))
        entries: list[SkillEntry] = []
        covered: set[str] = set()  # curated ids whose own label is an ESCO label
        for row in esco["skills"]:
            label = row["label"]
            curated = taxonomy.known(label)
            if curated is not None:
                skill_id = curated.id
                alts = list(row.get("alt_labels", ()))
                if normalise_key(curated.label) == normalise_key(label):
                    covered.add(curated.id)
                    alts = [*curated.aliases, *alts]
            else:
                skill_id = _esco_id(row.get("uri", ""), label)
                alts = list(row.get("alt_labels", ()))
            entries.append(
                SkillEntry(
                    skill_id,
                    label,
                    row.get("uri", ""),
                    tuple(alts),
                    row.get("definition", ""),
                    True,
                )
            )
        for skill in taxonomy.skills:
            if skill.id not in covered:
                entries.append(SkillEntry(skill.id, skill.label, "", skill.aliases, "", False))
        self.entries: tuple[SkillEntry, ...] = tuple(entries)
        self._labels = {s.id: s.label for s in taxonomy.skills}
        for entry in self.entries:
            self._labels.setdefault(entry.skill_id, entry.label)
        self._by_esco_label = {normalise_key(e.label): e for e in self.entries if e.esco}
        self._lookup = self._build_lookup()
        pairs: dict[str, set[str]] = {}
        for skill in taxonomy.skills:
            for other in skill.related:
                pairs.setdefault(skill.id, set()).add(other)
                pairs.setdefault(other, set()).add(skill.id)
        self._related = {k: frozenset(v) for k, v in pairs.items()}
        digest = hashlib.sha256()
        for e in self.entries:
            digest.update(json.dumps([e.skill_id, e.label, e.alt_labels]).encode())
        self.checksum = digest.hexdigest()

    def _build_lookup(self) -> dict[str, str]:
        """Normalised key -> skill id: ESCO preferred labels, then unambiguous ESCO alt labels.

        Curated names are looked up through the taxonomy itself (they win every clash).
        """
        lookup: dict[str, str] = {}
        for entry in self.entries:
            if entry.esco:
                lookup.setdefault(normalise_key(entry.label), entry.skill_id)
        owners: dict[str, set[str]] = {}
        for entry in self.entries:
            for alt in entry.alt_labels:
                owners.setdefault(normalise_key(alt), set()).add(entry.skill_id)
        for key, ids in owners.items():
            if key and len(ids) == 1 and key not in lookup:
                lookup[key] = next(iter(ids))
        return lookup

    @classmethod
    def load(cls, path: str | Path, taxonomy: Taxonomy | None = None) -> SkillCatalogue:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return cls(json.load(f), taxonomy or Taxonomy.bundled())

    @classmethod
    def bundled(cls) -> SkillCatalogue:
        """The vendored ESCO file + the bundled taxonomy (loaded once per process)."""
        return _bundled_catalogue()

    def lookup(self, text: str) -> tuple[str, str] | None:
        """`(skill_id, label)` for an exact normalised label or alias, else None."""
        curated = self.taxonomy.known(text)
        if curated is not None:
            return curated.id, curated.label
        skill_id = self._lookup.get(normalise_key(text))
        return (skill_id, self._labels[skill_id]) if skill_id else None

    def label(self, skill_id: str) -> str:
        """Display label of a skill id (the curated label where there is one); KeyError."""
        return self._labels[skill_id]

    def esco_entry(self, label: str) -> SkillEntry | None:
        """The entry for an ESCO v1.1 preferred label (normalised match), or None."""
        return self._by_esco_label.get(normalise_key(label))

    def related(self, skill_id: str) -> frozenset[str]:
        """Curated related ids, read both ways (a relation listed on one side counts)."""
        return self._related.get(skill_id, frozenset())

    def __contains__(self, skill_id: object) -> bool:
        return skill_id in self._labels

    def __len__(self) -> int:
        return len(self._labels)


@cache
def _bundled_catalogue() -> SkillCatalogue:
    resource = resources.files("rapport.models").joinpath("data").joinpath("esco_skills.json.gz")
    with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        return SkillCatalogue(json.load(f), Taxonomy.bundled())


# --------------------------------------------------------------------------------- mapper


class SkillMapper:
    """Maps skill names and free text to catalogue skills (see the module docstring)."""

    def __init__(
        self,
        catalogue: SkillCatalogue,
        encoder: Encoder,
        *,
        cache_dir: Path | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        weights: RankWeights | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.encoder = encoder
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.threshold = threshold
        self.weights = weights or RankWeights()
        self._lock = threading.Lock()
        self._vectors: np.ndarray | None = None
        self._tfidf: tuple[TfidfVectorizer, Any, TfidfVectorizer, Any] | None = None
        self._phrases: dict[str, list[tuple[str, str | None]]] | None = None
        self._max_phrase = 1
        entries = catalogue.entries
        self._entry_ids = np.array([e.skill_id for e in entries], dtype=object)

    # -- exact and embedding lookup -----------------------------------------------------
    def map(self, text: str) -> SkillMatch:
        """What one skill name means (see module docstring for the three methods)."""
        return self.map_many([text])[0]

    def map_many(self, texts: Sequence[str]) -> list[SkillMatch]:
        """`map` for many names, with one encoder call for those no alias resolves."""
        out: list[SkillMatch | None] = []
        pending: list[int] = []
        for i, text in enumerate(texts):
            if not normalise_key(text or ""):
                out.append(SkillMatch(text, "", "", 0.0, "none"))
                continue
            hit = self.catalogue.lookup(text)
            if hit is not None:
                out.append(SkillMatch(text, hit[0], hit[1], 1.0, "alias"))
            else:
                out.append(None)
                pending.append(i)
        if pending:
            queries = self.encoder.encode([texts[i].strip() for i in pending])
            sims = queries @ self.vectors().T
            best = sims.argmax(axis=1)
            for row, i in enumerate(pending):
                entry, cosine = int(best[row]), float(sims[row, best[row]])
                if cosine >= self.threshold:
                    skill_id = self._entry_ids[entry]
                    label = self.catalogue.label(skill_id)
                    out[i] = SkillMatch(texts[i], skill_id, label, cosine, "embedding")
                else:
                    out[i] = SkillMatch(texts[i], "", "", cosine, "none")
        return [m for m in out if m is not None]

    # -- free text ----------------------------------------------------------------------
    def rank_labels(self, sentence: str, k: int = 10) -> list[tuple[str, str, float]]:
        """Top-k `(skill_id, label, score)` for a sentence; labels are the ranked labels.

        An ESCO skill merged into a curated one keeps its own ESCO label here, so two rows
        may share a skill id (e.g. "iOS" and "Xcode" are both `ios`).
        """
        scores = self.score_labels([sentence])[0]
        k = min(k, len(scores))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]
        entries = self.catalogue.entries
        return [(entries[i].skill_id, entries[i].label, float(scores[i])) for i in top]

    def score_labels(self, sentences: Sequence[str]) -> np.ndarray:
        """(len(sentences), n_entries) hybrid scores, in catalogue entry order."""
        w = self.weights
        vectors = self.vectors()
        texts: list[str] = []
        spans: list[tuple[int, int]] = []
        for sentence in sentences:
            tokens = _tokens(sentence)[:MAX_WINDOW_TOKENS]
            windows = [
                " ".join(tokens[i : i + n])
                for n in w.window_sizes
                for i in range(max(0, len(tokens) - n + 1))
            ]
            start = len(texts)
            texts.append(sentence.strip())
            texts.extend(windows)
            spans.append((start, len(texts)))
        encoded = self.encoder.encode(texts)
        scores = np.zeros((len(sentences), len(self.catalogue.entries)), dtype=np.float32)
        word_vec, word_labels, char_vec, char_labels = self._lexical()
        if w.word:
            scores += w.word * (word_vec.transform(sentences) @ word_labels.T).toarray()
        if w.char:
            scores += w.char * (char_vec.transform(sentences) @ char_labels.T).toarray()
        for row, (start, end) in enumerate(spans):
            if w.sentence:
                scores[row] += w.sentence * (encoded[start] @ vectors.T)
            if w.window and end > start + 1:
                scores[row] += w.window * (encoded[start + 1 : end] @ vectors.T).max(axis=0)
        return scores

    def extract(
        self, text: str, *, limit: int = 30, min_confidence: float | None = None
    ) -> list[SkillMatch]:
        """Skill mentions in running text, first mention first, one per skill id.

        Alias phrases (curated names and aliases, ESCO labels and unambiguous alternative
        labels of two words or more, or one word with a capital or digit) are matched
        longest-first over word n-grams; aliases of one or two letters ("R", "Go", "JS") only
        as written, so "go" in prose is not Go. With `min_confidence`, each sentence's top 3
        `rank_labels` hits whose score / `RankWeights.total` reaches it are added with method
        "embedding" (off by default: it encodes every sentence, which profile building for
        thousands of candidates cannot afford, and it is far less precise than an alias).
        """
        phrases = self._phrase_index()
        tokens: list[str] = []
        for token in _tokens(text):  # "C++/C#" is two skills, "CI/CD" one
            if "/" in token and normalise_key(token) not in phrases:
                tokens.extend(t for part in token.split("/") for t in _tokens(part))
            else:
                tokens.append(token)
        found: list[tuple[int, SkillMatch]] = []
        seen: set[str] = set()
        # normalise_key maps character by character and drops spaces, so an n-gram's key is
        # the concatenation of its tokens' keys: each token is normalised once, not per n-gram.
        keys = [normalise_key(t) for t in tokens]
        i = 0
        while i < len(tokens):
            step = 1
            for n in range(min(self._max_phrase, len(tokens) - i), 0, -1):
                bucket = phrases.get("".join(keys[i : i + n]))
                if not bucket:
                    continue
                surface = " ".join(tokens[i : i + n])
                hit = next((sid for sid, exact in bucket if exact in (None, surface)), None)
                if hit is not None:
                    if hit not in seen:
                        seen.add(hit)
                        label = self.catalogue.label(hit)
                        found.append((i, SkillMatch(surface, hit, label, 1.0, "alias")))
                    step = n
                    break
            i += step
        if min_confidence is not None:
            offset = len(tokens)
            total = self.weights.total
            for sentence in (s for s in _SENTENCE.split(text) if s.strip()):
                for skill_id, label, score in self.rank_labels(sentence, 3):
                    confidence = min(1.0, score / total)
                    if confidence >= min_confidence and skill_id not in seen:
                        seen.add(skill_id)
                        match = SkillMatch(
                            sentence.strip(), skill_id, label, confidence, "embedding"
                        )
                        found.append((offset, match))
                offset += 1
        found.sort(key=lambda item: item[0])
        return [m for _, m in found[:limit]]

    def _phrase_index(self) -> dict[str, list[tuple[str, str | None]]]:
        if self._phrases is not None:
            return self._phrases
        index: dict[str, list[tuple[str, str | None]]] = {}
        longest = 1

        def add(name: str, skill_id: str) -> None:
            nonlocal longest
            key = normalise_key(name)
            if not key:
                return
            exact = name if len(key) <= 2 else None
            bucket = index.setdefault(key, [])
            if (skill_id, exact) not in bucket:
                bucket.append((skill_id, exact))
            longest = max(longest, name.count(" ") + 1)

        for skill in self.catalogue.taxonomy.skills:
            for name in (skill.label, *skill.aliases):
                add(name, skill.id)
        curated_keys = set(index)
        owners: dict[str, set[str]] = {}
        for entry in self.catalogue.entries:
            names = [entry.label] if entry.esco else []
            for name in names + list(entry.alt_labels):
                owners.setdefault(name, set()).add(entry.skill_id)
        for name, ids in sorted(owners.items()):
            distinctive = " " in name.strip() or any(c.isupper() or c.isdigit() for c in name)
            if len(ids) == 1 and distinctive and normalise_key(name) not in curated_keys:
                add(name, next(iter(ids)))
        self._max_phrase = min(longest, 8)
        self._phrases = index
        return index

    # -- credit -------------------------------------------------------------------------
    def related(self, skill_id: str) -> frozenset[str]:
        """Skills that earn partial credit for `skill_id` (curated relations, both ways)."""
        return self.catalogue.related(skill_id)

    # -- cached state -------------------------------------------------------------------
    def vectors(self) -> np.ndarray:
        """(n_entries, dim) label embeddings, computed once per (encoder, catalogue), cached.

        Only labels are embedded: on the benchmark's validation splits, adding ESCO's
        alternative labels as extra vectors (max-sim) or definitions lowered both `map` and
        `rank_labels` (alternative labels reach the alias path exactly instead).
        """
        with self._lock:
            if self._vectors is None:
                self._vectors = self._build_vectors()
            return self._vectors

    def _build_vectors(self) -> np.ndarray:
        texts = [e.label for e in self.catalogue.entries]
        # Keyed by exactly what is embedded: a catalogue change that leaves every label as it
        # was (new alternative labels, say) keeps the cache.
        key = hashlib.sha256(
            "\n".join([_EMBED_SPEC, self.encoder.id, *texts]).encode()
        ).hexdigest()[:20]
        path = None
        if self.cache_dir is not None:
            path = self.cache_dir / f"skill-vectors-{slug(self.encoder.id)}-{key}.npy"
            if path.exists():
                matrix = np.load(path)
                if matrix.shape == (len(texts), self.encoder.dim):
                    return matrix.astype(np.float32, copy=False)
                log.warning("ignoring skill vector cache %s: wrong shape", path)
        started = time.perf_counter()
        matrix = np.asarray(self.encoder.encode(texts), dtype=np.float32)
        log.info(
            "embedded %d skill labels with %s in %.1f s",
            len(texts),
            self.encoder.id,
            time.perf_counter() - started,
        )
        if path is not None:
            _atomic_save(path, matrix)
        return matrix

    def _lexical(self) -> tuple[TfidfVectorizer, Any, TfidfVectorizer, Any]:
        with self._lock:
            if self._tfidf is None:
                labels = [e.label for e in self.catalogue.entries]
                word = TfidfVectorizer(
                    analyzer="word", ngram_range=(1, 2), sublinear_tf=True, stop_words="english"
                )
                char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
                self._tfidf = (
                    word,
                    word.fit_transform(labels).tocsr(),
                    char,
                    char.fit_transform(labels).tocsr(),
                )
            return self._tfidf


def _atomic_save(path: Path, matrix: np.ndarray) -> None:
    """Write next to the target, then rename: readers never see a half-written cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.save(f, matrix)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
