"""The import use case with its validation worker process: same outcomes as in-process."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from rapport.core.store.schema import CandidateRow, ImportFingerprintRow
from rapport.services.candidates.use_cases import CandidateUseCases, ImportOptions

HEADER = "external_id,first_name,last_name,email,country,timezone,skills\n"


def rows(n: int) -> str:
    out = []
    for i in range(n):
        email = "broken" if i % 7 == 3 else f"p{i}@example.com"
        out.append(f"x-{i},P{i},Test,{email},DE,Europe/Berlin,Python;k8s\n")
    return HEADER + "".join(out)


def run_import(db, settings, workers: int, text: str):
    uc = CandidateUseCases(
        db, settings.model_copy(update={"import_batch_size": 10, "import_workers": workers})
    )
    try:
        return uc.import_stream(ImportOptions(format="csv", all_results=True), [text.encode()])
    finally:
        uc.close()


@pytest.mark.parametrize("workers", [0, 1])
def test_batches_validated_in_a_worker_match_in_process(db, settings, workers):
    report = run_import(db, settings, workers, rows(35))
    assert report.counts["records"] == 35
    assert report.counts["failed"] == 5 and report.counts["created"] == 30
    assert [r.index for r in report.results] == list(range(35))
    failed = [r for r in report.results if r.outcome == "failed"]
    assert all(r.errors[0].field == "emails[0]" for r in failed)
    assert report.committed_through == 35

    again = run_import(db, settings, workers, rows(35))
    assert again.counts["unchanged"] == 30 and again.counts["failed"] == 5


@pytest.mark.parametrize("workers", [0, 1])
def test_a_record_repeated_in_the_next_batch_needs_no_retry(db, settings, workers, caplog):
    # The next batch's fingerprints are looked up while this one is being written: the
    # repeats are not known yet when looked up, and must not be remembered twice (which
    # would send the batch down the one-record-at-a-time retry, or fail on PostgreSQL).
    lines = rows(15).splitlines(keepends=True)
    text = "".join(lines + lines[6:11])  # records 5-9 again, at 15-19: the next batch
    with caplog.at_level("WARNING", logger="rapport.services.candidates.use_cases"):
        report = run_import(db, settings, workers, text)
    assert not caplog.records
    assert report.counts["records"] == 20 and report.counts["failed"] == 2
    assert report.counts["created"] == 13 and report.counts["unchanged"] == 5
    again = run_import(db, settings, workers, text)
    assert again.counts["unchanged"] == 18 and again.counts["failed"] == 2


def test_a_fingerprint_naming_no_candidate_is_pointed_again(db, settings, caplog):
    # No foreign key holds fingerprints to candidates: one left naming no candidate (as a
    # deletion that forgot it would leave) costs its record a validation, nothing more.
    text = rows(3)
    run_import(db, settings, 0, text)
    with db.transaction() as s:
        s.execute(update(ImportFingerprintRow).values(candidate_pk=10**9))
    with caplog.at_level("WARNING", logger="rapport.services.candidates.use_cases"):
        again = run_import(db, settings, 0, text)
    assert not caplog.records
    assert again.counts["unchanged"] == 3
    with db.read() as s:
        pks = set(s.execute(select(ImportFingerprintRow.candidate_pk)).scalars())
        assert pks == set(s.execute(select(CandidateRow.pk)).scalars())
