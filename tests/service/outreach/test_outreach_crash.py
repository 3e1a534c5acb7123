"""A scheduler killed with SIGKILL in the middle of a run, then run again: every
(enrolment, step) reaches the SMTP server once, never twice.

The scheduler runs as `rapport outreach run --once` in a subprocess against a real local SMTP
server; the server kills it at an exact point of a conversation (or at a random moment),
which is how a crash looks from the outside."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rapport.core.outreach import Sequence, Step
from rapport.core.store.schema import OutreachEnrolmentRow, OutreachSendRow
from rapport.services.outreach.scheduler import REASON_UNKNOWN
from rapport.services.outreach.use_cases import OutreachUseCases

PEOPLE = 40
STEPS = (
    Step(key="intro", subject="Hello {{ first_name }}", body="Hi {{ first_name }}, a role."),
    Step(key="again", body="Following up, {{ first_name }}."),
)
RAPPORT = str(Path(sys.executable).with_name("rapport"))


def scheduler_env(settings, connections: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    return env | {
        "RAPPORT_HOME": str(settings.home),
        "RAPPORT_DATABASE_URL": settings.effective_database_url,
        "RAPPORT_LOG_LEVEL": "WARNING",
        "RAPPORT_OUTREACH_SMTP_HOST": "127.0.0.1",
        "RAPPORT_OUTREACH_SMTP_PORT": str(settings.outreach_smtp_port),
        "RAPPORT_OUTREACH_SMTP_CONNECTIONS": str(connections),
        "RAPPORT_OUTREACH_FROM_ADDRESS": settings.outreach_from_address,
        "RAPPORT_OUTREACH_JOURNAL_DIR": str(settings.outreach_journal),
    }


def start(env: dict[str, str], batch: int = 10) -> subprocess.Popen:
    return subprocess.Popen(
        [RAPPORT, "--json", "outreach", "run", "--once", "--batch", str(batch)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def enrolled(db, settings, person):
    outreach = OutreachUseCases(db, settings)
    seq = outreach.create_sequence(Sequence(name="Crash course", steps=STEPS))
    ids = [person(f"P{i}") for i in range(PEOPLE)]
    assert outreach.enrol(seq.id, candidate_ids=ids).enrolled_count == PEOPLE
    return seq


def kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)


def handed_over_noted(directory: Path) -> None:
    """Wait until the scheduler has noted the hand-over ("D") of the message the server just
    received: it does so right after writing the final ".", while this thread was already
    reading it. (One connection: that message's stages are the last lines of its batch's
    journal file.)"""
    for _ in range(5000):
        last = [
            (path.read_text().splitlines() or [""])[-1] for path in directory.glob("journal-*.log")
        ]
        if any(line.startswith("D ") for line in last):
            return
        threading.Event().wait(0.001)
    raise AssertionError("the scheduler never noted the hand-over")


def rows(db) -> list[OutreachSendRow]:
    with db.read() as s:
        return list(s.execute(select(OutreachSendRow)).scalars())


def finish_and_check(
    db, settings, sink, env, *, first: subprocess.Popen, in_flight: bool = True
) -> dict:
    """Wait for the killed run, run again to the end, and check nothing went out twice.
    `in_flight`: the kill is known to have fallen while a batch was out (a random kill may
    also fall between batches, with nothing to reconcile)."""
    first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL, first.stderr.read()
    journals = list(settings.outreach_journal.glob("journal-*.log"))
    assert len(journals) == 2  # the dead run's journal (a file per batch in flight), kept
    sending = sum(r.state == "sending" for r in rows(db))
    assert sending > 0 or not in_flight

    second = subprocess.run(
        [RAPPORT, "--json", "outreach", "run", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    stats = json.loads(second.stdout)
    assert stats["reconciled"] >= (1 if sending else 0)

    counts = sink.message_id_counts()
    assert max(counts.values()) == 1, [m for m, n in counts.items() if n > 1]  # no duplicate
    final = rows(db)
    assert len(final) == PEOPLE * len(STEPS)  # one row per (enrolment, step), no more
    assert {r.state for r in final} <= {"sent", "failed"}
    assert not list(settings.outreach_journal.glob("journal-*.log"))  # reconciled, removed
    with db.read() as s:
        states = dict(
            s.execute(
                select(OutreachEnrolmentRow.state, func.count()).group_by(
                    OutreachEnrolmentRow.state
                )
            ).all()
        )
        claimed = s.execute(
            select(func.count()).where(OutreachEnrolmentRow.claimed_by.is_not(None))
        ).scalar_one()
    assert states == {"completed": PEOPLE}
    assert claimed == 0
    return counts


@pytest.mark.parametrize("where", ["before_handover", "after_handover"])
def test_killed_at_a_known_point_every_step_is_delivered_exactly_once(
    db, settings, sink, enrolled, where
):
    env = scheduler_env(settings, connections=1)
    proc: subprocess.Popen | None = None
    victim = 23  # the 24th message

    if where == "before_handover":  # killed while the server answers MAIL: never handed over

        def on_mail(count):
            if count == victim and proc is not None and proc.poll() is None:
                kill(proc)
                proc.wait()
                return "421 4.3.2 going away"
            return None

        sink.on_mail = on_mail
    else:  # killed once the server has the whole message, before the client reads "250"

        def on_data(got, count):
            if count == victim and proc is not None and proc.poll() is None:
                handed_over_noted(settings.outreach_journal)
                kill(proc)
                proc.wait()
            return None  # the server keeps it: it was handed over

        sink.on_data = on_data

    proc = start(env)
    counts = finish_and_check(db, settings, sink, env, first=proc)

    final = rows(db)
    assert [r.state for r in final].count("sent") == PEOPLE * len(STEPS)
    assert set(counts) == {r.message_id for r in final}  # every step exactly once


def test_killed_at_a_random_moment_nothing_is_sent_twice(db, settings, sink, enrolled):
    """Two connections, a kill at a random instant after the 20th message: no duplicate, and
    every step is delivered exactly once unless the kill fell inside the microseconds of
    handing a message over, in which case that step is recorded failed (at most once, at
    most one per connection) rather than risk a second copy."""
    env = scheduler_env(settings, connections=2)
    proc = start(env)
    armed = threading.Event()

    def on_data(got, count):
        if count == 20 and not armed.is_set():
            armed.set()
            delay = random.uniform(0.0, 0.05)
            threading.Timer(delay, lambda: proc.poll() is None and kill(proc)).start()

    sink.on_data = on_data
    counts = finish_and_check(db, settings, sink, env, first=proc, in_flight=False)

    final = rows(db)
    lost = [r for r in final if r.state == "failed"]
    assert all(r.reason == REASON_UNKNOWN for r in lost)
    assert len(lost) <= 2
    delivered = {r.message_id for r in final if r.state == "sent"}
    assert delivered <= set(counts)
    assert len(delivered) + len(lost) == PEOPLE * len(STEPS)
