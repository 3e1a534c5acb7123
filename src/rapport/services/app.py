"""Which services a process runs, wired to the store: `rapport serve` and tests use this."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable

from rapport.core.config import Settings
from rapport.core.store.db import Database
from rapport.services.common.logging_setup import configure_logging
from rapport.services.common.server import ServiceSpec, build_server, serve_forever

log = logging.getLogger(__name__)


def _candidates(settings: Settings, db: Database) -> ServiceSpec:
    from rapport.services.candidates.servicer import SERVICE_NAME, CandidateServicer, add_to_server
    from rapport.services.candidates.use_cases import CandidateUseCases

    use_cases = CandidateUseCases(db, settings)
    servicer = CandidateServicer(use_cases)
    return ServiceSpec(
        SERVICE_NAME,
        lambda server: add_to_server(servicer, server),
        on_shutdown=use_cases.close,
        deadlines={"ImportCandidates": 3600.0, "WatchChanges": 7 * 86400.0},
    )


def _matching(settings: Settings, db: Database) -> ServiceSpec:
    from rapport.models.runtime import weights_from
    from rapport.services.matching.index_keeper import build_keeper
    from rapport.services.matching.servicer import SERVICE_NAME, MatchingServicer, add_to_server
    from rapport.services.matching.use_cases import MatchingUseCases

    keeper = build_keeper(settings, db)
    servicer = MatchingServicer(MatchingUseCases(db, keeper, weights_from(settings)))
    keeper.start()
    return ServiceSpec(
        SERVICE_NAME,
        lambda server: add_to_server(servicer, server),
        on_shutdown=keeper.close,
    )


FACTORIES: dict[str, Callable[[Settings, Database], ServiceSpec]] = {
    "candidates": _candidates,
    "matching": _matching,
}


def build_specs(settings: Settings, db: Database, services: str = "all") -> list[ServiceSpec]:
    names = (
        list(FACTORIES)
        if services.strip() in ("", "all")
        else [s.strip() for s in services.split(",") if s.strip()]
    )
    unknown = [n for n in names if n not in FACTORIES]
    if unknown:
        raise ValueError(f"unknown service(s) {', '.join(unknown)}; known: {', '.join(FACTORIES)}")
    return [FACTORIES[n](settings, db) for n in names]


def start(settings: Settings, *, services: str = "all", port: int | None = None):
    """Open the store and start a server. Returns (server, port, health, db)."""
    db = Database(settings.effective_database_url)
    specs = build_specs(settings, db, services)
    server, bound, health = build_server(settings, specs, port=port)
    return server, bound, health, db, specs


def run(settings: Settings, *, services: str = "all", port: int | None = None) -> None:
    configure_logging(settings.log_level, settings.log_json)
    server, bound, health, db, specs = start(settings, services=services, port=port)
    # Everything loaded so far lives as long as the process: keep it out of the cyclic
    # collector's scans, which otherwise cost bulk imports about a fifth of their time.
    # And collect the young generation after 50,000 net allocations instead of 700: an
    # import batch's records (tens of thousands of objects, no cycles) were traversed by
    # a hundred collections per 30,000 records, 5-10% of the writing thread's time.
    gc.freeze()
    gc.set_threshold(50_000)
    print(f"rapport listening on {settings.host}:{bound}", flush=True)
    try:
        serve_forever(server, health, specs, settings.shutdown_grace_s)
    finally:
        db.close()


__all__ = ["build_specs", "run", "start"]
