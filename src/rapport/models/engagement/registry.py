"""MLflow tracking and model registry for engagement models (DESIGN §7).

Training logs runs and registers versions of `rapport-engagement`; promotion moves the
`challenger` and `champion` aliases; serving needs only three calls, kept stable:

    registry = Registry(settings)
    info = registry.resolve_alias(MODEL_NAME, CHAMPION)   # ModelVersionInfo | None
    path = registry.download_version(info, cache_dir / info.version)
    scorer = load_scorer(path)                            # no MLflow needed

`resolve_alias` returns None when the model or alias does not exist and raises
`RegistryUnavailable` when the tracking store cannot be reached, so a service can keep
serving what it has. `load_scorer` refuses (`ModelRejected`) a model whose feature spec is
not the one this code computes.

The tracking URI is `Settings.effective_mlflow_uri` (default `sqlite:///<home>/mlflow.db`).
For a local store (SQLite, PostgreSQL, files) artefacts go to `<home>/mlartifacts`, set on
the experiment, so nothing lands in a `./mlruns` of whatever directory a command ran in; an
HTTP tracking server keeps its own artefact store. MLflow is imported lazily: it costs
seconds, and `rapport.models.engagement.features` must stay cheap to import.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from rapport.core.errors import NotFound, PreconditionFailed, Unavailable
from rapport.models.engagement.features import FEATURE_SPEC, FeatureSpec, SpecMismatch
from rapport.models.engagement.scorer import EngagementScorer

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "EXPERIMENT",
    "MODEL_NAME",
    "ModelRejected",
    "ModelVersionInfo",
    "Registry",
    "RegistryUnavailable",
    "load_scorer",
]

MODEL_NAME = "rapport-engagement"
EXPERIMENT = "rapport-engagement"
CHAMPION = "champion"
CHALLENGER = "challenger"
SCORER_FILE = "scorer.pkl"
SPEC_FILE = "feature_spec.json"
REGISTERED_FILE = "registered.json"  # written by download_version beside the model files
_REMOTE_SCHEMES = ("http://", "https://", "databricks")

log = logging.getLogger(__name__)


class RegistryUnavailable(Unavailable):
    """The tracking store could not be reached; retry later, keep serving what you have."""


class ModelRejected(PreconditionFailed):
    """A registered model that this code must not serve (its feature spec differs)."""


@dataclass(frozen=True)
class ModelVersionInfo:
    name: str
    version: str
    aliases: tuple[str, ...] = ()
    run_id: str = ""
    source: str = ""
    created_at: datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)  # of its training run

    @property
    def spec_hash(self) -> str:
        return self.tags.get("feature_spec_hash", "")

    @property
    def spec_matches(self) -> bool:
        return self.spec_hash == FEATURE_SPEC.fingerprint()

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "aliases": list(self.aliases),
            "run_id": self.run_id,
            "source": self.source,
            "created_at": self.created_at.isoformat() if self.created_at else "",
            "tags": dict(self.tags),
            "metrics": dict(self.metrics),
        }


def _mlflow():
    """Import MLflow once, quiet and offline (no telemetry, no progress bars)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    return mlflow


def _not_found(err) -> bool:
    code = getattr(err, "error_code", "")
    text = str(err)
    return code == "RESOURCE_DOES_NOT_EXIST" or (
        code == "INVALID_PARAMETER_VALUE" and "alias" in text and "not found" in text
    )


@contextlib.contextmanager
def _guard(what: str) -> Iterator[None]:
    """MLflow and transport failures become RegistryUnavailable (missing things do not)."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as err:
        if _not_found(err):
            raise
        raise RegistryUnavailable(f"model registry: {what} failed: {err}") from err
    except (OSError, ConnectionError) as err:
        raise RegistryUnavailable(f"model registry: {what} failed: {err}") from err
    except Exception as err:  # SQLAlchemy errors of a SQLite/PostgreSQL tracking store
        if type(err).__module__.startswith(("sqlalchemy", "requests", "urllib3")):
            raise RegistryUnavailable(f"model registry: {what} failed: {err}") from err
        raise


def _info(mv, metrics: Mapping[str, float] | None = None) -> ModelVersionInfo:
    created = (
        datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC)
        if getattr(mv, "creation_timestamp", None)
        else None
    )
    return ModelVersionInfo(
        name=mv.name,
        version=str(mv.version),
        aliases=tuple(sorted(getattr(mv, "aliases", None) or ())),
        run_id=mv.run_id or "",
        source=mv.source or "",
        created_at=created,
        tags=dict(mv.tags or {}),
        metrics=dict(metrics or {}),
    )


def _requirements() -> list[str]:
    """Pinned requirements of the pyfunc (rapport itself must be installed to unpickle)."""
    out = []
    for dist in ("mlflow", "scikit-learn", "pandas", "numpy"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out.append(f"{dist}=={metadata.version(dist)}")
    return out


class Registry:
    """One tracking store: experiments, runs, registered versions and their aliases."""

    def __init__(self, settings) -> None:
        self.uri = settings.effective_mlflow_uri
        self.home = Path(settings.home)

    @property
    def artifact_location(self) -> str | None:
        """Where a new experiment keeps artefacts: under home for local stores; an HTTP
        tracking server decides for itself."""
        if self.uri.startswith(_REMOTE_SCHEMES):
            return None
        return (self.home / "mlartifacts").resolve().as_uri()

    @cached_property
    def client(self):
        mlflow = _mlflow()
        if not self.uri.startswith(_REMOTE_SCHEMES):
            self.home.mkdir(parents=True, exist_ok=True)
        with _guard("connect"), _quiet_mlflow():  # "Creating initial MLflow database tables"
            client = mlflow.MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
            client.search_experiments(max_results=1)  # creates a new SQLite store's tables now
        return client

    # -- runs ----------------------------------------------------------------------------
    def experiment_id(self, name: str = EXPERIMENT) -> str:
        with _guard("experiment"):
            found = self.client.get_experiment_by_name(name)
            if found is not None:
                return found.experiment_id
            return self.client.create_experiment(name, artifact_location=self.artifact_location)

    @contextlib.contextmanager
    def start_run(self, experiment: str = EXPERIMENT, run_name: str | None = None):
        """An active MLflow run in this store (mlflow.log_* calls inside go to it)."""
        mlflow = _mlflow()
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        experiment_id = self.experiment_id(experiment)
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
            yield run

    def log_model(self, scorer: EngagementScorer, input_example: pd.DataFrame) -> str:
        """Log `scorer` as a pyfunc model of the active run; returns its model URI."""
        mlflow = _mlflow()
        from mlflow.models import infer_signature

        with _quiet_mlflow():  # MLflow advises type hints when the class is defined
            from rapport.models.engagement.pyfunc import EngagementPyfunc

        spec = scorer.feature_spec
        example = spec.conform(input_example).head(5)
        signature = infer_signature(example, np.asarray(scorer.predict_proba(example)))
        _check_signature(signature, spec)
        with tempfile.TemporaryDirectory() as tmp:
            scorer_path = scorer.save(Path(tmp) / SCORER_FILE)
            spec_path = Path(tmp) / SPEC_FILE
            spec_path.write_text(json.dumps(spec.to_dict(), indent=2))
            with _quiet_mlflow():
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=EngagementPyfunc(),
                    artifacts={"scorer": str(scorer_path), "feature_spec": str(spec_path)},
                    signature=signature,
                    input_example=example,
                    pip_requirements=_requirements(),
                )
        return info.model_uri

    # -- versions and aliases ------------------------------------------------------------
    def register(
        self,
        model_uri: str,
        spec: FeatureSpec,
        *,
        name: str = MODEL_NAME,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersionInfo:
        """A new version of `name`, tagged with its feature spec. `rapport-engagement` only
        takes models of `FEATURE_SPEC` (what serving computes)."""
        if name == MODEL_NAME:
            try:
                FEATURE_SPEC.ensure_same(spec)
            except SpecMismatch as err:
                raise ModelRejected(str(err)) from err
        all_tags = {
            "feature_spec_version": spec.version,
            "feature_spec_hash": spec.fingerprint(),
            **{k: str(v) for k, v in (tags or {}).items()},
        }
        mlflow = _mlflow()
        with _guard("register"), _quiet_mlflow():
            mlflow.set_registry_uri(self.uri)
            with contextlib.suppress(Exception):
                self.client.create_registered_model(
                    name, description="Calibrated probability of a response (DESIGN §7)."
                )
            mv = self.client.create_model_version(
                name, model_uri, run_id=_run_of(self.client, model_uri), tags=all_tags
            )
        return _info(mv)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        with _guard("set alias"):
            self.client.set_registered_model_alias(name, alias, str(version))

    def delete_alias(self, name: str, alias: str) -> None:
        with _guard("delete alias"), contextlib.suppress(Exception):
            self.client.delete_registered_model_alias(name, alias)

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        with _guard("tag version"):
            self.client.set_model_version_tag(name, str(version), key, value)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        with _guard("tag model"):
            self.client.set_registered_model_tag(name, key, value)

    def model_tags(self, name: str = MODEL_NAME) -> dict[str, str]:
        from mlflow.exceptions import MlflowException

        with _guard("read model"):
            try:
                return dict(self.client.get_registered_model(name).tags or {})
            except MlflowException as err:
                if _not_found(err):
                    return {}
                raise

    def get_version(self, version: str, name: str = MODEL_NAME, metrics: bool = False):
        from mlflow.exceptions import MlflowException

        with _guard("read version"):
            try:
                mv = self.client.get_model_version(name, str(version))
            except MlflowException as err:
                if _not_found(err):
                    raise NotFound("model version", f"{name}/{version}") from None
                raise
            return _info(mv, self._run_metrics(mv.run_id) if metrics else None)

    def list_versions(self, name: str = MODEL_NAME, metrics: bool = True):
        """Every version of `name`, newest first, with aliases and its run's metrics."""
        from mlflow.exceptions import MlflowException

        with _guard("list versions"):
            found = self.client.search_model_versions(f"name = '{name}'")
            aliases: dict[str, list[str]] = {}
            try:  # search results do not carry aliases on every store: ask the model
                model = self.client.get_registered_model(name)
                for alias, version in (model.aliases or {}).items():
                    aliases.setdefault(str(version), []).append(alias)
            except MlflowException as err:
                if not _not_found(err):
                    raise
            infos = [
                replace(
                    _info(mv, self._run_metrics(mv.run_id) if metrics else None),
                    aliases=tuple(sorted(aliases.get(str(mv.version), ()))),
                )
                for mv in found
            ]
        return sorted(infos, key=lambda i: -int(i.version))

    def resolve_alias(self, name: str = MODEL_NAME, alias: str = CHAMPION):
        """The version `alias` points at, or None when the model or alias does not exist.
        Raises RegistryUnavailable when the store cannot be reached."""
        from mlflow.exceptions import MlflowException

        with _guard("resolve alias"):
            try:
                mv = self.client.get_model_version_by_alias(name, alias)
            except MlflowException as err:
                if _not_found(err):
                    return None
                raise
        return _info(mv)

    def download_version(
        self, version: ModelVersionInfo | str, dest_dir: Path, name: str = MODEL_NAME
    ) -> Path:
        """The model files of a version in `dest_dir` (created; filled atomically: a
        half-finished download is never left under that name). Returns `dest_dir`."""
        if isinstance(version, ModelVersionInfo):
            info = version
        else:
            info = self.get_version(str(version), name)
        dest = Path(dest_dir)
        if (dest / REGISTERED_FILE).exists():
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
        try:
            with _guard("download"), _quiet_mlflow():
                self._artifacts(info).download_artifacts("", str(tmp))
            meta = info.to_dict() | {"downloaded_at": datetime.now(UTC).isoformat()}
            (tmp / REGISTERED_FILE).write_text(json.dumps(meta, indent=2))
            if dest.exists():
                shutil.rmtree(dest)
            tmp.replace(dest)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return dest

    def load_version(
        self, version: ModelVersionInfo | str, name: str = MODEL_NAME, spec=FEATURE_SPEC
    ) -> EngagementScorer:
        """Download a version to a temporary directory and load its scorer."""
        with tempfile.TemporaryDirectory() as tmp:
            path = self.download_version(version, Path(tmp) / "model", name)
            return load_scorer(path, spec)

    def _artifacts(self, info: ModelVersionInfo):
        """The artefact repository of a version's model files. Resolved here rather than
        through a `models:/name/version` URI, which MLflow resolves against its process-
        global registry URI instead of this store's."""
        from mlflow.exceptions import MlflowException
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        source = info.source
        if not source:
            source = self.client.get_model_version(info.name, info.version).source
        try:
            if source.startswith("models:/"):
                location = self.client.get_logged_model(
                    source.removeprefix("models:/").split("/")[0]
                ).artifact_location
            elif source.startswith("runs:/"):
                run_id, _, path = source.removeprefix("runs:/").partition("/")
                location = self.client.get_run(run_id).info.artifact_uri.rstrip("/") + "/" + path
            else:
                location = source
        except MlflowException as err:
            if _not_found(err):
                raise NotFound("model version", f"{info.name}/{info.version}") from err
            raise
        return get_artifact_repository(location, tracking_uri=self.uri, registry_uri=self.uri)

    def _run_metrics(self, run_id: str | None) -> dict[str, float]:
        if not run_id:
            return {}
        from mlflow.exceptions import MlflowException

        try:
            return dict(self.client.get_run(run_id).data.metrics)
        except MlflowException as err:
            if _not_found(err):
                return {}
            raise


def load_scorer(path: Path, expected_spec: FeatureSpec | None = FEATURE_SPEC) -> EngagementScorer:
    """The scorer in a model directory (as `download_version` leaves it, or an MLflow model
    directory) or a scorer pickle; name and version from `registered.json` when present.
    Refuses (ModelRejected) a scorer whose feature spec is not `expected_spec`."""
    path = Path(path)
    if path.is_dir():
        candidates = [path / "artifacts" / SCORER_FILE, path / SCORER_FILE]
        file = next((p for p in candidates if p.exists()), None)
        if file is None:
            raise NotFound("engagement model", str(path))
    elif path.exists():
        file = path
    else:
        raise NotFound("engagement model", str(path))
    scorer = EngagementScorer.load(file)
    if expected_spec is not None:
        try:
            expected_spec.ensure_same(scorer.feature_spec)
        except SpecMismatch as err:
            raise ModelRejected(str(err)) from err
    meta_file = (path if path.is_dir() else path.parent) / REGISTERED_FILE
    if meta_file.exists():
        meta = json.loads(meta_file.read_text())
        scorer.name = meta.get("name", scorer.name)
        scorer.version = str(meta.get("version", scorer.version))
    return scorer


def _check_signature(signature, spec: FeatureSpec) -> None:
    names = [c.name for c in signature.inputs.inputs]
    if tuple(names) != spec.names:
        raise ModelRejected(
            f"model signature columns {names} do not match feature spec {spec.version}"
        )


def _run_of(client, model_uri: str) -> str | None:
    """The run a logged model belongs to (MLflow 3 model URIs name the model, not the run)."""
    if model_uri.startswith("runs:/"):
        return model_uri.split("/")[1]
    if model_uri.startswith("models:/m-"):
        with contextlib.suppress(Exception):
            return client.get_logged_model(model_uri.removeprefix("models:/")).source_run_id
    return None


@contextlib.contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """MLflow logs INFO lines and warnings a CLI user cannot act on (cloudpickle notice,
    type-hint advice); keep them out of our output."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
