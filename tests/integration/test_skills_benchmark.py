"""Skills benchmark on the VALIDATION splits with the real MiniLM: our ranking must beat the
zero-shot anchor and the TF-IDF baseline. Needs the shared data (dev/CI machines only): set
RAPPORT_EVAL_DATA or keep `../shared/data` beside the repository, else the module skips."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from rapport.models.encoders import load_encoder
from rapport.models.skills import SkillCatalogue, SkillMapper
from rapport.training.eval_skills import evaluate_skills_benchmark

pytestmark = [pytest.mark.integration, pytest.mark.model]

REPO = Path(__file__).resolve().parents[2]


def _data_dir() -> Path | None:
    candidates = (
        [Path(os.environ["RAPPORT_EVAL_DATA"])] if "RAPPORT_EVAL_DATA" in os.environ else []
    )
    candidates.append(REPO.parent / "shared" / "data")
    for path in candidates:
        if (path / "skills_benchmark" / "skills_en_label.txt").is_file():
            return path
    return None


DATA = _data_dir()
if DATA is None:
    pytest.skip(
        "skills benchmark data not found (RAPPORT_EVAL_DATA, ../shared/data)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("skill-vectors")


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return load_encoder("onnx", tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def report(encoder: Any, cache_dir: Path) -> dict[str, Any]:
    mapper = SkillMapper(SkillCatalogue.bundled(), encoder, cache_dir=cache_dir)
    assert DATA is not None
    return evaluate_skills_benchmark(DATA, mapper, encoder, splits=("validation",))


@pytest.mark.parametrize("dataset", ["tech", "house"])
def test_ours_beats_anchor_and_tfidf_on_validation(report: dict[str, Any], dataset: str) -> None:
    split = report["results"][dataset]["validation"]
    for metric in ("rp@5", "mrr"):
        ours = split["ours"][metric]
        assert ours >= split["anchor"][metric], (dataset, metric, split)
        assert ours >= split["tfidf"][metric], (dataset, metric, split)


def test_queries_match_the_data_readme(report: dict[str, Any]) -> None:
    tech, house = report["results"]["tech"]["validation"], report["results"]["house"]["validation"]
    assert (tech["queries"], tech["unique_sentences"]) == (75, 101)
    assert (house["queries"], house["unique_sentences"]) == (61, 77)
    assert report["candidates"] == 13_896
    assert report["encoder"] == report["mapper_encoder"] == "all-MiniLM-L6-v2@fp32"


def test_label_vectors_are_reused_from_the_cache(
    report: dict[str, Any], encoder: Any, cache_dir: Path
) -> None:
    files = list(cache_dir.glob("*.npy"))
    assert len(files) == 1
    mapper = SkillMapper(SkillCatalogue.bundled(), encoder, cache_dir=cache_dir)
    before = files[0].stat().st_mtime_ns
    assert mapper.vectors().shape[0] == len(mapper.catalogue.entries)
    assert files[0].stat().st_mtime_ns == before
    matches = mapper.map_many(["Kubernetes clusters", "programming in Python", "xyzzy plugh"])
    assert [(m.skill_id, m.method) for m in matches] == [
        ("kubernetes", "embedding"),
        ("python", "embedding"),
        ("", "none"),
    ]


def test_extract_adds_sentence_level_matches_on_request(
    report: dict[str, Any], encoder: Any, cache_dir: Path
) -> None:
    mapper = SkillMapper(SkillCatalogue.bundled(), encoder, cache_dir=cache_dir)
    text = "Backend developer with Python and Kubernetes. You will talk to customers every day."
    plain = mapper.extract(text)
    assert [m.skill_id for m in plain] == ["python", "kubernetes"]
    rich = mapper.extract(text, min_confidence=0.5)
    assert [m.skill_id for m in rich][:2] == ["python", "kubernetes"]
    extra = [m for m in rich if m.method == "embedding"]
    assert extra and all(0.5 <= m.confidence <= 1.0 for m in extra)
    assert any("customer" in m.label for m in extra)
