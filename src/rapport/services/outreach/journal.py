"""The delivery journal: how a restarted scheduler knows what a killed one had handed over.

Each running scheduler appends a line per stage of every message it delivers to its own
files, `journal-<worker>-<slot>.log` (one per batch in flight), and holds an exclusive
`flock` on them while it lives:

    S <send>        about to start the SMTP transaction (nothing written yet)
    P <send>        the message is written; the final "." is next
    D <send>        the final "." is written: the server will take the message
    A|T|X <send> <code> <unix time>   the server accepted it | refused it for now | for good

A line is one `write(2)` on an O_APPEND descriptor: it reaches the page cache, which a
killed process cannot take back, without an fsync per message. The journal is emptied once
the batch's outcomes are committed to the store.

When a scheduler starts (and now and then while it runs) it looks for journals whose lock
it can take: their owner is dead. For each send that owner left 'sending' in the store:

    A / T / X  -> what the server said (sent, retried later, bounced);
    D          -> sent: the "." was in the kernel's socket buffer, which a dying process
                  still flushes (counted as sent, without a delivered event);
    P          -> the crash fell inside the few microseconds of writing the "."; it may or
                  may not have been delivered. Not sent again (at-most-once), recorded failed
                  with the reason;
    S / none   -> never handed over: sent again (same Message-ID).

So a crash costs no duplicate, and at most one message per connection can be lost, only if
the kill lands inside that one write. If the machine itself went down (the boot id changed),
the journal's unsynced tail may be gone: sends with no A/T/X/D/P line are then recorded
failed rather than risk a second copy. Claims of a scheduler whose journal is not on this
machine are treated the same way once their lease expires.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
FINAL = frozenset("ATX")


def boot_id() -> str:
    try:
        return BOOT_ID_PATH.read_text().strip()
    except OSError:
        return ""


@dataclass(frozen=True)
class Mark:
    stage: str  # S P D A T X
    code: int = 0
    at: float = 0.0


SLOTS = 2  # a batch is claimed while the one before it is still being sent


class Journal:
    """This scheduler's journal, created and locked on open, removed on a clean close.

    Two files, one per batch in flight (`slot`): the scheduler claims batch N+1 while batch N
    is on the wire, and empties N's file once N's outcomes are committed, without touching
    the marks N+1 is writing into the other one."""

    def __init__(self, directory: Path, worker: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.worker = worker
        self.paths = [journal_path(directory, worker, slot) for slot in range(SLOTS)]
        self._fds = []
        for path in self.paths:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._fds.append(fd)
        self._header = f"H {worker} {boot_id() or '-'} {os.getpid()}\n".encode()
        for slot in range(SLOTS):
            self.reset(slot)

    def mark(self, stage: str, send_pk: int, code: int = 0, slot: int = 0) -> None:
        if stage in FINAL:
            line = f"{stage} {send_pk} {code} {time.time():.6f}\n"
        else:
            line = f"{stage} {send_pk}\n"
        os.write(self._fds[slot], line.encode())

    def reset(self, slot: int = 0) -> None:
        """Forget a slot: the store now holds the outcome of every send noted in it."""
        os.ftruncate(self._fds[slot], 0)
        os.write(self._fds[slot], self._header)

    def close(self) -> None:
        """A clean stop: nothing is left to reconcile, so the files go."""
        for path, fd in zip(self.paths, self._fds, strict=True):
            with contextlib.suppress(OSError):
                path.unlink()
            os.close(fd)
        self._fds = []
        self.paths = []


def journal_path(directory: Path, worker: str, slot: int) -> Path:
    return directory / f"journal-{_safe(worker)}-{slot}.log"


@dataclass
class Orphan:
    """A dead scheduler's journal files, locked by us until `release`."""

    worker: str
    same_boot: bool
    marks: dict[int, Mark]
    files: list[tuple[Path, int]]  # (path, locked descriptor)

    def release(self, *, remove: bool) -> None:
        for path, fd in self.files:
            if remove:
                with contextlib.suppress(OSError):
                    path.unlink()
            os.close(fd)


def orphans(directory: Path, own: Sequence[Path] = ()) -> list[Orphan]:
    """Journals in `directory` whose writer is dead (their lock is free), read and locked,
    one Orphan per dead scheduler with the marks of all its files."""
    if not directory.is_dir():
        return []
    current = boot_id()
    found: dict[str, Orphan] = {}
    for path in sorted(directory.glob("journal-*.log")):
        if path in own:
            continue
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue  # removed by its owner meanwhile
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # alive
            continue
        try:
            worker, boot, marks = parse(path.read_bytes())
        except ValueError as exc:
            log.warning(
                "unreadable delivery journal %s (%s); its claims wait for the lease", path, exc
            )
            os.close(fd)
            continue
        same = bool(boot) and boot == current
        orphan = found.setdefault(worker, Orphan(worker, True, {}, []))
        orphan.same_boot = orphan.same_boot and same
        orphan.files.append((path, fd))
        for pk, mark in marks.items():
            if pk not in orphan.marks or _rank(mark.stage) >= _rank(orphan.marks[pk].stage):
                orphan.marks[pk] = mark
    return list(found.values())


def is_alive(directory: Path, worker: str) -> bool:
    """True if `worker`'s journal is here and locked (its scheduler runs on this machine)."""
    path = journal_path(directory, worker, 0)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def parse(data: bytes) -> tuple[str, str, dict[int, Mark]]:
    """(worker, boot id, last mark per send). A torn last line (the kill fell mid-write:
    one write is atomic for a regular file in practice, but be strict) is ignored."""
    lines = data.decode("ascii", "replace").split("\n")
    if not lines or not lines[0].startswith("H "):
        raise ValueError("no header")
    head = lines[0].split()
    worker, boot = head[1], head[2] if len(head) > 2 and head[2] != "-" else ""
    marks: dict[int, Mark] = {}
    for line in lines[1:]:
        parts = line.split()
        if not parts or parts[0] == "H":
            continue
        stage = parts[0]
        try:
            pk = int(parts[1])
            if stage in FINAL:
                mark = Mark(stage, int(parts[2]), float(parts[3]))
            elif stage in ("S", "P", "D") and len(parts) == 2:
                mark = Mark(stage)
            else:
                continue
        except (IndexError, ValueError):
            continue
        previous = marks.get(pk)
        if previous is None or _rank(mark.stage) >= _rank(previous.stage):
            marks[pk] = mark
    return worker, boot, marks


def _rank(stage: str) -> int:
    return {"S": 0, "P": 1, "D": 2}.get(stage, 3)


def _safe(worker: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in worker)
