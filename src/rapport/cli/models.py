"""Local model verbs (DESIGN §7, §10): `rapport train engagement`, `rapport models
list|promote|rollback`. They work on this machine's store and MLflow tracking store
(`RAPPORT_DATABASE_URL`, `RAPPORT_MLFLOW_URI`), not through the gRPC API.

Errors exit 1 with `STATUS: message` on stderr, like the client verbs: a bad cutoff or
horizon is INVALID_ARGUMENT, a one-class training set, a refused promotion or a model of
another feature spec FAILED_PRECONDITION, missing data NOT_FOUND.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import typer
from rich.table import Table

from rapport.cli.output import console, emit_json, errors
from rapport.core.config import Settings
from rapport.core.errors import RapportError

train_app = typer.Typer(no_args_is_help=True, help="Train models on this machine's data.")
models_app = typer.Typer(
    no_args_is_help=True, help="Registered engagement models: list, promote, roll back."
)

METRICS = ("roc_auc", "pr_auc", "brier", "ece", "top_decile_lift")


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
    app.add_typer(models_app, name="models")


def _json(ctx: typer.Context, local: bool) -> bool:
    return bool(local or (ctx.obj is not None and ctx.obj.json))


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Domain errors -> `STATUS: message` on stderr and exit code 1."""
    from rapport.services.common.errors import status_code_for

    try:
        yield
    except RapportError as err:
        code = status_code_for(err)
        status = code.name if code else "FAILED_PRECONDITION"
        errors.print(f"{status}: {err}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _fmt(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if not value.is_integer() or value < 1 else f"{value:,.0f}"
    return str(value)


def _metrics_table(title: str, columns: dict[str, dict]) -> Table:
    table = Table(title=title)
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    for metric in (*METRICS, "rows", "positives"):
        table.add_row(metric, *(_fmt(m.get(metric)) for m in columns.values()))
    return table


@train_app.command("engagement")
def train_engagement(
    ctx: typer.Context,
    cutoff: str = typer.Option(
        None,
        "--cutoff",
        help="Holdout cutoff (ISO date). Default: the latest one whose label window is recorded.",
    ),
    horizon: str = typer.Option("30d", "--horizon", help="Label window: 30d, 2w, 36h..."),
    cutoffs: int = typer.Option(
        12, "--cutoffs", help="Cutoffs one horizon apart (fit..., calibrate, hold out)."
    ),
    data: str = typer.Option("store", "--data", help="store | hillstrom"),
    data_dir: str = typer.Option(
        "", "--data-dir", help="Hillstrom: folder with hillstrom/hillstrom.csv, or the file."
    ),
    seed: int = typer.Option(0, "--seed"),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """Train the logistic baseline and the calibrated gradient-boosted model, log both to
    MLflow and register the model (alias `challenger` for --data store)."""
    as_json = _json(ctx, json_out)
    settings = Settings()
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    say = (lambda msg: None) if as_json else (lambda msg: console.print(f"[dim]{msg}[/dim]"))
    with _errors():
        if data == "store":
            from rapport.training.engagement import train_engagement as run

            result = run(
                settings,
                cutoff=cutoff,
                horizon=horizon,
                cutoffs=cutoffs,
                seed=seed,
                progress=say,
            )
        elif data == "hillstrom":
            from rapport.training.hillstrom import train_hillstrom

            if cutoff:
                say("--cutoff does not apply to Hillstrom (a stratified split); ignored")
            result = train_hillstrom(settings, data_dir=data_dir, seed=seed)
        else:
            from rapport.core.errors import ValidationFailed, Violation

            raise ValidationFailed(Violation("data", "one of: store, hillstrom"))
    out = result.to_dict()
    if as_json:
        emit_json(out)
        return
    title = f"{out['model_name']} v{out['version']}" + (
        f" @{','.join(out['aliases'])}" if out["aliases"] else ""
    )
    console.print(
        _metrics_table(
            f"{title}: holdout ({out['rows']['holdout']:,} rows)",
            {"gradient boosting": out["model"], "logistic baseline": out["baseline"]},
        )
    )
    console.print(
        f"rows: fit {out['rows']['fit']:,}, calibration {out['rows']['calibration']:,}; "
        f"run {out['run_id']}; data hash {out['training_data_hash'][:12]}; "
        f"{out['timings_s'].get('total', 0):.1f} s"
    )
    if data == "store":
        console.print("promote it with `rapport models promote`")


@models_app.command("list")
def list_models(
    ctx: typer.Context,
    name: str = typer.Option("rapport-engagement", "--name", help="Registered model name."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """Versions with their aliases and holdout metrics (all of them, baseline's too, with
    --json)."""
    from rapport.models.engagement.registry import Registry

    with _errors():
        versions = Registry(Settings()).list_versions(name)
    if _json(ctx, json_out):
        emit_json({"name": name, "versions": [v.to_dict() for v in versions]})
        return
    if not versions:
        console.print(f"no versions of {name} yet: run `rapport train engagement`")
        return
    table = Table(title=f"{name}: holdout metrics of each training run")
    table.add_column("ver", justify="right")
    table.add_column("aliases", min_width=10)
    table.add_column("created", min_width=10)
    for col in ("AUC", "PR-AUC", "ECE", "lift", "base AUC"):
        table.add_column(col, justify="right")
    unservable = []
    for v in versions:
        m = v.metrics
        if not v.spec_matches:
            unservable.append(v.version)
        table.add_row(
            v.version + ("" if v.spec_matches else "*"),
            "\n".join(v.aliases),
            f"{v.created_at:%Y-%m-%d}" if v.created_at else "",
            *(
                _fmt(m.get(key), 3)
                for key in (
                    "model_roc_auc",
                    "model_pr_auc",
                    "model_ece",
                    "model_top_decile_lift",
                    "baseline_roc_auc",
                )
            ),
        )
    console.print(table)
    if unservable:
        console.print(
            f"* trained on another feature spec than this code computes: not servable "
            f"({', '.join(unservable)})"
        )


def _decision_output(ctx: typer.Context, json_out: bool, decision) -> None:
    out = decision.to_dict()
    if _json(ctx, json_out):
        emit_json(out)
    else:
        h = out["holdout"]
        if out["candidate"]:
            columns = {f"v{out['candidate_version']} (candidate)": out["candidate"]}
            if out["champion"]:
                columns[f"v{out['champion_before']} (champion)"] = out["champion"]
            console.print(
                _metrics_table(
                    f"fresh holdout: cutoff {h['cutoff'][:10]}, {h['horizon_days']:g}-day "
                    f"horizon, {h['rows']:,} people, {h['positives']:,} responses",
                    columns,
                )
            )
        for note in out["notes"]:
            console.print(f"[dim]{note}[/dim]")
        if out["promoted"]:
            how = "FORCED past: " + "; ".join(out["reasons"]) if out["forced"] else "gate passed"
            console.print(
                f"champion: v{out['champion_before'] or '-'} -> v{out['candidate_version']} "
                f"({out['action']}; {how})"
            )
    if not decision.promoted and decision.reasons:
        errors.print(
            f"FAILED_PRECONDITION: v{decision.candidate} not promoted: "
            + "; ".join(decision.reasons)
            + " (--force overrides, and is recorded)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


@models_app.command("promote")
def promote(
    ctx: typer.Context,
    version: str = typer.Option(
        None, "--version", help="Version to promote (default: challenger)."
    ),
    force: bool = typer.Option(False, "--force", help="Promote even if the gate fails (audited)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """Move `champion` to the challenger if, on a fresh holdout from the store, its ROC-AUC
    is within 0.005 of the champion's and its calibration error at most 0.05."""
    from rapport.training.promotion import promote as run

    with _errors():
        decision = run(Settings(), version=version, force=force)
    _decision_output(ctx, json_out, decision)


@models_app.command("rollback")
def rollback(
    ctx: typer.Context,
    version: str = typer.Option(
        None, "--version", help="Version to serve again (default: the previous champion)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """Move `champion` back (no gate: that version served before). Audited."""
    from rapport.training.promotion import rollback as run

    with _errors():
        decision = run(Settings(), version=version)
    _decision_output(ctx, json_out, decision)
