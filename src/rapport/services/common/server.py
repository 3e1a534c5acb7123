"""One gRPC server from a list of services: interceptors, health, reflection, shutdown.

Each service package exposes a `ServiceSpec`; `rapport serve` picks the specs it was asked
for, calls `build_server` and then `serve_forever`. Tests call `build_server` on port 0 and
`graceful_stop` (or `server.stop(None)`) when done.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from rapport.core.config import Settings
from rapport.services.common.auth import Authorizer
from rapport.services.common.interceptors import CallInterceptor

_LOG = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # the default of settings.max_message_bytes
_SIGNAL_POLL_S = 0.1

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class DrainingHealthServicer(health.HealthServicer):
    """grpc's health servicer that can also end its open Watch streams.

    Clients doing client-side health checking keep a Watch open for the life of the
    channel; left open, it holds every graceful shutdown for the whole grace period.
    """

    def end_watches(self) -> None:
        """Closes every Watch stream (after their last update, NOT_SERVING at shutdown)."""
        with self._lock:  # grpc's own lock and registry: pinned grpcio, covered by a test
            callbacks = [cb for cbs in self._send_response_callbacks.values() for cb in cbs]
        for send_response in callbacks:
            send_response(None)  # None ends the stream with OK; the watcher re-resolves


@dataclass
class ServiceSpec:
    """What a service package hands to the server.

    name: full proto service name, e.g. "rapport.v1.CandidateService" (health and
        reflection report it). register: adds the servicer, e.g.
        `lambda s: add_CandidateServiceServicer_to_server(servicer, s)`.
    on_shutdown: releases what the service holds (pools, index writers) after the drain.
    deadlines: RPC name -> seconds allowed when the client sets no deadline, for RPCs the
        server default (settings.default_deadline_s) does not suit, e.g. {"WatchChanges": 3600}.
    """

    name: str
    register: Callable[[grpc.Server], None]
    on_shutdown: Callable[[], None] | None = None
    deadlines: Mapping[str, float] = field(default_factory=dict)


def build_server(
    settings: Settings,
    specs: list[ServiceSpec],
    *,
    port: int | None = None,
    authorizer: Authorizer | None = None,
) -> tuple[grpc.Server, int, DrainingHealthServicer]:
    """A started server for `specs`, listening on settings.host, with every service SERVING.

    `port` overrides settings.port; 0 picks a free port. Returns (server, bound port, health).
    The server is already started: do not call `start()` again. With settings.auth_enabled
    an `authorizer` is required (no server runs open by accident); TLS (mutual TLS with
    tls_client_ca_file) when settings.tls_cert_file and tls_key_file are set.
    """
    if settings.auth_enabled and authorizer is None:
        raise ValueError("auth_enabled needs an authorizer (or set RAPPORT_AUTH_ENABLED=false)")
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"a service is listed twice: {names}")
    deadlines = {
        f"/{spec.name}/{rpc}": seconds for spec in specs for rpc, seconds in spec.deadlines.items()
    }
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="rpc"),
        interceptors=[
            CallInterceptor(
                settings.default_deadline_s,
                deadlines,
                authorizer=authorizer if settings.auth_enabled else None,
            )
        ],
        options=[
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
            # A second `rapport serve` on the same port must fail, not silently share it.
            ("grpc.so_reuseport", 0),
        ],
    )
    for spec in specs:
        spec.register(server)
    health_servicer = DrainingHealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )

    address = f"{settings.host}:{settings.port if port is None else port}"
    try:
        credentials = server_credentials(settings)
        if credentials is None:
            bound = server.add_insecure_port(address)
        else:
            bound = server.add_secure_port(address, credentials)
    except RuntimeError as exc:  # grpc raises on a failed bind
        raise OSError(f"cannot listen on {address}: is another server using it?") from exc
    for name in (health.OVERALL_HEALTH, *names):
        health_servicer.set(name, _NOT_SERVING)
    server.start()
    for name in (health.OVERALL_HEALTH, *names):
        health_servicer.set(name, _SERVING)
    _LOG.info("serving %s on %s:%d", ", ".join(names) or "no services", settings.host, bound)
    return server, bound, health_servicer


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials from settings, or None for plaintext (no certificate configured)."""
    if not settings.tls_cert_file and not settings.tls_key_file:
        if settings.tls_client_ca_file:
            raise ValueError("tls_client_ca_file needs tls_cert_file and tls_key_file")
        return None
    if not (settings.tls_cert_file and settings.tls_key_file):
        raise ValueError("TLS needs both tls_cert_file and tls_key_file")
    pair = (settings.tls_key_file.read_bytes(), settings.tls_cert_file.read_bytes())
    client_ca = settings.tls_client_ca_file.read_bytes() if settings.tls_client_ca_file else None
    return grpc.ssl_server_credentials(
        [pair], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def graceful_stop(
    server: grpc.Server, health_servicer: health.HealthServicer, grace_s: float
) -> None:
    """Reports NOT_SERVING, refuses new calls, and waits up to `grace_s` for in-flight ones.

    Health goes first so that load balancers stop routing here; health Watch streams are
    ended only once new calls are refused (else their clients would open new ones); calls
    still running when the grace period ends are cancelled.
    """
    health_servicer.enter_graceful_shutdown()
    stopped = server.stop(grace_s)
    if isinstance(health_servicer, DrainingHealthServicer):
        health_servicer.end_watches()
    stopped.wait()


def serve_forever(
    server: grpc.Server,
    health_servicer: health.HealthServicer,
    specs: list[ServiceSpec],
    grace_s: float,
) -> None:
    """Serves until SIGTERM or SIGINT, then drains (`graceful_stop`) and shuts services down.

    Must run in the main thread (Python delivers signals only there). A second signal does
    not cut the drain short: grace_s bounds it. The previous handlers are restored on return.
    """
    stop = threading.Event()
    received: list[int] = []

    def request_stop(signum: int, _frame: object) -> None:
        received.append(signum)  # log outside the handler: it may interrupt a log call
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        _LOG.info("serving until SIGTERM or SIGINT")
        # Timed waits: a signal that lands on one of grpc's threads only runs its Python
        # handler once the main thread executes bytecode again.
        while not stop.wait(_SIGNAL_POLL_S):
            pass
        _LOG.info(
            "received %s: draining in-flight calls for up to %gs",
            signal.Signals(received[0]).name,
            grace_s,
        )
        graceful_stop(server, health_servicer, grace_s)
        for spec in specs:
            if spec.on_shutdown is None:
                continue
            try:
                spec.on_shutdown()
            except Exception:  # one service failing to clean up must not skip the others
                _LOG.exception("shutdown of %s failed", spec.name)
        _LOG.info("stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
