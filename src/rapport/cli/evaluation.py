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
