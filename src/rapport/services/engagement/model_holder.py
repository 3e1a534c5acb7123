"""The engagement model a service serves: `models:/rapport-engagement@champion`, cached.

Every `engagement_poll_interval_s` the holder asks the registry which version the alias
points at. A new version is downloaded into `<cache>/<version>/` (atomically, by
`Registry.download_version`), loaded, checked against the feature spec this code computes,
recorded as the cached champion (`<cache>/champion.json`, written atomically) and only then
swapped in: one reference assignment, so a request in flight finishes with the model it
started with and the next one gets the new model. Nothing is ever unloaded: when the
registry is unreachable, has lost the alias, or offers a version that fails to load, the
current model keeps serving and the reason shows in `status()["last_error"]`.

On start the cached champion is loaded first, without MLflow, so a restart while the
registry is down still serves. MLflow (seconds to import) is touched only when a tracking
store exists: a SQLite tracking file that is absent means no model was ever trained here.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rapport.core.config import Settings
from rapport.core.errors import PreconditionFailed, Unavailable

log = logging.getLogger(__name__)

POINTER = "champion.json"
KEEP_VERSIONS = 3  # cached versions kept (the served one and the last ones before it)
RETRY_WITHOUT_MODEL_S = 5.0  # registry looks while nothing is served and it was unreachable
HOW_TO_TRAIN = "train and promote one: `rapport train engagement && rapport models promote`"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    alias: str
    run_id: str = ""
    feature_spec_version: str = ""
    trained_at: datetime | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    loaded_from: str = ""  # registry | cache
    loaded_at: datetime | None = None

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"


@dataclass(frozen=True)
class LoadedModel:
    """A scorer (see `rapport.models.engagement.scorer`) and what it is."""

    scorer: Any  # EngagementScorer: name, version, feature_spec, predict_proba, explain
    info: ModelInfo


class _Lookup:
    """Registry calls with a time limit: an HTTP tracking server that hangs (MLflow retries
    with back-off for minutes) must not keep `last_error` empty for that long. A call that
    outlives its limit keeps running; the next look at the same thing waits for it rather
    than queueing another behind it."""

    def __init__(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="registry")
        self._pending: tuple[str, concurrent.futures.Future] | None = None

    def call(self, what: str, fn: Callable[[], Any], timeout_s: float) -> Any:
        if self._pending is not None and not self._pending[1].done():
            if self._pending[0] != what:
                raise Unavailable("model registry: an earlier request is still unanswered")
            future = self._pending[1]
        else:
            future = self._pool.submit(fn)
            self._pending = (what, future)
        try:
            return future.result(timeout=timeout_s)
        except concurrent.futures.TimeoutError:
            raise Unavailable(f"model registry did not answer within {timeout_s:g}s") from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class ModelHolder:
    def __init__(
        self,
        settings: Settings,
        on_load: Callable[[LoadedModel], None],
        *,
        registry: Any = None,
    ) -> None:
        self._settings = settings
        self._on_load = on_load
        self._registry = registry  # rapport.models.engagement.registry.Registry, made lazily
        self._cache = Path(settings.engagement_cache)
        self._alias = settings.engagement_alias
        self._current: LoadedModel | None = None
        self._state = "starting"  # starting | ready | none | unavailable (registry down)
        self._why_none = ""
        self._registry_down = False
        self._last_refresh: datetime | None = None
        self._last_error = ""
        self._rejected: dict[str, str] = {}  # version -> why it will not be served
        self._lock = threading.Lock()  # one refresh at a time (poll thread, tests, RPCs)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lookup = _Lookup()
        self._thread = threading.Thread(target=self._run, name="engagement-model", daemon=True)

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._lookup.close()

    def poke(self) -> None:
        """Look at the registry now instead of at the next poll."""
        self._wake.set()

    # ----------------------------------------------------------------- reading
    def current(self) -> LoadedModel | None:
        return self._current

    def require(self) -> LoadedModel:
        """The served model, or why there is none (UNAVAILABLE while it may still come)."""
        model = self._current
        if model is not None:
            return model
        if self._state == "starting":
            raise Unavailable("the engagement model is loading; retry shortly")
        if self._registry_down:
            raise Unavailable(
                f"no engagement model is cached here and {self._why_none}; retry when the "
                f"model registry is back, or {HOW_TO_TRAIN}"
            )
        raise PreconditionFailed(
            f"no engagement model is available ({self._why_none}): {HOW_TO_TRAIN}"
        )

    def status(self) -> dict:
        return {
            "state": self._state,
            "message": "" if self._current is not None else self._why_none,
            "model": self._current,
            "alias": self._alias,
            "last_refresh": self._last_refresh,
            "last_error": self._last_error,
            "tracking_uri": _redact(self._settings.effective_mlflow_uri),
        }

    # ----------------------------------------------------------------- the thread
    def _run(self) -> None:
        self.load_cached()
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # never let the poller die; say why in status
                log.exception("engagement model refresh failed")
                self._last_error = f"{type(exc).__name__}: {exc}"
            interval = self._settings.engagement_poll_interval_s
            if self._current is None and self._registry_down:  # nothing served: retry soon
                interval = min(interval, RETRY_WITHOUT_MODEL_S)
            self._wake.wait(interval)
            self._wake.clear()

    def load_cached(self) -> bool:
        """Serve the last champion this machine downloaded, if any (no registry needed)."""
        pointer = self._cache / POINTER
        if self._current is not None or not pointer.exists():
            return False
        try:
            meta = json.loads(pointer.read_text())
            model = self._load(self._cache / str(meta["version"]), "cache")
        except Exception as exc:
            log.warning("cannot load the cached engagement model: %s", exc)
            self._last_error = f"cached model unusable: {exc}"
            return False
        self._install(model)
        log.info("serving cached engagement model %s", model.info.label)
        return True

    def refresh(self) -> bool:
        """One look at the registry; True when a new version was installed."""
        with self._lock:
            return self._refresh()

    def _refresh(self) -> bool:
        missing = _missing_sqlite_store(self._settings.effective_mlflow_uri)
        if missing is not None:
            self._mark_unreachable(f"there is no model registry at {missing}", down=False)
            return False
        from rapport.models.engagement.registry import MODEL_NAME

        _import_mlflow()  # seconds the first time: not the registry's time to answer
        timeout = self._settings.engagement_registry_timeout_s
        registry = self._registry_client()
        try:
            found = self._lookup.call(
                "alias", lambda: registry.resolve_alias(MODEL_NAME, self._alias), timeout
            )
        except Unavailable as exc:  # RegistryUnavailable is one
            self._mark_unreachable(str(exc), down=True)
            return False
        self._last_refresh = datetime.now(UTC)
        self._registry_down = False
        current = self._current
        if found is None:
            why = f"the registry has no version of {MODEL_NAME} with alias {self._alias!r}"
            self._mark_unreachable(why, down=False)
            return False
        if current is not None and current.info.version == found.version:
            self._last_error = ""
            return False
        if found.version in self._rejected:
            self._last_error = self._rejected[found.version]
            if current is None:
                self._state, self._why_none = "none", self._rejected[found.version]
            return False
        try:
            model = self._fetch(registry, found, timeout)
        except Unavailable as exc:
            self._mark_unreachable(str(exc), down=True)
            return False
        except Exception as exc:  # refused or unreadable: never retried for this version
            why = f"version {found.version} of {MODEL_NAME} is not served: {exc}"
            log.error("%s", why)
            self._rejected[found.version] = why
            self._last_error = why
            if current is None:
                self._state, self._why_none = "none", why
            return False
        self._install(model)
        self._write_pointer(model)
        self._prune()
        self._last_error = ""
        log.info(
            "serving engagement model %s (was %s)",
            model.info.label,
            current.info.label if current else "none",
        )
        return True

    # ----------------------------------------------------------------- helpers
    def _registry_client(self):
        if self._registry is None:
            from rapport.models.engagement.registry import Registry

            self._registry = Registry(self._settings)
        return self._registry

    def _mark_unreachable(self, why: str, *, down: bool) -> None:
        current = self._current
        if current is not None:
            self._last_error = f"{why}; still serving {current.info.label}"
        else:
            self._last_error = why if down else ""
            self._state, self._why_none = ("unavailable" if down else "none"), why
        self._registry_down = down

    def _fetch(self, registry, found, timeout: float) -> LoadedModel:
        """Download (unless cached already), load and check one version."""
        if not found.spec_matches:
            from rapport.models.engagement.registry import ModelRejected

            raise ModelRejected(
                f"it was trained on feature spec {found.tags.get('feature_spec_version', '?')} "
                f"({found.spec_hash or 'no hash'}), not the one this service computes"
            )
        detailed = self._lookup.call(
            f"version {found.version}",
            lambda: registry.get_version(found.version, found.name, metrics=True),
            timeout,
        )
        target = self._cache / found.version
        cached = target.exists()
        registry.download_version(detailed, target, found.name)  # no-op when complete
        try:
            return self._load(target, "registry")
        except Exception:
            if not cached:
                raise
        # a damaged copy from before: download it afresh, once
        shutil.rmtree(target, ignore_errors=True)
        registry.download_version(detailed, target, found.name)
        return self._load(target, "registry")

    def _load(self, path: Path, source: str) -> LoadedModel:
        from rapport.models.engagement.registry import REGISTERED_FILE, load_scorer

        scorer = load_scorer(path)  # ModelRejected when its feature spec is not ours
        meta_file = path / REGISTERED_FILE
        meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        trained = scorer.metadata.get("trained_at") or meta.get("created_at") or None
        info = ModelInfo(
            name=meta.get("name") or scorer.name,
            version=str(meta.get("version") or scorer.version or path.name),
            alias=self._alias,
            run_id=meta.get("run_id", ""),
            feature_spec_version=scorer.feature_spec.version,
            trained_at=_parse_time(trained),
            metrics={k: float(v) for k, v in (meta.get("metrics") or {}).items()},
            loaded_from=source,
            loaded_at=datetime.now(UTC),
        )
        return LoadedModel(scorer, info)

    def _install(self, model: LoadedModel) -> None:
        self._on_load(model)  # the keeper swaps its scores first: never a model without them
        self._current = model
        self._state, self._why_none = "ready", ""

    def _write_pointer(self, model: LoadedModel) -> None:
        self._cache.mkdir(parents=True, exist_ok=True)
        tmp = self._cache / f".{POINTER}.tmp"
        data = {
            "name": model.info.name,
            "version": model.info.version,
            "alias": self._alias,
            "installed_at": datetime.now(UTC).isoformat(),
        }
        with tmp.open("w") as fh:
            json.dump(data, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._cache / POINTER)

    def _prune(self) -> None:
        """Keep the newest few cached versions (a rollback then needs no download)."""
        versions = sorted(
            (p for p in self._cache.iterdir() if p.is_dir() and p.name.isdigit()),
            key=lambda p: int(p.name),
            reverse=True,
        )
        serving = self._current.info.version if self._current else ""
        for old in versions[KEEP_VERSIONS:]:
            if old.name != serving:
                shutil.rmtree(old, ignore_errors=True)


def _import_mlflow() -> None:
    import mlflow  # noqa: F401


def _missing_sqlite_store(uri: str) -> str | None:
    """The path of a SQLite tracking store that does not exist (None otherwise). Opening
    one would create it, running every MLflow migration: seconds, to learn nothing."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    path = uri[len(prefix) :]
    return None if path in ("", ":memory:") or Path(path).exists() else path


def _parse_time(value) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _redact(uri: str) -> str:
    """A tracking URI without its password."""
    if "@" not in uri or "://" not in uri:
        return uri
    scheme, rest = uri.split("://", 1)
    creds, host = rest.split("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else uri
