"""Which engagement model a model report audits: the champion or a named version, loaded
through the registry contract into EngagementService's cache, kept in memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rapport.core.config import Settings
from rapport.core.errors import NotFound, PreconditionFailed
from rapport.models.engagement.registry import (
    MODEL_NAME,
    REGISTERED_FILE,
    SCORER_FILE,
    ModelVersionInfo,
)
from rapport.services.analytics.use_cases import ModelSource


class Registry:
    """The three registry calls a model report needs, over dicts."""

    def __init__(self, scorers: dict) -> None:
        self.scorers = scorers
        self.aliases: dict[str, str] = {}
        self.downloads: list[str] = []

    def _info(self, version):
        return ModelVersionInfo(MODEL_NAME, version, (), run_id=f"run-{version}")

    def resolve_alias(self, name, alias):
        version = self.aliases.get(alias)
        return None if version is None else self._info(version)

    def get_version(self, version, name=MODEL_NAME):
        if version not in self.scorers:
            raise NotFound("model version", f"{name}/{version}")
        return self._info(version)

    def download_version(self, info, dest: Path, name=MODEL_NAME) -> Path:
        self.downloads.append(info.version)
        dest.mkdir(parents=True, exist_ok=True)
        self.scorers[info.version].save(dest / SCORER_FILE)
        (dest / REGISTERED_FILE).write_text(json.dumps(info.to_dict()))
        return dest


@pytest.fixture
def registry(tiny_scorer):
    return Registry({"1": tiny_scorer(1), "2": tiny_scorer(2)})


def test_the_champion_or_a_version_is_loaded_and_kept(tmp_path, registry):
    settings = Settings(home=tmp_path)
    source = ModelSource(settings, registry)
    with pytest.raises(PreconditionFailed, match="champion"):
        source.load("")
    registry.aliases["champion"] = "2"
    champion = source.load("")
    assert champion.version == "2"
    assert (settings.engagement_cache / "2" / SCORER_FILE).exists()
    assert source.load("").version == "2" and registry.downloads == ["2"]  # kept in memory
    assert source.load("1").version == "1"
    with pytest.raises(NotFound):
        source.load("9")


def test_no_registry_file_is_a_clear_precondition(tmp_path):
    with pytest.raises(PreconditionFailed, match="rapport train engagement"):
        ModelSource(Settings(home=tmp_path)).load("")
