"""`rapport eval ...`: offline quality measurements on held-out data, each beside a baseline."""

from __future__ import annotations

import typer
from rich.table import Table

from rapport.cli.output import console, emit_json, errors
from rapport.core.config import Settings

eval_app = typer.Typer(no_args_is_help=True, help="Measure model quality on held-out data.")


def _skills_table(result: dict) -> Table:
    skills = result["skills"]
    table = Table(
        title=f"skill mapping to {skills['candidates']:,} ESCO labels ({result['encoder_id']})"
    )
    for col in ("data", "split", "queries", "system", "RP@5", "MRR"):
        table.add_column(col, justify="right" if col in ("queries", "RP@5", "MRR") else "left")
    for dataset, splits in skills["results"].items():
        for split, systems in splits.items():
            for system in ("ours", "anchor", "tfidf"):
                m = systems[system]
                table.add_row(
                    dataset.upper(),
                    split,
                    str(systems["queries"]),
                    system,
                    f"{m['rp@5']:.1f}",
                    f"{m['mrr']:.1f}",
                )
    return table


def _resumes_table(results: dict) -> Table:
    table = Table(title="role-to-resume retrieval (25 categories as roles)")
    for col in ("encoder", "resumes", "system", "MAP", "nDCG@10"):
        table.add_column(col, justify="left" if col in ("encoder", "system") else "right")
    for _kind, r in results.items():
        res = r["resumes"]
        for system in ("ours", "tfidf"):
            table.add_row(
                r["encoder_id"],
                str(res["resumes"]),
                system,
                f"{res[system]['MAP']:.1f}",
                f"{res[system]['nDCG@10']:.1f}",
            )
    return table


@eval_app.command("matching")
def matching(
    ctx: typer.Context,
    data: str = typer.Option("", "--data", help="Folder with skills_benchmark/ and resumes/."),
    encoders: str = typer.Option(
        "onnx,onnx-int8", "--encoders", help="Encoders to evaluate (fake, torch, onnx, onnx-int8)."
    ),
    splits: str = typer.Option("validation,test", "--splits"),
) -> None:
    """Skill mapping (TECH, HOUSE) and role-to-resume ranking, with keyword baselines."""
    from rapport.training.eval_matching import evaluate_matching, find_data_dir

    settings = Settings()
    folder = find_data_dir(data, settings)
    if folder is None or not (folder / "skills_benchmark").is_dir():
        errors.print(
            "NOT_FOUND: no evaluation data; pass --data DIR (with skills_benchmark/ and "
            "resumes/) or set RAPPORT_EVAL_DATA"
        )
        raise typer.Exit(1)
    kinds = [k.strip() for k in encoders.split(",") if k.strip()]
    result = evaluate_matching(
        folder, settings, kinds, [s.strip() for s in splits.split(",") if s.strip()]
    )
    if ctx.obj.json:
        emit_json(result)
        return
    for r in result["encoders"].values():
        console.print(_skills_table(r))
    console.print(_resumes_table(result["encoders"]))
    verdict = result.get("int8")
    if verdict:
        ok = verdict["int8_may_be_default"]
        console.print(
            f"int8 vs fp32: worst delta {verdict['worst_delta']:+.2f} points on "
            f"{len(verdict['deltas'])} metrics -> "
            + ("[green]int8 may be the default[/green]" if ok else "[red]keep fp32[/red]")
        )


def _content_tables(result: dict) -> list[Table]:
    """Compact tables (an 80-column terminal); the JSON has every interval and count."""
    tables = []
    obd = result.get("obd", {})
    if "campaigns" in obd:
        t = Table(title="Open Bandit Dataset: Bernoulli TS from the uniform-random log")
        for col in ("campaign", "truth", "estimator", "estimate", "95% CI", "rel.err", "covers"):
            t.add_column(col, justify="left" if col in ("campaign", "estimator") else "right")
        for name, c in obd["campaigns"].items():
            truth = c["truth_bts_ctr"]
            for i, (est_name, e) in enumerate(c["estimates"].items()):
                lo = e.get("bootstrap_lower", e["lower"])
                hi = e.get("bootstrap_upper", e["upper"])
                covers = e.get("covers_truth")
                t.add_row(
                    name if i == 0 else "",
                    f"{truth['value']:.4f}" if i == 0 else "",
                    est_name,
                    f"{e['value']:.4f}",
                    f"{lo:.4f}-{hi:.4f}" if est_name != "dm" else "-",
                    f"{e['relative_error']:.0%}",
                    "-" if covers is None else ("yes" if covers else "[red]no[/red]"),
                )
        tables.append(t)
    hill = result.get("hillstrom", {})
    if "policies" in hill:
        t = Table(title=f"Hillstrom: visit rate by policy ({hill['test_rows']:,} held out)")
        for col in ("policy", "mailed", "truth", "IPS", "SNIPS", "DR", "DR 95% CI"):
            t.add_column(col, justify="left" if col == "policy" else "right")
        for name, p in hill["policies"].items():
            e = p["estimates"]
            truth = p["truth"]
            t.add_row(
                name,
                f"{p['share_sent_email']:.0%}",
                f"{truth['value']:.4f}" if truth else "-",
                f"{e['ips']['value']:.4f}",
                f"{e['snips']['value']:.4f}",
                f"{e['dr']['value']:.4f}",
                f"{e['dr']['lower']:.3f}-{e['dr']['upper']:.3f}",
            )
        tables.append(t)
        u = hill["uplift_at_30pct"]
        t = Table(title="Hillstrom: visit uplift, predicted-best e-mail vs none")
        for col in ("who", "people", "uplift", "95% CI"):
            t.add_column(col, justify="left" if col == "who" else "right")
        for who, row in (
            ("top 30% by predicted uplift", u["targeted"]),
            ("everyone (baseline)", u["everyone_baseline"]),
        ):
            t.add_row(
                who,
                f"{row['people']:,}",
                f"{row['uplift']:+.4f}",
                f"{row['lower']:+.3f} to {row['upper']:+.3f}",
            )
        tables.append(t)
    store = result.get("store", {})
    if "policies" in store:
        t = Table(title=f"Decision log: {store['decisions']:,} decisions with outcomes")
        for col in ("policy", "IPS", "SNIPS", "DR", "DR 95% CI"):
            t.add_column(col, justify="left" if col == "policy" else "right")
        for name, e in store["policies"].items():
            t.add_row(
                name,
                f"{e['ips']['value']:.4f}",
                f"{e['snips']['value']:.4f}",
                f"{e['dr']['value']:.4f}",
                f"{e['dr']['lower']:.3f}-{e['dr']['upper']:.3f}",
            )
        tables.append(t)
    return tables


@eval_app.command("content")
def content(
    ctx: typer.Context,
    data: str = typer.Option("", "--data", help="Folder with hillstrom/ (the shared data)."),
    parts: str = typer.Option(
        "obd,hillstrom,store", "--parts", help="Which parts: obd, hillstrom, store."
    ),
    rounds: int = typer.Option(1000, "--bootstrap", help="Bootstrap rounds for the OBD CIs."),
    out: str = typer.Option("", "--out", help="Also write the JSON result to this file."),
) -> None:
    """Off-policy estimates (IPS, SNIPS, DR) on the Open Bandit Dataset, Hillstrom and the
    store's own decision log, with the known truth beside them."""
    import json
    from pathlib import Path

    from rapport.training.eval_content import evaluate_content
    from rapport.training.eval_matching import find_data_dir

    settings = Settings()
    wanted = [p.strip() for p in parts.split(",") if p.strip()]
    unknown = sorted(set(wanted) - {"obd", "hillstrom", "store"})
    if unknown:
        raise typer.BadParameter(f"unknown parts {unknown}", param_hint="--parts")
    folder = find_data_dir(data, settings)
    result = evaluate_content(folder, settings, parts=wanted, bootstrap_rounds=rounds)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, indent=2, default=str) + "\n")
    if ctx.obj.json:
        emit_json(result)
        return
    for table in _content_tables(result):
        console.print(table)
    for part in wanted:
        note = result.get(part, {}).get("skipped")
        if note:
            console.print(f"[yellow]{part}: skipped: {note}[/yellow]")


def _engagement_tables(result: dict) -> list[Table]:
    metrics = ("roc_auc", "pr_auc", "brier", "ece", "top_decile_lift")

    def table(title: str, columns: dict[str, dict]) -> Table:
        t = Table(title=title)
        t.add_column("metric")
        for name in columns:
            t.add_column(name, justify="right")
        for m in metrics:
            t.add_row(m, *("-" if c.get(m) is None else f"{c[m]:.4f}" for c in columns.values()))
        return t

    out = []
    store = result["store"]
    p = store["params"]
    out.append(
        table(
            f"seeded store: {p['people']:,} people, {p['events']:,} events, holdout "
            f"{p['holdout_cutoff'][:10]} + {p['horizon_days']} days "
            f"({store['rows']['holdout']:,} rows)",
            {"gradient boosting": store["model"], "logistic baseline": store["baseline"]},
        )
    )
    end = store["truth"]["at_end_of_history"]
    cut = store["truth"]["at_holdout_cutoff"]
    t = Table(title="recovering the simulator's truth")
    t.add_column("comparison")
    t.add_column("model", justify="right")
    t.add_column("baseline", justify="right")
    t.add_column("truth", justify="right")

    def f(v) -> str:
        return "-" if v is None else f"{v:.3f}"

    for group in ("all", "reachable"):
        g = end[group]
        t.add_row(
            f"Spearman vs p_reply_next at the end ({group})",
            f(g["spearman_model"]),
            f(g["spearman_baseline"]),
            "",
        )
    t.add_row(
        "Spearman vs true p(reply) at the holdout cutoff",
        f(cut["spearman_model_vs_true_p_reply"]),
        f(cut["spearman_baseline_vs_true_p_reply"]),
        "",
    )
    t.add_row(
        "ROC-AUC on holdout labels",
        f(cut["model_roc_auc"]),
        "",
        f(cut["oracle_roc_auc_true_p_reply"]),
    )
    contacted = cut.get("contacted_in_window")
    if contacted:
        t.add_row(
            f"ROC-AUC among the {contacted['rows']:,} contacted in the window",
            f(contacted["model_roc_auc"]),
            f(contacted["baseline_roc_auc"]),
            f(contacted["oracle_roc_auc_true_p_reply"]),
        )
    out.append(t)
    hill = result.get("hillstrom", {})
    if "with_segment" in hill:
        out.append(
            table(
                f"Hillstrom visit (holdout {hill['with_segment']['rows']['holdout']:,}; reference "
                f"ROC-AUC {hill['reference']['with_segment_roc_auc']} with segment, "
                f"{hill['reference']['customer_only_roc_auc']} without)",
                {
                    "boosting": hill["with_segment"]["model"],
                    "logistic": hill["with_segment"]["baseline"],
                    "boosting, no segment": hill["customer_only"]["model"],
                    "logistic, no segment": hill["customer_only"]["baseline"],
                },
            )
        )
    return out


@eval_app.command("engagement")
def engagement(
    ctx: typer.Context,
    data: str = typer.Option("", "--data", help="Folder with hillstrom/hillstrom.csv."),
    people: int = typer.Option(20_000, "--people", min=500, help="Seeded people to simulate."),
    seed: int = typer.Option(7, "--seed"),
    out: str = typer.Option(
        "bench/results/eval_engagement.json",
        "--out",
        help="Where to write the figures ('' : nowhere).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """Engagement models (calibrated boosting and logistic baseline) on a seeded store with
    known truth and on Hillstrom; ROC-AUC, PR-AUC, Brier, calibration error."""
    from pathlib import Path

    from rapport.core.errors import RapportError
    from rapport.training.eval_engagement import evaluate_engagement, write_results

    as_json = json_out or ctx.obj.json
    settings = Settings()
    say = (lambda msg: None) if as_json else (lambda msg: console.print(f"[dim]{msg}[/dim]"))
    try:
        result = evaluate_engagement(
            settings, data_dir=data, people=people, seed=seed, progress=say
        )
    except RapportError as err:
        errors.print(f"FAILED_PRECONDITION: {err}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if out:
        write_results(result, Path(out))
    if as_json:
        emit_json(result)
        return
    for t in _engagement_tables(result):
        console.print(t)
    skipped = result.get("hillstrom", {}).get("skipped")
    if skipped:
        console.print(f"[yellow]hillstrom: skipped: {skipped}[/yellow]")
    if out:
        console.print(f"[dim]written to {out}[/dim]")
