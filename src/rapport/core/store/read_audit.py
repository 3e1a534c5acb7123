"""The audit of bulk reads (lists, pool pages, segment previews, rankings), written in
batches off the request path.

Every read of personal data is audited (DESIGN §9, issue 7). A single-person read
(GetCandidate, ListTimeline) writes its row in its own transaction; a page of 50 or a
ranking of 100 people would turn every list call into a write transaction, which on SQLite
queues behind the import writer and shows in the list latency. So a bulk read notes
`audit.pending(...)` here, with who and when captured at the call, and one thread appends
what has gathered every `interval` seconds in one transaction (one claim on the chain head
for the whole batch). `close()` (the Database's) writes what is left.

What this costs in guarantees: a process killed with SIGKILL loses at most the last
`interval` of bulk-read rows. When the store cannot take them (it is down), notes pile up
to `max_pending` rows; past that the reading request writes the backlog itself and fails
if that fails, so reads are never served unaudited for long.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping

from rapport.core.store import audit

log = logging.getLogger(__name__)


class ReadAuditor:
    def __init__(self, db, *, interval: float = 0.2, max_pending: int = 100_000) -> None:
        self._db = db
        self._interval = interval
        self._max_pending = max_pending
        self._lock = threading.Lock()  # guards _pending and _rows
        self._write_lock = threading.Lock()  # one batch in flight: the chain stays in order
        self._pending: list[audit.Pending] = []
        self._rows = 0
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def note(
        self,
        action: str,
        target_ids: Iterable[str],
        *,
        target_type: str = "candidate",
        details: Mapping | None = None,
    ) -> None:
        """Audit a read of `target_ids` by the current caller (written within `interval`)."""
        entry = audit.pending(action, target_ids, target_type=target_type, details=details)
        if not entry.target_ids:
            return
        with self._lock:
            if self._closed:
                closed = True
            else:
                closed = False
                self._pending.append(entry)
                self._rows += len(entry.target_ids)
                backlog = self._rows >= self._max_pending
                self._start()
        if closed:  # after close (a late request while stopping): write it now
            self._write([entry])
        elif backlog:
            self.flush()  # raises if the store cannot take the backlog

    @property
    def backlog(self) -> int:
        """Rows noted and not written yet."""
        with self._lock:
            return self._rows

    def flush(self) -> int:
        """Write every row noted so far; returns how many were written."""
        with self._write_lock:
            with self._lock:
                batch, self._pending, self._rows = self._pending, [], 0
            try:
                return self._write(batch)
            except BaseException:
                with self._lock:  # kept, in order, for the next attempt
                    self._pending[:0] = batch
                    self._rows += sum(len(e.target_ids) for e in batch)
                raise

    def _write(self, batch: list[audit.Pending]) -> int:
        if not batch:
            return 0
        with self._db.transaction() as s:
            return audit.append(s, batch)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout=30)
        self.flush()

    def _start(self) -> None:  # caller holds _lock
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="read-audit", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            with self._lock:
                if self._closed:
                    return
            try:
                self.flush()
            except Exception:  # the store is away: kept, retried next round
                log.warning("bulk-read audit rows not written yet; retrying", exc_info=True)
