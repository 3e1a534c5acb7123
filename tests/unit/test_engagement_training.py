"""Engagement training: metrics on known inputs, cutoff and horizon rules, training on a
small seeded store into a real MLflow registry (SQLite), the promotion gate (refusal with
both sets of numbers, --force, rollback, audit), bad input, the pyfunc face, Hillstrom."""

from __future__ import annotations

import itertools
import json
import math
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from rapport.core.config import Settings
from rapport.core.domain import CandidateDraft
from rapport.core.errors import NotFound, PreconditionFailed, ValidationFailed
from rapport.core.seeding import SeedEvent, SeedPerson, generate_people
from rapport.core.store import seed_loader
from rapport.core.store.schema import AuditRow
from rapport.models.engagement.features import (
    FEATURE_SPEC,
    FeatureSpec,
    build_features,
    data_span,
)
from rapport.models.engagement.registry import (
    CHALLENGER,
    CHAMPION,
    MODEL_NAME,
    ModelRejected,
    Registry,
    load_scorer,
)
from rapport.models.engagement.scorer import EngagementScorer
from rapport.training.engagement import (
    build_dataset,
    parse_cutoff,
    parse_horizon,
    plan_cutoffs,
    sample_negatives,
    train_engagement,
)
from rapport.training.metrics import (
    binary_metrics,
    expected_calibration_error,
    top_decile_lift,
)

# The seeded history ends here; training is told it is "now" (a store seeded with real
# wall-clock time would do the same with datetime.now()).
NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
PEOPLE = 400


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory) -> Path:
    """An initialised MLflow SQLite store (creating one costs seconds); tests copy it."""
    home = tmp_path_factory.mktemp("mlflow-template")
    Registry(Settings(home=home)).client  # creates the tables  # noqa: B018
    return home / "mlflow.db"


@pytest.fixture
def ml_settings(settings, mlflow_template) -> Settings:
    """The test's settings with an initialised tracking store under its home; one OpenMP
    thread for fitting (the suite runs one worker per core)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    shutil.copy(mlflow_template, settings.home / "mlflow.db")
    return settings.model_copy(update={"engagement_train_threads": 1})


@pytest.fixture
def seeded(db):
    seed_loader.load_people(db, generate_people(PEOPLE, 21, now=NOW))
    return db


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory, mlflow_template):
    """One training run per module (seconds): a SQLite store seeded like `seeded` and a
    registry holding version 1 as challenger. Tests copy the registry's database; the
    artefacts stay where this run wrote them (absolute URIs), read-only."""
    from rapport.core.store import db as store_db

    root = tmp_path_factory.mktemp("trained")
    url = f"sqlite:///{root / 'rapport.db'}"
    store_db.upgrade(url)
    database = store_db.Database(url)
    seed_loader.load_people(database, generate_people(PEOPLE, 21, now=NOW))
    database.close()
    shutil.copy(mlflow_template, root / "mlflow.db")
    trained_settings = Settings(home=root, database_url=url, engagement_train_threads=1)
    result = train_engagement(trained_settings, now=NOW, cutoffs=8)
    return root, url, result


@pytest.fixture
def trained(trained_home, ml_settings):
    """This test's registry: a copy of the module's, with version 1 as challenger."""
    root, _, result = trained_home
    shutil.copy(root / "mlflow.db", ml_settings.home / "mlflow.db")
    return result


def _features_at(url: str, as_of: datetime) -> pd.DataFrame:
    from rapport.core.store.db import Database

    database = Database(url)
    try:
        with database.read() as s:
            return build_features(s, as_of)
    finally:
        database.close()


class Noise:
    """A 'model' that ranks people at random: what a bad challenger looks like."""

    def decision_function(self, x):
        rng = np.random.default_rng(len(x))
        return rng.normal(-3.4, 0.3, len(x))


def _register(settings: Settings, scorer: EngagementScorer, alias: str | None = None) -> str:
    registry = Registry(settings)
    example = pd.DataFrame([scorer.reference])
    with registry.start_run(run_name="test"):
        uri = registry.log_model(scorer, example)
    info = registry.register(uri, scorer.feature_spec, tags={"horizon_days": "30.0"})
    if alias:
        registry.set_alias(MODEL_NAME, alias, info.version)
    return info.version


def _noise_scorer(like: EngagementScorer) -> EngagementScorer:
    return EngagementScorer(
        name=MODEL_NAME,
        feature_spec=FEATURE_SPEC,
        estimator=Noise(),
        categories=like.categories,
        reference=like.reference,
        metadata={"horizon_days": 30.0},
    )


def _cli(settings: Settings, monkeypatch, *args: str, code: int = 0):
    from rapport.cli.main import app

    monkeypatch.setenv("RAPPORT_HOME", str(settings.home))
    monkeypatch.setenv("RAPPORT_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("RAPPORT_ENGAGEMENT_TRAIN_THREADS", "1")
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result


# -- metrics ---------------------------------------------------------------------------------
def test_metrics_on_known_inputs():
    y = np.array([0, 0, 1, 1])
    perfect = binary_metrics(y, [0.1, 0.2, 0.8, 0.9])
    assert perfect["roc_auc"] == 1.0 and perfect["pr_auc"] == 1.0
    assert perfect["brier"] == pytest.approx((0.01 + 0.04 + 0.04 + 0.01) / 4)
    assert binary_metrics(y, [0.9, 0.8, 0.2, 0.1])["roc_auc"] == 0.0
    assert binary_metrics(y, [0.5, 0.5, 0.5, 0.5])["roc_auc"] == 0.5
    # ECE: bins [0.1, 0.2) and [0.8, 0.9): |0 - 0.15| * 1/2 + |1 - 0.85| * 1/2 = 0.15
    assert expected_calibration_error(y, [0.1, 0.2 - 1e-9, 0.8, 0.9 - 1e-9]) == pytest.approx(
        0.15, abs=1e-6
    )
    assert expected_calibration_error([0, 1] * 50, [0.5] * 100) == pytest.approx(0.0)
    # lift: 20 rows, 2 positives, both in the top two (= top decile) -> 1.0 / 0.1 = 10
    y20 = np.zeros(20)
    y20[[3, 7]] = 1
    p20 = np.linspace(0, 0.5, 20)
    p20[[3, 7]] = [0.9, 0.95]
    assert top_decile_lift(y20, p20) == pytest.approx(10.0)
    one_class = binary_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert math.isnan(one_class["roc_auc"]) and one_class["positives"] == 0
    with pytest.raises(ValueError):
        binary_metrics([0, 1], [0.5])


def test_negative_sampling_keeps_positives_and_weights_negatives():
    y = np.array([1] * 10 + [0] * 990)
    idx, w = sample_negatives(y, 200, seed=1)
    assert len(idx) == 200 and y[idx].sum() == 10
    assert np.all(w[y[idx] == 1] == 1.0)
    assert np.sum(w[y[idx] == 0]) == pytest.approx(990)
    all_idx, none = sample_negatives(y, 5000)
    assert len(all_idx) == 1000 and none is None


# -- inputs ----------------------------------------------------------------------------------
def test_horizon_and_cutoff_parsing():
    assert parse_horizon("30d") == timedelta(days=30)
    assert parse_horizon("2w") == timedelta(days=14)
    assert parse_horizon("36h") == timedelta(hours=36)
    assert parse_horizon("7") == timedelta(days=7)
    for bad in ("0d", "0", "-3d", "soon", ""):
        with pytest.raises(ValidationFailed, match="horizon"):
            parse_horizon(bad)
    assert parse_cutoff("2025-06-01") == datetime(2025, 6, 1, tzinfo=UTC)
    assert parse_cutoff(None) is None
    with pytest.raises(ValidationFailed, match="cutoff"):
        parse_cutoff("June")


def test_cutoff_rules():
    first, last = datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    month = timedelta(days=30)
    planned = plan_cutoffs(first, first, last, month, count=6, now=now)
    assert planned[-1] == last - month and len(planned) == 6
    assert {b - a for a, b in itertools.pairwise(planned)} == {month}
    with pytest.raises(ValidationFailed, match="in the future"):
        plan_cutoffs(first, first, last, month, cutoff=now + timedelta(days=1), now=now)
    with pytest.raises(ValidationFailed, match="after now"):
        plan_cutoffs(first, first, last, month, cutoff=now - timedelta(days=5), now=now)
    with pytest.raises(ValidationFailed, match="before any data"):
        plan_cutoffs(first, first, last, month, cutoff=datetime(2023, 1, 1, tzinfo=UTC), now=now)
    with pytest.raises(PreconditionFailed, match="only 2 cutoff"):
        plan_cutoffs(first, first, first + 3 * month, month, now=now)
    with pytest.raises(PreconditionFailed, match="no timeline events"):
        plan_cutoffs(None, None, None, month, now=now)


# -- training into a registry ----------------------------------------------------------------
def test_train_registers_a_challenger_with_both_models_logged(
    ml_settings, seeded, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)  # anything MLflow wrote to the cwd would show up here
    result = train_engagement(ml_settings, now=NOW, cutoffs=6)
    assert result.version is not None and result.version.aliases == (CHALLENGER,)
    for metrics in (result.model_metrics, result.baseline_metrics):
        assert 0.5 < metrics["roc_auc"] <= 1.0
        assert 0 <= metrics["ece"] < 0.1 and 0 < metrics["brier"] < 0.2
        assert metrics["positives"] > 0
    assert result.rows["holdout"] > 300 and result.rows["fit"] > result.rows["holdout"]
    registry = Registry(ml_settings)
    info = registry.get_version(result.version.version, metrics=True)
    assert info.tags["feature_spec_hash"] == FEATURE_SPEC.fingerprint()
    assert info.tags["training_data_hash"] == result.data_hash and len(result.data_hash) == 64
    assert info.spec_matches
    for key in ("model_roc_auc", "baseline_roc_auc", "model_ece", "baseline_brier",
                "model_top_decile_lift", "baseline_pr_auc"):  # fmt: skip
        assert key in info.metrics
    run = registry.client.get_run(result.run_id)
    assert run.data.params["horizon_days"] == "30.0" and run.data.params["cutoffs"] == "6"
    artifacts = {a.path for a in registry.client.list_artifacts(result.run_id)}
    plots = {a.path for a in registry.client.list_artifacts(result.run_id, "plots")}
    assert {"feature_spec.json", "feature_importance.json", "holdout_metrics.json"} <= artifacts
    assert {"plots/calibration.png", "plots/feature_importance.png"} <= plots
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "mlflow.db").exists()
    assert any((ml_settings.home / "mlartifacts").iterdir())
    # the registered model downloads, loads and scores like the one trained
    path = registry.download_version(info, tmp_path / "cache" / info.version)
    assert registry.download_version(info, path) == path  # already there: no download
    scorer = load_scorer(path)
    assert (scorer.name, scorer.version) == (MODEL_NAME, info.version)
    assert scorer.metadata["horizon_days"] == 30.0 and scorer.metadata["trained_at"]
    frame = _features_at(ml_settings.effective_database_url, NOW)
    p = scorer.predict_proba(frame)
    assert p.shape == (len(frame),) and np.all((p > 0) & (p < 1)) and p.std() > 0
    # the same training data gives the same hash
    with seeded.read() as s:
        planned = plan_cutoffs(*data_span(s), timedelta(days=30), count=6, now=NOW)
    assert build_dataset(seeded, planned, timedelta(days=30)).fingerprint() == result.data_hash


def test_explain_gives_signed_factors_that_move_the_score(trained, trained_home, ml_settings):
    scorer = Registry(ml_settings).load_version(trained.version)
    frame = _features_at(trained_home[1], NOW)
    factors = scorer.explain(frame.head(20), top=5)
    assert len(factors) == 20 and all(len(f) <= 5 for f in factors)
    assert any(factors), "nobody has a factor"
    for row, person in zip(factors, range(20), strict=True):
        sizes = [abs(f.contribution) for f in row]
        assert sizes == sorted(sizes, reverse=True)
        for f in row:
            assert f.feature in FEATURE_SPEC.names and f.contribution != 0
            expected = frame.iloc[person][f.feature]
            if isinstance(f.value, str):
                assert f.value == expected
            else:
                assert f.value == pytest.approx(float(expected))
    # a contribution is what the score loses when that one value becomes the reference
    one = frame.head(1)
    top = scorer.explain(one, top=1)[0][0]
    moved = one.copy()
    moved[top.feature] = scorer.reference[top.feature]
    delta = scorer.logit(one)[0] - scorer.logit(moved)[0]
    assert delta == pytest.approx(top.contribution, abs=1e-5)
    assert scorer.explain(frame.head(3), top=0) == [[], [], []]


def test_compiled_trees_equal_scikit_learn_with_missing_and_unseen_categories():
    from sklearn.ensemble import HistGradientBoostingClassifier

    from rapport.models.engagement.trees import compile_trees

    rng = np.random.default_rng(3)
    n = 3000
    x = np.column_stack(
        [
            rng.normal(size=n),
            rng.exponential(3.0, n),
            rng.integers(0, 6, n).astype(float),  # categorical: codes 0..5
            rng.integers(0, 3, n).astype(float),  # categorical: codes 0..2
        ]
    )
    x[rng.random(x.shape) < 0.05] = np.nan
    y = ((x[:, 0] > 0.3) ^ (np.nan_to_num(x[:, 2]) % 2 == 1) | (x[:, 1] > 6)).astype(int)
    model = HistGradientBoostingClassifier(
        max_iter=40, categorical_features=[False, False, True, True], random_state=0
    ).fit(x, y)
    compiled = compile_trees(model)
    assert compiled is not None and compiled.n_trees == model.n_iter_
    probe = x[:500].copy()
    probe[:50, 2] = 9.0  # a category the model never saw
    probe[50:60, 3] = np.nan
    np.testing.assert_allclose(
        compiled.decision_function(probe), model.decision_function(probe), atol=1e-9
    )
    assert compile_trees(object()) is None  # anything else: scikit-learn is used


def test_pyfunc_scores_a_dataframe_like_the_scorer(trained, trained_home, ml_settings):
    import mlflow

    registry = Registry(ml_settings)
    registry.set_alias(MODEL_NAME, CHAMPION, trained.version.version)
    frame = _features_at(trained_home[1], NOW).head(8).reset_index(drop=True)
    before = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
    try:
        mlflow.set_tracking_uri(registry.uri)
        mlflow.set_registry_uri(registry.uri)
        model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@{CHAMPION}")
        p = np.asarray(model.predict(frame))
    finally:
        mlflow.set_tracking_uri(before[0])
        mlflow.set_registry_uri(before[1])
    scorer = model.unwrap_python_model().scorer
    np.testing.assert_allclose(p, scorer.predict_proba(frame))
    assert len(set(np.round(p, 9))) > 1


# -- promotion -------------------------------------------------------------------------------
def test_promote_gate_refuses_a_worse_model_then_force_and_rollback(
    trained, ml_settings, seeded, monkeypatch
):
    from rapport.core.store.db import Database

    first = _cli(ml_settings, monkeypatch, "--json", "models", "promote")
    decision = json.loads(first.stdout)
    assert decision["promoted"] and not decision["forced"]
    assert decision["champion"] == {} and decision["candidate"]["ece"] <= 0.05
    good = trained.version.version
    registry = Registry(ml_settings)
    assert registry.resolve_alias(MODEL_NAME, CHAMPION).version == good

    bad = _register(ml_settings, _noise_scorer(registry.load_version(good)), alias=CHALLENGER)
    refused = _cli(ml_settings, monkeypatch, "models", "promote", code=1)
    assert refused.stderr.startswith("FAILED_PRECONDITION")
    assert "ROC-AUC" in refused.stderr and "--force" in refused.stderr
    assert f"v{bad} (candidate)" in refused.stdout and f"v{good} (champion)" in refused.stdout
    assert "roc_auc" in refused.stdout  # both sets of numbers are printed
    assert registry.resolve_alias(MODEL_NAME, CHAMPION).version == good  # no alias moved

    forced = json.loads(
        _cli(ml_settings, monkeypatch, "--json", "models", "promote", "--force").stdout
    )
    assert forced["promoted"] and forced["forced"] and forced["reasons"]
    assert forced["candidate"]["roc_auc"] < forced["champion"]["roc_auc"]
    assert registry.resolve_alias(MODEL_NAME, CHAMPION).version == bad
    assert "ROC-AUC" in registry.get_version(bad).tags["forced_promotion"]

    back = json.loads(_cli(ml_settings, monkeypatch, "--json", "models", "rollback").stdout)
    assert back["promoted"] and back["candidate_version"] == good
    assert registry.resolve_alias(MODEL_NAME, CHAMPION).version == good

    db = Database(ml_settings.effective_database_url)
    with db.read() as s:
        actions = s.execute(
            select(AuditRow.action, AuditRow.target_id, AuditRow.details).order_by(AuditRow.seq)
        ).all()
    db.close()
    model_rows = [(a, t) for a, t, _ in actions if a.startswith("engagement_model.")]
    assert model_rows == [
        ("engagement_model.promote", f"{MODEL_NAME}/{good}"),
        ("engagement_model.promote_forced", f"{MODEL_NAME}/{bad}"),
        ("engagement_model.rollback", f"{MODEL_NAME}/{good}"),
    ]
    forced_details = next(d for a, _, d in actions if a == "engagement_model.promote_forced")
    assert forced_details["forced"] is True and forced_details["gate_failures"]

    listed = json.loads(_cli(ml_settings, monkeypatch, "--json", "models", "list").stdout)
    by_version = {v["version"]: v for v in listed["versions"]}
    assert CHAMPION in by_version[good]["aliases"] and CHALLENGER in by_version[bad]["aliases"]
    assert "model_roc_auc" in by_version[good]["metrics"]
    table = _cli(ml_settings, monkeypatch, "models", "list").stdout
    assert "champion" in table and "challenger" in table


def test_a_model_of_another_feature_spec_is_never_registered_loaded_or_promoted(
    trained, ml_settings, tmp_path
):
    from rapport.training.promotion import promote

    registry = Registry(ml_settings)
    good = registry.load_version(trained.version)
    other_spec = FeatureSpec("engagement-0", FEATURE_SPEC.numeric[:5], ())
    foreign = EngagementScorer(
        name=MODEL_NAME,
        feature_spec=other_spec,
        estimator=Noise(),
        categories={},
        reference={n: good.reference[n] for n in other_spec.names},
    )
    with registry.start_run(run_name="foreign"):
        uri = registry.log_model(foreign, pd.DataFrame([foreign.reference]))
    with pytest.raises(ModelRejected, match="feature spec"):
        registry.register(uri, other_spec)
    # slipped in past register() (an older release, another tool): still refused
    mv = registry.client.create_model_version(
        MODEL_NAME, uri, tags={"feature_spec_hash": other_spec.fingerprint()}
    )
    registry.set_alias(MODEL_NAME, CHALLENGER, mv.version)
    with pytest.raises(ModelRejected, match="feature spec"):
        promote(ml_settings, force=True, now=NOW)
    assert registry.resolve_alias(MODEL_NAME, CHAMPION) is None
    path = registry.download_version(mv.version, tmp_path / "foreign")
    with pytest.raises(ModelRejected):
        load_scorer(path)
    assert load_scorer(path, expected_spec=None).feature_spec == other_spec
    with pytest.raises(NotFound):
        registry.get_version("99")
    assert registry.resolve_alias(MODEL_NAME, "nope") is None
    assert registry.resolve_alias("no-such-model", CHAMPION) is None


# -- bad input -------------------------------------------------------------------------------
def test_bad_input_is_refused_without_registering(ml_settings, seeded, monkeypatch):
    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    r = _cli(ml_settings, monkeypatch, "train", "engagement", "--cutoff", future, code=1)
    assert r.stderr.startswith("INVALID_ARGUMENT") and "future" in r.stderr
    r = _cli(ml_settings, monkeypatch, "train", "engagement", "--horizon", "0d", code=1)
    assert r.stderr.startswith("INVALID_ARGUMENT") and "horizon" in r.stderr
    r = _cli(ml_settings, monkeypatch, "train", "engagement", "--cutoff", "2001-01-01", code=1)
    assert r.stderr.startswith("INVALID_ARGUMENT") and "before any data" in r.stderr
    r = _cli(ml_settings, monkeypatch, "models", "promote", code=1)
    assert r.stderr.startswith("NOT_FOUND") and "train engagement" in r.stderr
    r = _cli(ml_settings, monkeypatch, "train", "engagement", "--data", "csv", code=1)
    assert r.stderr.startswith("INVALID_ARGUMENT")
    assert Registry(ml_settings).list_versions() == []


def test_a_one_class_training_set_is_refused(ml_settings, db):
    """Nobody ever answers: nothing to learn, no version, no alias."""
    t0 = NOW - timedelta(days=400)
    people = []
    for i in range(30):
        sends = [SeedEvent("email_sent", t0 + timedelta(days=10 * k + i % 7), "email")
                 for k in range(38)]  # fmt: skip
        draft = CandidateDraft(first_name=f"P{i}", emails=[f"p{i}@example.org"], source="agency")
        people.append(SeedPerson(draft, t0, tuple(sends), {}))
    seed_loader.load_people(db, people)
    with pytest.raises(PreconditionFailed, match="one class"):
        train_engagement(ml_settings, now=NOW, cutoffs=6)
    assert Registry(ml_settings).list_versions() == []


# -- evaluation against the simulator's truth ------------------------------------------------
def test_true_reply_probability_follows_the_simulator_state():
    from rapport.core.seeding import (
        FATIGUE_PER_UNANSWERED,
        REPLIED_BEFORE_EFFECT,
    )
    from rapport.training.eval_engagement import true_p_reply

    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    events = (
        SeedEvent("email_sent", t0 + timedelta(days=1), "email"),
        SeedEvent("email_replied", t0 + timedelta(days=2), "email"),
        SeedEvent("email_sent", t0 + timedelta(days=40), "email"),
        SeedEvent("email_sent", t0 + timedelta(days=45), "email"),
        SeedEvent("email_sent", t0 + timedelta(days=80), "email"),
        SeedEvent("email_bounced", t0 + timedelta(days=80, seconds=30), "email"),
    )
    person = SeedPerson(CandidateDraft(), t0, events, {"logit_responsiveness": -2.0})

    def sig(x: float) -> float:
        return 1 / (1 + math.exp(-x))

    assert true_p_reply(person, t0) == pytest.approx(sig(-2.0))
    assert true_p_reply(person, t0 + timedelta(days=1, hours=1)) == pytest.approx(
        sig(-2.0 - FATIGUE_PER_UNANSWERED)  # one touch pending, unanswered so far
    )
    after_two = -2.0 + REPLIED_BEFORE_EFFECT - 2 * FATIGUE_PER_UNANSWERED
    assert true_p_reply(person, t0 + timedelta(days=50)) == pytest.approx(sig(after_two))
    assert true_p_reply(person, t0 + timedelta(days=90)) == pytest.approx(sig(after_two))


def test_eval_on_a_small_seeded_store_reports_both_models_and_the_truth():
    from threadpoolctl import threadpool_limits

    from rapport.training.eval_engagement import evaluate_store

    with threadpool_limits(limits=1, user_api="openmp"):
        result = evaluate_store(people=800, cutoffs=6)  # few positives: loose bounds
    for name in ("model", "baseline"):
        assert set(result[name]) >= {"roc_auc", "pr_auc", "brier", "ece", "top_decile_lift"}
        assert 0.55 < result[name]["roc_auc"] <= 1 and result[name]["ece"] < 0.1
    end = result["truth"]["at_end_of_history"]
    assert end["people"] > 750 and 0 < end["reachable_people"] <= end["people"]
    assert end["reachable"]["spearman_model"] > 0.1  # it recovers some of the truth
    cut = result["truth"]["at_holdout_cutoff"]
    assert 0.5 < cut["oracle_roc_auc_true_p_reply"] < 1
    assert cut["model_roc_auc"] == pytest.approx(result["model"]["roc_auc"], abs=0.02)


# -- Hillstrom (needs ../shared/data) --------------------------------------------------------
def _hillstrom_path():
    from rapport.training.hillstrom import find_hillstrom

    try:
        return find_hillstrom("", Settings())
    except NotFound:
        return None


@pytest.mark.skipif(_hillstrom_path() is None, reason="shared/data/hillstrom is not present")
def test_hillstrom_trains_on_its_own_name(ml_settings):
    from rapport.training.hillstrom import HILLSTROM_SPEC, OUTCOMES, load_hillstrom, train_hillstrom

    X, y = load_hillstrom(_hillstrom_path())
    assert len(y) == 64_000 and 0.14 < y.mean() < 0.15
    assert not set(OUTCOMES) & set(X.columns) and list(X.columns) == list(HILLSTROM_SPEC.names)
    result = train_hillstrom(ml_settings, rows=12_000)  # the full 64,000: `rapport eval`
    assert 0.58 < result.model_metrics["roc_auc"] < 0.72
    assert 0.58 < result.baseline_metrics["roc_auc"] < 0.72
    assert result.rows["holdout"] == 3000
    assert result.version.name == "rapport-engagement-hillstrom" and not result.version.aliases
    assert Registry(ml_settings).list_versions(MODEL_NAME) == []


def test_hillstrom_absent_is_a_clear_error(ml_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("RAPPORT_EVAL_DATA", str(tmp_path / "nothing-here"))
    r = _cli(ml_settings, monkeypatch, "train", "engagement", "--data", "hillstrom", code=1)
    assert r.stderr.startswith("NOT_FOUND") and "hillstrom" in r.stderr
