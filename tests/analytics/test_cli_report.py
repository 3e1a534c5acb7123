"""`rapport report ...` against a real in-process server: JSON figures, the HTML page,
audit files, and errors as exit codes with the reason on stderr."""

from __future__ import annotations

import json

import pytest
from analytics_data import KNOWN, planted_audit
from typer.testing import CliRunner

from rapport.cli.main import app


@pytest.fixture
def rapport(analytics_server, admin_key, monkeypatch):
    monkeypatch.setenv("RAPPORT_API_KEY", admin_key)
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, ["--server", analytics_server, *args])
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


RANGE = ("--since", "2025-01-01", "--until", "2026-01-01")


def test_campaigns_as_json_and_table(rapport, known):
    data = json.loads(rapport("report", "campaigns", *RANGE, "--format", "json").stdout)
    totals = data["totals"]
    assert {k: totals[k] for k in KNOWN["totals"]} == KNOWN["totals"]
    assert isinstance(totals["sent"], int)  # numbers, not protobuf's int64 strings
    assert data["totals"]["reply_rate"]["enough_data"] is False  # 7 sends: under 30
    assert data["since"] == "2025-01-01T00:00:00Z"
    same = json.loads(rapport("--json", "report", "campaigns", *RANGE).stdout)
    assert same["totals"] == totals
    table = rapport("report", "campaigns", *RANGE).stdout
    assert "t-a-1" in table and "n/a (3/7)" in table


def test_pools_html_to_a_file(rapport, known, tmp_path):
    out = tmp_path / "pools.html"
    rapport("report", "pools", *RANGE, "--format", "html", "--out", str(out))
    page = out.read_text()
    assert page.startswith("<!doctype html>") and page.count('<svg class="chart"') == 4
    assert "From sourced to hired" in page and "<script" not in page


def test_fairness_from_an_audit_file(rapport, tmp_path):
    rows = planted_audit(
        {("female", "white"): 0.3, ("male", "white"): 0.5},
        {("female", "white"): 1000, ("male", "white"): 1000},
    )
    path = tmp_path / "audit.csv"
    path.write_text(
        "applicant,gender,race,advanced\n"
        + "".join(f"{i},{s},{r},{'yes' if c else 'no'}\n" for i, (s, r, c) in enumerate(rows))
    )
    args = (
        "report",
        "fairness",
        "--audit-file",
        str(path),
        "--group-column",
        "gender",
        "--group-column",
        "race",
        "--selected-column",
        "advanced",
    )
    data = json.loads(rapport(*args, "--format", "json").stdout)
    gender = next(t for t in data["tables"] if t["characteristic"] == "gender")
    female = next(g for g in gender["groups"] if g["group"] == "female")
    assert female["flagged"] and 0.5 < female["impact_ratio"] < 0.7
    assert data["label"] == "audit.csv" and data["population"] == 2000
    table = rapport(*args).stdout
    assert "below threshold" in table


def test_an_audit_file_with_a_missing_column(rapport, tmp_path):
    path = tmp_path / "audit.csv"
    path.write_text("sex,hired\nf,1\n")
    result = rapport(
        "report",
        "fairness",
        "--audit-file",
        str(path),
        "--group-column",
        "race",
        "--selected-column",
        "advanced",
        code=1,
    )
    assert "INVALID_ARGUMENT" in result.stderr
    assert "'race' is not a column; columns: sex, hired" in result.stderr
    assert "'advanced' is not a column" in result.stderr


def test_bad_input_exits_non_zero_with_the_reason(rapport, known):
    empty = rapport("report", "campaigns", "--since", "2025-03-01", "--until", "2025-03-01", code=1)
    assert empty.stderr.startswith("INVALID_ARGUMENT") and "empty" in empty.stderr
    unknown = rapport("report", "campaigns", *RANGE, "--template", "t-nope", code=1)
    assert unknown.stderr.startswith("NOT_FOUND")
    bad_date = rapport("report", "pools", "--since", "last tuesday", code=2)
    assert "not a date" in bad_date.stderr
    nothing = rapport("report", "fairness", code=2)
    assert "--audit-file, --role or --model" in nothing.stderr
    no_model = rapport("report", "models", code=1)
    assert no_model.stderr.startswith("FAILED_PRECONDITION")


def test_rebuild_ledger_is_a_local_admin_verb(settings, known, monkeypatch):
    monkeypatch.setenv("RAPPORT_HOME", str(settings.home))
    monkeypatch.setenv("RAPPORT_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("RAPPORT_ANALYTICS_LEDGER_GRACE_S", "0")  # rows written just now count
    result = CliRunner().invoke(app, ["--json", "report", "rebuild-ledger"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["sends"] == KNOWN["totals"]["sent"]
    assert summary["unattributed"] == KNOWN["unattributed"]
