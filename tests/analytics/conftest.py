"""Fixtures for the analytics tests; the data they load is in analytics_data.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from analytics_data import NOW, load_known

from rapport.core.config import Settings


@pytest.fixture
def settings(settings) -> Settings:
    """The shared settings, with no ledger grace (rows written by a test are counted at
    once) and no background refresh (tests refresh explicitly or through a report)."""
    return settings.model_copy(
        update={"analytics_ledger_grace_s": 0.0, "analytics_refresh_interval_s": 0.0}
    )


@pytest.fixture
def analytics_server(settings):
    """A real gRPC server on port 0 with CandidateService and AnalyticsService."""
    from rapport.services.app import start
    from rapport.services.common.server import graceful_stop

    srv, port, health, database, specs = start(settings, services="candidates,analytics", port=0)
    yield f"127.0.0.1:{port}"
    graceful_stop(srv, health, 1.0)
    for spec in specs:
        if spec.on_shutdown:
            spec.on_shutdown()
    database.close()


@pytest.fixture
def known(db):
    return load_known(db)


@pytest.fixture
def seeded(db):
    """300 seeded people with histories up to NOW (rapport seed's generator)."""
    from rapport.core.seeding import generate_people
    from rapport.core.store import seed_loader

    seed_loader.load_people(db, generate_people(300, 11, now=NOW))
    return db


@pytest.fixture
def scorer(tiny_scorer):
    """A small real engagement scorer whose metadata says how it was trained."""
    model = tiny_scorer(0, version="7")
    model.metadata.update(
        {"horizon_days": 30, "holdout_cutoff": (NOW - timedelta(days=90)).isoformat()}
    )
    return model
