"""Which services a process runs, wired to the store: `rapport serve` and tests use this."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rapport.core.config import Settings
from rapport.core.store.db import Database
from rapport.services.common.auth import Authorizer
from rapport.services.common.logging_setup import configure_logging
from rapport.services.common.server import ServiceSpec, build_server, serve_forever
from rapport.services.engagement.source import EngagementSource

if TYPE_CHECKING:
    from rapport.services.matching.index_keeper import IndexKeeper

log = logging.getLogger(__name__)


@dataclass
class Peers:
    """What the services of one process share: matching blends engagement in-process when
    both run here (else it asks RAPPORT_ENGAGEMENT_SERVER, if set)."""

    engagement: EngagementSource | None = None
    # Content reuses matching's encoder and candidate vectors when both run here.
    matching_index: IndexKeeper | None = None
    # In-process caches keyed by candidate that an erasure clears at once (their feed
    # followers would within a second): engagement scores, content's person vectors.
    forget: list[Callable] = field(default_factory=list)


def _engagement_source(settings: Settings, peers: Peers) -> tuple[object, Callable[[], None]]:
    """The engagement scores a service blends in: in-process when EngagementService runs
    here, else over gRPC from RAPPORT_ENGAGEMENT_SERVER, else none; and what closes it
    (the remote's channel) when the service stops."""
    if peers.engagement is not None or not settings.engagement_server:
        return peers.engagement, lambda: None
    from rapport.services.engagement.source import RemoteEngagement

    remote = RemoteEngagement(settings.engagement_server, **peer_channel(settings))
    return remote, remote.close


def _in_turn(*steps: Callable[[], None]) -> Callable[[], None]:
    """One shutdown hook running `steps` in order."""

    def run() -> None:
        for step in steps:
            step()

    return run


def _candidates(settings: Settings, db: Database, peers: Peers) -> ServiceSpec:
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


def _engagement(settings: Settings, db: Database, peers: Peers) -> ServiceSpec:
    from rapport.services.engagement.assembly import build_engagement
    from rapport.services.engagement.servicer import (
        SERVICE_NAME,
        EngagementServicer,
        add_to_server,
    )

    engagement = build_engagement(settings, db)
    servicer = EngagementServicer(engagement.use_cases)
    engagement.start()
    peers.engagement = engagement.use_cases
    peers.forget.append(engagement.use_cases.forget)
    return ServiceSpec(
        SERVICE_NAME,
        lambda server: add_to_server(servicer, server),
        on_shutdown=engagement.close,
        deadlines={"ScoreCandidates": 3600.0},
    )


def _matching(settings: Settings, db: Database, peers: Peers) -> ServiceSpec:
    from rapport.models.runtime import weights_from
    from rapport.services.matching.index_keeper import build_keeper
    from rapport.services.matching.servicer import SERVICE_NAME, MatchingServicer, add_to_server
    from rapport.services.matching.use_cases import MatchingUseCases

    engagement, close_engagement = _engagement_source(settings, peers)
    keeper = build_keeper(settings, db)
    peers.matching_index = keeper
    servicer = MatchingServicer(
        MatchingUseCases(db, keeper, weights_from(settings), engagement=engagement)
    )
    keeper.start()
    return ServiceSpec(
        SERVICE_NAME,
        lambda server: add_to_server(servicer, server),
        on_shutdown=_in_turn(keeper.close, close_engagement),
    )


def _content(settings: Settings, db: Database, peers: Peers) -> ServiceSpec:
    from rapport.models.content_policy import ContentPolicy
    from rapport.models.encoders import load_encoder
    from rapport.services.content.library import EncoderHolder, Library, matching_vectors
    from rapport.services.content.servicer import SERVICE_NAME, ContentServicer, add_to_server
    from rapport.services.content.use_cases import ContentUseCases, policy_config

    keeper = peers.matching_index
    engagement, close_engagement = _engagement_source(settings, peers)
    encoders = EncoderHolder(
        load=lambda: load_encoder(
            settings.encoder, settings.models_dir, threads=settings.encoder_threads or None
        ),
        shared=(lambda: keeper.encoder) if keeper is not None else None,
    )
    library = Library(db, encoders, settings.content_refresh_interval_s)
    use_cases = ContentUseCases(
        db,
        settings,
        library,
        encoders,
        ContentPolicy(policy_config(settings), seed=settings.content_policy_seed),
        engagement=engagement,
        index_vectors=matching_vectors(keeper) if keeper is not None else None,
    )
    servicer = ContentServicer(use_cases)
    peers.forget.append(use_cases.forget)
    encoders.start()
    library.start()
    return ServiceSpec(
        SERVICE_NAME,
        lambda server: add_to_server(servicer, server),
        on_shutdown=_in_turn(use_cases.close, close_engagement),
    )


def _outreach(settings: Settings, db: Database, peers: Peers) -> ServiceSpec:
    from rapport.services.outreach.servicer import SERVICE_NAME, OutreachServicer, add_to_server
    from rapport.services.outreach.use_cases import OutreachUseCases

    servicer = OutreachServicer(OutreachUseCases(db, settings))
    return ServiceSpec(
        SERVICE_NAME,
        lambda server: add_to_server(servicer, server),
        deadlines={"Enrol": 300.0},  # a large segment is enrolled in one call
    )


def _analytics(settings: Settings, db: Database, peers: Peers) -> ServiceSpec:
    from rapport.services.analytics.servicer import (
        SERVICE_NAME,
        AnalyticsServicer,
        add_to_server,
    )
    from rapport.services.analytics.use_cases import AnalyticsUseCases

    # model fairness audits of the champion use the scores EngagementService serves here
    use_cases = AnalyticsUseCases(db, settings, engagement=peers.engagement)
    servicer = AnalyticsServicer(use_cases)
    use_cases.start()
    return ServiceSpec(
        SERVICE_NAME,
        lambda server: add_to_server(servicer, server),
        on_shutdown=use_cases.close,
        # the first report after a bulk load catches the send ledger up with the timeline
        deadlines={"CampaignReport": 600.0, "PoolReport": 600.0, "FairnessReport": 300.0},
    )


def _privacy(settings: Settings, db: Database, peers: Peers) -> ServiceSpec:
    from rapport.services.privacy.servicer import SERVICE_NAME, PrivacyServicer, add_to_server
    from rapport.services.privacy.use_cases import PrivacyUseCases

    engagement, close_engagement = _engagement_source(settings, peers)
    use_cases = PrivacyUseCases(db, settings, engagement=engagement, on_erased=peers.forget)
    servicer = PrivacyServicer(use_cases)
    use_cases.start()
    return ServiceSpec(
        SERVICE_NAME,
        lambda server: add_to_server(servicer, server),
        on_shutdown=_in_turn(use_cases.close, close_engagement),
        # an erasure deletes a person's whole history; a retention run anonymises many
        deadlines={"EraseCandidate": 120.0, "RunRetention": 3600.0, "VerifyAudit": 3600.0},
    )


def _selfservice(settings: Settings, db: Database, peers: Peers) -> ServiceSpec:
    from rapport.services.selfservice.servicer import (
        SERVICE_NAME,
        CandidatePortalServicer,
        add_to_server,
    )
    from rapport.services.selfservice.use_cases import SignInUseCases

    use_cases = SignInUseCases(db, settings)
    servicer = CandidatePortalServicer(use_cases)
    return ServiceSpec(
        SERVICE_NAME,
        lambda server: add_to_server(servicer, server),
        on_shutdown=use_cases.close,  # mails still queued go out first
    )


def _ats(settings: Settings, db: Database, peers: Peers) -> ServiceSpec:
    from rapport.services.ats.servicer import SERVICE_NAME, AtsServicer, add_to_server
    from rapport.services.ats.use_cases import AtsUseCases, build_adapter

    # no ATS and no outgoing web hooks configured: no worker thread, nothing to deliver
    use_cases = AtsUseCases(db, settings, build_adapter(settings))
    servicer = AtsServicer(use_cases)
    use_cases.start()
    return ServiceSpec(
        SERVICE_NAME,
        lambda server: add_to_server(servicer, server),
        on_shutdown=use_cases.close,
        deadlines={"SyncNow": 600.0},  # a first sync reads every application
    )


def _scheduling(settings: Settings, db: Database, peers: Peers) -> ServiceSpec:
    from rapport.services.scheduling.invites import InviteMailer
    from rapport.services.scheduling.servicer import (
        SERVICE_NAME,
        SchedulingServicer,
        add_to_server,
    )
    from rapport.services.scheduling.use_cases import SchedulingUseCases

    mailer = InviteMailer(settings) if settings.calendar_mail_invites else None
    use_cases = SchedulingUseCases(db, settings, mailer=mailer)
    servicer = SchedulingServicer(use_cases)
    return ServiceSpec(
        SERVICE_NAME,
        lambda server: add_to_server(servicer, server),
        on_shutdown=use_cases.close,  # invites still queued go out first
    )


def peer_channel(settings: Settings) -> dict:
    """How this process reaches a peer service: its own API key (RAPPORT_API_KEY, e.g. an
    outreach_engine or recruiter key) and the client TLS files."""
    return {
        "api_key": settings.api_key,
        "ca_file": settings.tls_ca_file,
        "cert_file": settings.tls_client_cert_file,
        "key_file": settings.tls_client_key_file,
    }


# In dependency order: a service's in-process peers are built before it.
FACTORIES: dict[str, Callable[[Settings, Database, Peers], ServiceSpec]] = {
    "candidates": _candidates,
    "engagement": _engagement,
    "matching": _matching,
    "content": _content,
    "outreach": _outreach,
    "analytics": _analytics,
    "privacy": _privacy,
    "scheduling": _scheduling,
    "ats": _ats,
    "selfservice": _selfservice,
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
    peers = Peers()
    return [FACTORIES[n](settings, db, peers) for n in FACTORIES if n in names]


def start(settings: Settings, *, services: str = "all", port: int | None = None):
    """Open the store and start a server. Returns (server, port, health, db)."""
    db = Database(settings.effective_database_url, settings=settings)
    specs = build_specs(settings, db, services)
    authorizer = Authorizer(db, settings) if settings.auth_enabled else None
    server, bound, health = build_server(settings, specs, port=port, authorizer=authorizer)
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
