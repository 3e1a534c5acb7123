"""The matching benchmark of the issue, in one run: encoders, FAISS alone, RankCandidates end
to end over gRPC (with indexing from scratch). Writes bench/results/matching.json with every
part, plus each part's own file when run alone.

    python bench/matching.py [--quick] [--faiss-n 1000000] [--sizes 10000,100000]
        [--encoder onnx] [--parts encoders,faiss,rank]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matching_encoders
import matching_faiss
import matching_rank
from common import RESULTS, git_commit, machine, versions, write
from rich.console import Console

console = Console(width=150)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    ap.add_argument("--faiss-n", type=int, default=1_000_000)
    ap.add_argument("--sizes", default="10000,100000", help="store sizes for RankCandidates")
    ap.add_argument("--encoder", default="onnx", help="encoder of the served index")
    ap.add_argument("--parts", default="encoders,faiss,rank")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--collect",
        action="store_true",
        help="run nothing: gather the parts' latest bench/results/matching_*.json into one file",
    )
    args = ap.parse_args()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    payload: dict = {
        "benchmark": "matching",
        "commit": git_commit(),
        "machine": machine(),
        "versions": versions(
            "rapport", "faiss-cpu", "onnxruntime", "torch", "numpy", "grpcio", "SQLAlchemy"
        ),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "note": "2-core shared machine: figures vary run to run",
    }
    if args.collect:
        for part in sorted(parts):
            path = RESULTS / f"matching_{part}.json"
            if path.exists():
                payload[part] = json.loads(path.read_text())
        payload["note"] += "; collected from the parts' own runs (see each part's commit)"
        console.print(f"wrote {write('matching', payload, args.out)}")
        return
    if "encoders" in parts:
        payload["encoders"] = matching_encoders.run(quick=args.quick)
        matching_encoders.print_table(payload["encoders"])
    if "faiss" in parts:
        n = min(args.faiss_n, 100_000) if args.quick else args.faiss_n
        payload["faiss"] = matching_faiss.run(n, args.quick)
        matching_faiss.print_table(payload["faiss"])
    if "rank" in parts:
        sizes = [2000] if args.quick else [int(s) for s in args.sizes.split(",")]
        payload["rank"] = matching_rank.run(sizes, args.encoder, args.quick)
        console.print(matching_rank.table(payload["rank"]))
    console.print(f"wrote {write('matching', payload, args.out)}")


if __name__ == "__main__":
    main()
