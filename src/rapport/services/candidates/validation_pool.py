"""Validation of import records in a worker process.

An import is CPU-bound in Python: validating a record (email, phone, country, skills...)
costs about as much as writing it. A worker process validates batch N+1 while the server
writes batch N, so a 2-core machine uses both cores. The pool is started on first use and
kept for the life of the service; small imports never wait for it.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from rapport.core import validation
from rapport.core.domain import CandidateDraft
from rapport.core.errors import ValidationFailed, Violation

log = logging.getLogger(__name__)

# a valid record: its draft and the draft's content hash (which the writer needs, and
# which costs less here than on the writer's thread); an invalid one: its violations
Outcome = tuple[CandidateDraft, str] | list[Violation]
_limits: validation.Limits | None = None
_resolver = None
_keys = None  # contact keys, when this worker can find the server's (see _worker_keys)


def _init(limits: validation.Limits) -> None:
    global _limits, _resolver, _keys
    from rapport.core.taxonomy import Taxonomy

    _limits, _resolver = limits, Taxonomy.bundled().resolve
    _keys = _worker_keys()
    gc.freeze()  # long-lived state stays out of the collector's scans
    gc.set_threshold(50_000)  # and a batch's drafts out of dozens of young collections


def _worker_keys():
    """The contact keys of this process's settings, so that the worker also seals each new
    record's contact details and hashes its identities (about a fifth of the writer's work
    per record otherwise). Only keys that are configured or already in the key file: a
    worker never creates a key file. The writer checks they are its own before using what
    the worker made (candidates._prepared); None: the writer does it all."""
    try:
        from rapport.core.config import Settings
        from rapport.core.crypto import KEY_FILE
        from rapport.core.store import sealing

        settings = Settings()
        configured = settings.encryption_keys.get_secret_value() and (
            settings.lookup_key.get_secret_value()
        )
        if not configured and not (settings.home / KEY_FILE).exists():
            return None
        return sealing.keys_from_settings(settings)
    except Exception:  # an optimisation only: the writer does the work
        log.warning("validation worker: no contact keys; the writer seals", exc_info=True)
        return None


def validate_all(
    records: Sequence[Mapping],
    default_region: str,
    default_source: str,
    limits: validation.Limits,
    resolver,
    keys=None,
) -> list[Outcome]:
    """`keys`: contact keys to seal and hash with here (the content hash is then a
    sealing.Prepared carrying both)."""
    if keys is not None:
        from rapport.core.store.candidates import identity_keys
        from rapport.core.store.sealing import prepare
    out: list[Outcome] = []
    for fields in records:
        try:
            draft = validation.build_draft(
                fields,
                default_region=default_region,
                default_source=default_source,
                skill_resolver=resolver,
                limits=limits,
            )
        except ValidationFailed as exc:
            out.append(list(exc.violations))
        else:
            digest = draft.content_hash()
            if keys is not None:
                contacts = (draft.emails, draft.phones, draft.profile_urls)
                digest = prepare(keys, digest, contacts, identity_keys(draft))
            out.append((draft, digest))
    return out


def _validate_in_worker(records, default_region: str, default_source: str) -> list[Outcome]:
    return validate_all(records, default_region, default_source, _limits, _resolver, _keys)


class ValidationPool:
    """One worker process (spawned, so no gRPC threads are forked) and a fallback in-process
    path for when the pool is disabled or broken."""

    def __init__(self, limits: validation.Limits, resolver, workers: int) -> None:
        from rapport.core.taxonomy import Taxonomy

        self._limits, self._resolver = limits, resolver
        # the worker resolves skills with the bundled taxonomy; any other resolver stays here
        self._workers = workers if resolver == Taxonomy.bundled().resolve else 0
        self._pool: ProcessPoolExecutor | None = None

    def submit(
        self,
        records: Sequence[Mapping],
        default_region: str,
        default_source: str,
        *,
        in_worker: bool = True,
    ) -> Future:
        """Validation of `records` as a future: in the worker process when asked and one is
        available, else done here before returning."""
        if in_worker and self._workers > 0:
            try:
                return self._executor().submit(
                    _validate_in_worker, list(records), default_region, default_source
                )
            except RuntimeError:  # broken or shut down: fall back to this process
                log.warning("validation worker unavailable; validating in-process")
                self._pool = None
        done: Future = Future()
        done.set_result(
            validate_all(records, default_region, default_source, self._limits, self._resolver)
        )
        return done

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init,
                initargs=(self._limits,),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
