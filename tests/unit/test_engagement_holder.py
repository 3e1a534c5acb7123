"""The model holder: alias resolution, the local cache, swaps, and a registry that is gone.

The registry here is a stand-in with the three calls serving makes (the real one is used by
tests/service/test_engagement_service.py); the scorers are real, small `EngagementScorer`s.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from rapport.core.config import Settings
from rapport.core.errors import PreconditionFailed, Unavailable
from rapport.models.engagement.features import FEATURE_SPEC
from rapport.models.engagement.registry import (
    MODEL_NAME,
    REGISTERED_FILE,
    SCORER_FILE,
    ModelVersionInfo,
    RegistryUnavailable,
)
from rapport.services.engagement.model_holder import POINTER, ModelHolder


class FakeRegistry:
    """Versions and aliases in dicts; can be made unreachable or unresponsive."""

    def __init__(self, scorers: dict) -> None:
        self.scorers = scorers
        self.aliases: dict[str, str] = {}
        self.down = False
        self.hang: threading.Event | None = None
        self.spec_hash = FEATURE_SPEC.fingerprint()
        self.downloads: list[str] = []

    def _info(self, version: str, metrics=None) -> ModelVersionInfo:
        return ModelVersionInfo(
            MODEL_NAME,
            version,
            tuple(a for a, v in self.aliases.items() if v == version),
            run_id=f"run-{version}",
            tags={"feature_spec_hash": self.spec_hash, "feature_spec_version": "x"},
            metrics=metrics or {},
        )

    def resolve_alias(self, name, alias):
        if self.hang is not None:
            self.hang.wait(10)
        if self.down:
            raise RegistryUnavailable("model registry: connection refused")
        version = self.aliases.get(alias)
        return None if version is None else self._info(version)

    def get_version(self, version, name=MODEL_NAME, metrics=False):
        return self._info(version, {"test_roc_auc": 0.7} if metrics else None)

    def download_version(self, info, dest: Path, name=MODEL_NAME) -> Path:
        dest = Path(dest)
        if (dest / REGISTERED_FILE).exists():  # as the real one: a complete copy is kept
            return dest
        self.downloads.append(info.version)
        dest.mkdir(parents=True, exist_ok=True)
        self.scorers[info.version].save(dest / SCORER_FILE)
        (dest / REGISTERED_FILE).write_text(json.dumps(info.to_dict()))
        return dest


@pytest.fixture
def registry(tiny_scorer):
    return FakeRegistry({"1": tiny_scorer(1), "2": tiny_scorer(2)})


@pytest.fixture
def holder_settings(tmp_path) -> Settings:
    # an HTTP URI, never contacted: the fake registry answers instead
    return Settings(
        home=tmp_path / "home",
        mlflow_uri="http://registry.invalid",
        engagement_registry_timeout_s=0.5,
    )


def make_holder(settings, registry):
    loaded = []
    return ModelHolder(settings, loaded.append, registry=registry), loaded


def test_without_a_champion_it_says_how_to_get_one(holder_settings, registry):
    holder, loaded = make_holder(holder_settings, registry)
    with pytest.raises(Unavailable, match="loading"):
        holder.require()  # before the first look
    assert holder.refresh() is False
    with pytest.raises(
        PreconditionFailed, match="rapport train engagement && rapport models promote"
    ):
        holder.require()
    assert holder.status()["state"] == "none"
    assert loaded == []


def test_no_tracking_store_means_no_model_without_touching_mlflow(tmp_path):
    settings = Settings(home=tmp_path / "home")  # sqlite tracking file that does not exist
    holder = ModelHolder(settings, lambda m: None)  # no registry given: would import MLflow
    assert holder.refresh() is False
    assert holder._registry is None  # never made
    assert not (tmp_path / "home" / "mlflow.db").exists()
    with pytest.raises(PreconditionFailed, match="no model registry"):
        holder.require()


def test_champion_is_downloaded_cached_and_swapped(holder_settings, registry):
    holder, loaded = make_holder(holder_settings, registry)
    registry.aliases["champion"] = "1"
    assert holder.refresh() is True
    first = holder.require()
    assert (first.info.version, first.info.loaded_from, first.info.run_id) == (
        "1",
        "registry",
        "run-1",
    )
    assert first.info.metrics == {"test_roc_auc": 0.7}
    assert first.info.feature_spec_version == FEATURE_SPEC.version
    pointer = json.loads((holder_settings.engagement_cache / POINTER).read_text())
    assert pointer["version"] == "1"
    assert holder.refresh() is False  # nothing new: no download
    assert registry.downloads == ["1"]

    registry.aliases["champion"] = "2"
    assert holder.refresh() is True
    assert holder.require().info.version == "2"
    assert [m.info.version for m in loaded] == ["1", "2"]  # the keeper heard of both
    assert {p.name for p in holder_settings.engagement_cache.iterdir() if p.is_dir()} == {"1", "2"}


def test_restart_with_the_registry_down_serves_the_cached_champion(holder_settings, registry):
    holder, _ = make_holder(holder_settings, registry)
    registry.aliases["champion"] = "2"
    holder.refresh()

    registry.down = True
    restarted, loaded = make_holder(holder_settings, registry)
    assert restarted.load_cached() is True
    model = restarted.require()
    assert (model.info.version, model.info.loaded_from) == ("2", "cache")
    assert model.info.run_id == "run-2"  # from the metadata cached with it
    assert restarted.refresh() is False
    status = restarted.status()
    assert "connection refused" in status["last_error"]
    assert "still serving rapport-engagement/2" in status["last_error"]
    assert restarted.require() is model
    assert [m.info.version for m in loaded] == ["2"]


def test_no_cache_and_registry_down_is_unavailable_not_a_missing_model(holder_settings, registry):
    holder, _ = make_holder(holder_settings, registry)
    registry.down = True
    holder.refresh()
    assert holder.status()["state"] == "unavailable"
    with pytest.raises(Unavailable, match="connection refused"):
        holder.require()
    registry.down = False  # it comes back: the next look finds nothing promoted yet
    holder.refresh()
    assert holder.status()["state"] == "none"


def test_a_registry_that_hangs_is_reported_within_the_timeout(holder_settings, registry):
    holder, _ = make_holder(holder_settings, registry)
    registry.aliases["champion"] = "1"
    holder.refresh()
    registry.hang = threading.Event()
    try:
        assert holder.refresh() is False
        assert "did not answer within 0.5s" in holder.status()["last_error"]
        assert holder.require().info.version == "1"
        registry.aliases["champion"] = "2"
        registry.hang.set()  # the answer arrives late; the next look uses it, or asks again
        assert holder.refresh() is True
        assert holder.require().info.version == "2"
    finally:
        registry.hang.set()
        holder.close()


def test_a_version_for_another_feature_spec_is_refused_once(holder_settings, registry):
    holder, _ = make_holder(holder_settings, registry)
    registry.aliases["champion"] = "1"
    holder.refresh()
    registry.aliases["champion"] = "2"
    registry.spec_hash = "0000000000000000"
    assert holder.refresh() is False
    assert holder.require().info.version == "1"  # the old champion keeps serving
    assert "version 2" in holder.status()["last_error"]
    assert "feature spec" in holder.status()["last_error"]
    holder.refresh()
    assert registry.downloads == ["1"]  # refused before downloading, and not retried


def test_a_damaged_cached_copy_is_reported_then_downloaded_again(holder_settings, registry):
    cache = holder_settings.engagement_cache
    (cache / "1").mkdir(parents=True)
    (cache / "1" / SCORER_FILE).write_bytes(b"not a pickle")
    (cache / "1" / REGISTERED_FILE).write_text(json.dumps({"name": MODEL_NAME, "version": "1"}))
    (cache / POINTER).write_text(json.dumps({"version": "1"}))
    holder, _ = make_holder(holder_settings, registry)
    assert holder.load_cached() is False
    assert "cached model unusable" in holder.status()["last_error"]
    registry.aliases["champion"] = "1"
    assert holder.refresh() is True
    assert holder.require().info.version == "1"
    assert registry.downloads == ["1"]  # the damaged copy was replaced
    assert holder.status()["last_error"] == ""
