"""Data for the analytics tests: a small store with a timeline whose every figure is worked
out by hand (see `KNOWN`), and synthetic selection data with a planted bias. A module of
its own, not conftest, because `from conftest import` clashes across test folders.

The people, all created in 2025 (the report range is 2025-01-01 .. 2026-01-01):

    A referral  01-10  campaign c-a: step 1 t-a-1 sent 02-01 09:00, delivered, machine open,
                       human open, click, reply at 14:00 (5 h); stages contacted, engaged,
                       screen, interview, hired
    B linkedin  01-15  campaign c-b: step 1 t-a-1 (02-03 10:00) delivered, no open; step 2
                       t-a-2 (02-08 10:00) delivered, opened twice, unsubscribed; contacted
    C linkedin  01-20  campaign c-c: step 1 t-b-1 (02-05 10:00) bounced
    D agency    01-25  campaign c-d1: step 1 t-b-1 (02-06 10:00) delivered, machine open only;
                       campaign c-d2: step 1 t-b-1 (09-01 10:00, 207 days of silence)
                       delivered, replied 09-02 10:00 (24 h); contacted
    E referral  06-01  never contacted
    F event     03-01  outreach send s-f (sequence SEQ, step "intro") 03-05 09:00, delivered,
                       replied 03-06 09:00 (24 h); contacted, engaged
    G event     04-01  a reply (05-01) to a campaign with no send on record: unattributed
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from rapport.core.domain import CandidateDraft
from rapport.core.store import candidates, timeline

SINCE = datetime(2025, 1, 1, tzinfo=UTC)
UNTIL = datetime(2026, 1, 1, tzinfo=UTC)
SEQ = "0190f0aa-0000-7000-8000-000000000001"


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


PEOPLE = {  # name: (source, created_at)
    "A": ("referral", at(1, 10)),
    "B": ("linkedin", at(1, 15)),
    "C": ("linkedin", at(1, 20)),
    "D": ("agency", at(1, 25)),
    "E": ("referral", at(6, 1)),
    "F": ("event", at(3, 1)),
    "G": ("event", at(4, 1)),
}


def _events() -> dict[str, list[tuple]]:
    """Per person: (kind, occurred_at, payload, stage)."""
    m = timedelta(minutes=1)

    def camp(cid, **extra):
        return {"campaign": cid, **extra}

    out = {
        "A": [
            ("email_sent", at(2, 1, 9), camp("c-a", template="t-a-1", step=1), ""),
            ("stage_changed", at(2, 1, 9) + timedelta(seconds=1), {}, "contacted"),
            ("email_delivered", at(2, 1, 9) + m, camp("c-a"), ""),
            ("email_opened", at(2, 1, 9) + 2 * m, camp("c-a", machine=True), ""),
            ("email_opened", at(2, 1, 12), camp("c-a"), ""),
            ("email_clicked", at(2, 1, 12, 5), camp("c-a"), ""),
            ("email_replied", at(2, 1, 14), camp("c-a", sentiment="positive"), ""),
            ("stage_changed", at(2, 2, 10), {}, "engaged"),
            ("stage_changed", at(2, 10, 10), {}, "screen"),
            ("stage_changed", at(2, 20, 10), {}, "interview"),
            ("stage_changed", at(3, 15, 10), {}, "hired"),
        ],
        "B": [
            ("email_sent", at(2, 3, 10), camp("c-b", template="t-a-1", step=1), ""),
            ("stage_changed", at(2, 3, 10) + timedelta(seconds=1), {}, "contacted"),
            ("email_delivered", at(2, 3, 10) + m, camp("c-b"), ""),
            ("email_sent", at(2, 8, 10), camp("c-b", template="t-a-2", step=2), ""),
            ("email_delivered", at(2, 8, 10) + m, camp("c-b"), ""),
            ("email_opened", at(2, 8, 11), camp("c-b"), ""),
            ("email_opened", at(2, 8, 15), camp("c-b"), ""),
            ("unsubscribed", at(2, 8, 16), camp("c-b"), ""),
        ],
        "C": [
            ("email_sent", at(2, 5, 10), camp("c-c", template="t-b-1", step=1), ""),
            ("email_bounced", at(2, 5, 10) + m, camp("c-c"), ""),
        ],
        "D": [
            ("email_sent", at(2, 6, 10), camp("c-d1", template="t-b-1", step=1), ""),
            ("stage_changed", at(2, 6, 10) + timedelta(seconds=1), {}, "contacted"),
            ("email_delivered", at(2, 6, 10) + m, camp("c-d1"), ""),
            ("email_opened", at(2, 6, 10) + 2 * m, camp("c-d1", machine=True), ""),
            ("email_sent", at(9, 1, 10), camp("c-d2", template="t-b-1", step=1), ""),
            ("email_delivered", at(9, 1, 10) + m, camp("c-d2"), ""),
            ("email_replied", at(9, 2, 10), camp("c-d2", sentiment="negative"), ""),
        ],
        "E": [],
        "F": [
            (
                "email_sent",
                at(3, 5, 9),
                {"send_id": "s-f", "message_id": "<m@x>", "sequence_id": SEQ, "step": "intro"},
                "",
            ),
            (
                "email_delivered",
                at(3, 5, 9),
                {"send_id": "s-f", "message_id": "<m@x>", "sequence_id": SEQ, "step": "intro"},
                "",
            ),
            ("stage_changed", at(3, 5, 9) + timedelta(seconds=1), {}, "contacted"),
            ("email_replied", at(3, 6, 9), {"send_id": "s-f", "match": "token"}, ""),
            ("stage_changed", at(3, 7, 9), {}, "engaged"),
        ],
        "G": [("email_replied", at(5, 1, 9), camp("c-unknown"), "")],
    }
    return out


# Every figure below is counted by hand from the timeline above.
KNOWN = {
    "totals": {
        "sent": 7,
        "delivered": 6,
        "opened": 2,
        "machine_opens": 2,
        "clicked": 1,
        "replied": 3,
        "unsubscribed": 1,
        "bounced": 1,
    },
    "campaigns": 6,  # first sends of a thread: A1, B1, C1, D1, D2, F1
    "unattributed": 1,  # G's reply
    "templates": {
        "t-a-1": {
            "sent": 2,
            "delivered": 2,
            "opened": 1,
            "machine_opens": 1,
            "clicked": 1,
            "replied": 1,
            "unsubscribed": 0,
            "bounced": 0,
        },
        "t-a-2": {
            "sent": 1,
            "delivered": 1,
            "opened": 1,
            "machine_opens": 0,
            "clicked": 0,
            "replied": 0,
            "unsubscribed": 1,
            "bounced": 0,
        },
        "t-b-1": {
            "sent": 3,
            "delivered": 2,
            "opened": 0,
            "machine_opens": 1,
            "clicked": 0,
            "replied": 1,
            "unsubscribed": 0,
            "bounced": 1,
        },
    },
    "steps": {"campaign/1": 5, "campaign/2": 1, f"{SEQ}/intro": 1},
    "funnel": {
        "sourced": 7,
        "contacted": 5,
        "engaged": 2,
        "screen": 1,
        "interview": 1,
        "final_round": 1,
        "offer": 1,
        "hired": 1,
    },
    # hours from creation to first contact: A 537, B 466, C 394, D 298, F 105
    "first_contact": {"count": 5, "median": 394.0, "p90": 466 + 0.6 * (537 - 466)},
    "reply": {"count": 3, "median": 24.0, "p90": 24.0},  # 5 h, 24 h, 24 h
    "reengagement": (1, 1),  # D's second campaign after 207 quiet days, replied
    "sources": {  # source: (people, contacted, replied, interview, hired)
        "referral": (2, 1, 1, 1, 1),
        "linkedin": (2, 2, 0, 0, 0),
        "agency": (1, 1, 1, 0, 0),
        "event": (2, 1, 2, 0, 0),
    },
    "growth": [  # (period, source, added)
        ("2025-01-01", "agency", 1),
        ("2025-01-01", "linkedin", 2),
        ("2025-01-01", "referral", 1),
        ("2025-03-01", "event", 1),
        ("2025-04-01", "event", 1),
        ("2025-06-01", "referral", 1),
    ],
}


def load_known(db) -> dict[str, str]:
    """Write the people and timelines above; returns name -> candidate id."""
    ids = {}
    with db.transaction() as s:
        for name, (source, created) in PEOPLE.items():
            draft = CandidateDraft(
                first_name=name,
                last_name="Known",
                emails=[f"{name.lower()}.known@example.com"],
                source=source,
                headline="Engineer",
            )
            ids[name] = candidates.create(s, draft, created_at=created).id
        pks = {name: candidates.pk_for(s, cid) for name, cid in ids.items()}
        rows = []
        for name, events in _events().items():
            for kind, when, payload, stage in events:
                channel = "ats" if kind == "stage_changed" else "email"
                rows.append(
                    {
                        "candidate_pk": pks[name],
                        "kind": kind,
                        "occurred_at": when,
                        "channel": channel,
                        "stage": stage,
                        "payload": payload,
                        "actor": "test",
                    }
                )
        timeline.add_many(s, rows)
    return ids


NOW = datetime(2026, 6, 1, tzinfo=UTC)  # "now" of the seeded store


# ------------------------------------------------------------------ planted bias


def planted_audit(
    rates: dict[tuple[str, str], float], people: dict[tuple[str, str], int], seed: int = 1
) -> list[tuple[str, str, bool]]:
    """(sex, race, selected) rows drawn with a known selection rate per group."""
    rng = random.Random(seed)
    rows = []
    for group, n in people.items():
        for _ in range(n):
            rows.append((*group, rng.random() < rates[group]))
    rng.shuffle(rows)
    return rows


# A synthetic set modelled on Bertrand & Mullainathan (2004), "Are Emily and Greg More
# Employable than Lakisha and Jamal?": 4,870 fictitious resumes, half with white-sounding
# and half with Black-sounding names; published callback rates 9.65% and 6.45% (ratio
# 0.67). SYNTHETIC: drawn here with those rates, not the study's data (not available
# offline). The study's split by sex (about 77% of resumes were female) is kept.
BERTRAND_RATES = {"white": 0.0965, "black_or_african_american": 0.0645}


def bertrand_synthetic(seed: int = 2004) -> list[tuple[str, str, bool]]:
    rng = random.Random(seed)
    rows = []
    for race, p in BERTRAND_RATES.items():
        for _ in range(2435):
            sex = "female" if rng.random() < 0.77 else "male"
            rows.append((sex, race, rng.random() < p))
    return rows
