"""Write generated people (rapport.core.seeding) into the store in bulk, through the same
upsert imports use, with their timelines and a few demo pools. Idempotent: people are
keyed on their identities and a person's history is written once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice

from sqlalchemy import select

from rapport.core.seeding import SeedPerson
from rapport.core.store import candidates, feed, timeline
from rapport.core.store.db import Database
from rapport.core.store.schema import CandidateRow, TimelineEventRow


def load_people(
    db: Database,
    people: Iterable[SeedPerson],
    *,
    batch_size: int = 1000,
    progress: Callable[[int], None] = lambda n: None,
) -> dict[str, int]:
    counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0, "events": 0}
    it = iter(people)
    while batch := list(islice(it, batch_size)):
        with db.transaction() as s:
            results = candidates.upsert_batch(
                s, [p.draft for p in batch], [p.created_at for p in batch]
            )
            ids = [r.candidate_id for r in results]
            pks = dict(
                s.execute(
                    select(CandidateRow.id, CandidateRow.pk).where(CandidateRow.id.in_(ids))
                ).all()
            )
            with_history = set(
                s.execute(
                    select(TimelineEventRow.candidate_pk)
                    .where(TimelineEventRow.candidate_pk.in_(pks.values()))
                    .distinct()
                ).scalars()
            )
            rows = []
            for person, res in zip(batch, results, strict=True):
                counts[res.outcome] += 1
                pk = pks.get(res.candidate_id)
                if pk is None or pk in with_history:
                    continue
                rows += [
                    {
                        "candidate_pk": pk,
                        "kind": e.kind,
                        "occurred_at": e.occurred_at,
                        "channel": e.channel,
                        "stage": e.stage,
                        "payload": dict(e.payload),
                        "actor": "seed",
                    }
                    for e in person.events
                ]
            timeline.add_many(s, rows)
            feed.append(s, [(cid, "timeline") for cid in ids])
            counts["events"] += len(rows)
        progress(len(batch))
    return counts
