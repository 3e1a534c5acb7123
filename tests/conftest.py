"""Shared fixtures. Every test owns its data: a fresh SQLite file, or a fresh PostgreSQL
schema when RAPPORT_DATABASE_URL points at PostgreSQL (the CI's second run)."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from rapport.core.config import Settings
from rapport.core.store import db as store_db

PG_URL = os.environ.get("RAPPORT_DATABASE_URL", "")
# Contact details are sealed at rest with keys from the settings. Every store and server of
# a test run uses these; subprocesses started with a clean RAPPORT_* environment and the
# test's RAPPORT_HOME find the same keys in that home's key file (the `settings` fixture
# writes it). Tests of the key file and of rotation pass their own.
TEST_ENCRYPTION_KEY = "Jm1VtSg4k1zqKpnGQmc8nDwrvQ8NOiVvMRWyLZxScGc="
TEST_LOOKUP_KEY = "rapport-tests-lookup-key-0123456789abcdef"
os.environ.setdefault("RAPPORT_ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY)
os.environ.setdefault("RAPPORT_LOOKUP_KEY", TEST_LOOKUP_KEY)
ON_POSTGRES = PG_URL.startswith("postgresql")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """Migrated once per session; each test copies it (Alembic is the only schema path)."""
    path = tmp_path_factory.mktemp("template") / "rapport.db"
    store_db.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(tmp_path, sqlite_template) -> str:
    if not ON_POSTGRES:
        path = tmp_path / "rapport.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    store_db.upgrade(rendered)
    yield rendered
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """Derived model files (skill-label embeddings of the fake encoder) shared by all tests."""
    return tmp_path_factory.mktemp("models")


def write_key_file(home: Path) -> None:
    """The test keys as `home`'s contact key file (rapport.core.crypto.KEY_FILE)."""
    from rapport.core.crypto import KEY_FILE

    path = home / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"sealing": [TEST_ENCRYPTION_KEY], "lookup": TEST_LOOKUP_KEY}))
    path.chmod(0o600)


@pytest.fixture
def settings(tmp_path, database_url, model_cache) -> Settings:
    write_key_file(tmp_path / "home")
    return Settings(
        home=tmp_path / "home",
        encoder="fake",
        model_cache_dir=model_cache,
        index_follow_interval_s=0.05,
        database_url=database_url,
        port=0,
        host="127.0.0.1",
        max_workers=8,
        shutdown_grace_s=2.0,
    )


@pytest.fixture
def db(settings):
    database = store_db.Database(settings.effective_database_url, settings=settings)
    yield database
    database.close()


@pytest.fixture
def make_key(settings):
    """`make_key(role, team=..., scopes=..., label=..., expires_at=...)` -> a new API key
    (plaintext token) in the test's database."""
    from auth_helpers import create_key

    def make(role: str = "admin", **kwargs) -> str:
        return create_key(settings.effective_database_url, role, **kwargs)

    return make


@pytest.fixture
def admin_key(make_key) -> str:
    return make_key("admin", label="test-admin")


@pytest.fixture
def server(settings, admin_key):
    """A real in-process gRPC server with every service, on a free port, with
    authentication on (the `channel` fixture and RAPPORT_API_KEY-less tests use `admin_key`)."""
    from auth_helpers import running

    with running(settings) as address:
        yield address


@pytest.fixture
def channel(server, admin_key):
    """A channel to `server` that sends the admin key on every call."""
    from auth_helpers import open_channel

    with open_channel(server, admin_key) as ch:
        yield ch


@pytest.fixture(scope="session")
def tiny_scorer():
    """Makes small but real `EngagementScorer`s (a HistGradientBoosting model fitted on
    synthetic rows of the real feature spec): they load, predict and explain like trained
    ones, in well under a second. `tiny_scorer(seed)`: a different seed, a different model."""
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier

    from rapport.models.engagement.features import FEATURE_SPEC
    from rapport.models.engagement.scorer import EngagementScorer

    def make(seed: int = 0, *, version: str = ""):
        rng = np.random.default_rng(seed)
        n = 400
        frame = pd.DataFrame({name: rng.exponential(5.0, n) for name in FEATURE_SPEC.numeric})
        values = {"source": ["referral", "linkedin", "agency"], "seniority": ["junior", "senior"]}
        for name in FEATURE_SPEC.categorical:
            frame[name] = rng.choice(values.get(name, ["a", "b", "unknown"]), n)
        signal = frame["replies_total"] - 0.2 * frame["days_since_last_contact"]
        signal += (frame["source"] == "referral") * 3.0 + rng.normal(0.0, 1.0 + seed, n)
        labels = (signal > np.median(signal)).astype(int)
        categories = EngagementScorer.learn_categories(frame, FEATURE_SPEC)
        x = EngagementScorer.encode(frame, FEATURE_SPEC, categories)
        model = HistGradientBoostingClassifier(max_iter=15, random_state=seed).fit(x, labels)
        return EngagementScorer(
            name="rapport-engagement",
            feature_spec=FEATURE_SPEC,
            estimator=model,
            categories=categories,
            reference=EngagementScorer.learn_reference(frame, FEATURE_SPEC),
            version=version,
            metadata={"trained_at": "2026-01-01T00:00:00+00:00", "seed": seed},
        )

    return make
