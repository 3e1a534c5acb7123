"""Settings, read once from RAPPORT_* environment variables (the only place env is read)."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "RAPPORT_"


class Settings(BaseSettings):
    """Everything configurable about a Rapport process.

    Unknown keyword arguments and unknown RAPPORT_* variables are rejected, so a typo in a
    deployment fails loudly instead of silently using a default.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    home: Path = Path(".rapport")
    database_url: str = ""  # default: sqlite under home
    mlflow_uri: str = ""  # default: sqlite under home (used by later services)
    server: str = "127.0.0.1:50051"
    api_key: str = ""
    port: int = 50051
    host: str = "[::]"
    services: str = "all"
    max_workers: int = 16
    shutdown_grace_s: float = 10.0
    default_deadline_s: float = 30.0
    log_level: str = "INFO"
    log_json: bool = False
    eval_data: str = ""
    # Import and store limits.
    import_batch_size: int = 1000
    import_workers: int = 1  # processes validating import records beside the writer; 0: none
    max_text_field_chars: int = 20_000
    max_short_field_chars: int = 300
    max_import_record_bytes: int = 1_000_000
    # Matching (DESIGN §6).
    encoder: str = "onnx"  # fake | torch | onnx | onnx-int8
    encoder_threads: int = 0  # 0: every core
    index_dir: Path | None = None  # default: <home>/index
    model_cache_dir: Path | None = None  # default: <home>/models (ONNX exports, embeddings)
    index_ivf_threshold: int = 50_000  # vectors above which a rebuild trains an IVF index
    index_follow_interval_s: float = 0.25
    index_snapshot_interval_s: float = 60.0
    skill_map_threshold: float = 0.0  # 0: the mapper's own default
    match_weight_semantic: float = 0.40
    match_weight_skills: float = 0.40
    match_weight_seniority: float = 0.10
    match_weight_location: float = 0.10

    @model_validator(mode="after")
    def _reject_unknown_env(self) -> Settings:
        known = {ENV_PREFIX + name.upper() for name in type(self).model_fields}
        unknown = sorted(k for k in os.environ if k.startswith(ENV_PREFIX) and k not in known)
        if unknown:
            raise ValueError(f"unknown settings in the environment: {', '.join(unknown)}")
        return self

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'rapport.db').resolve()}"

    @cached_property
    def effective_index_dir(self) -> Path:
        return self.index_dir if self.index_dir is not None else self.home / "index"

    @cached_property
    def models_dir(self) -> Path:
        """Where derived model artefacts (ONNX exports, label embeddings) are cached."""
        return self.model_cache_dir if self.model_cache_dir is not None else self.home / "models"

    @cached_property
    def effective_mlflow_uri(self) -> str:
        if self.mlflow_uri:
            return self.mlflow_uri
        return f"sqlite:///{(self.home / 'mlflow.db').resolve()}"


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
