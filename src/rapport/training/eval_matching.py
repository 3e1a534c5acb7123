"""`rapport eval matching`: skill mapping and role-to-resume retrieval, per encoder, each
beside its keyword baseline, through the same code as serving.

Run for several encoders (fp32 and int8 by default), it also answers whether the int8 model
may be the default: only if it is within `INT8_TOLERANCE` points of fp32 on every metric.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from rapport.core.config import Settings
from rapport.models.runtime import load_runtime, weights_from
from rapport.training.eval_resumes import evaluate_resumes
from rapport.training.eval_skills import evaluate_skills_benchmark

INT8_TOLERANCE = 1.0  # points (metrics are percentages)


def _ours(result: dict) -> Iterator[tuple[str, float]]:
    """Every (metric path, value) of "ours" in one encoder's result, flattened."""
    for dataset, splits in result["skills"]["results"].items():
        for split, systems in splits.items():
            for metric, value in systems["ours"].items():
                yield f"skills.{dataset}.{split}.{metric}", float(value)
    for metric, value in result["resumes"]["ours"].items():
        yield f"resumes.{metric}", float(value)


def int8_verdict(fp32: dict, int8: dict) -> dict:
    base = dict(_ours(fp32))
    deltas = {k: round(v - base[k], 2) for k, v in _ours(int8) if k in base}
    worst = min(deltas.values(), default=0.0)
    return {
        "tolerance_points": INT8_TOLERANCE,
        "deltas": deltas,
        "worst_delta": worst,
        "int8_may_be_default": worst >= -INT8_TOLERANCE,
    }


def evaluate_matching(
    data_dir: Path,
    settings: Settings,
    encoders: Sequence[str] = ("onnx", "onnx-int8"),
    splits: Sequence[str] = ("validation", "test"),
) -> dict:
    out: dict = {"data_dir": str(data_dir), "encoders": {}}
    for kind in encoders:
        started = time.perf_counter()
        encoder, builder = load_runtime(settings, kind)
        out["encoders"][kind] = {
            "encoder_id": encoder.id,
            "skills": evaluate_skills_benchmark(
                data_dir, builder.resolver, encoder, splits=tuple(splits)
            ),
            "resumes": evaluate_resumes(data_dir, encoder, builder, weights_from(settings)),
            "seconds": round(time.perf_counter() - started, 1),
        }
    if "onnx" in out["encoders"] and "onnx-int8" in out["encoders"]:
        out["int8"] = int8_verdict(out["encoders"]["onnx"], out["encoders"]["onnx-int8"])
    return out


def find_data_dir(explicit: str, settings: Settings) -> Path | None:
    """--data, then RAPPORT_EVAL_DATA, then a `shared/data` beside or above the checkout."""
    for candidate in (explicit, settings.eval_data):
        if candidate:
            return Path(candidate)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        for guess in (folder / "shared" / "data", folder.parent / "shared" / "data"):
            if (guess / "README.md").exists():
                return guess
    return None
