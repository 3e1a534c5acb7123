"""Generate the Python stubs for protos/rapport/v1 with the pinned grpcio-tools.

`make protos` is the only way the committed stubs under src/rapport/v1 change; the
test suite calls `generate(tmp_dir)` and byte-compares the result with what is committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUT = ROOT / "src"


def proto_files() -> list[Path]:
    return sorted((PROTO_ROOT / "rapport" / "v1").glob("*.proto"))


def generate(out_dir: Path) -> None:
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(p.relative_to(PROTO_ROOT)) for p in proto_files()],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def main() -> None:
    generate(OUT)
    print(f"generated stubs for {len(proto_files())} protos into {OUT / 'rapport' / 'v1'}")


if __name__ == "__main__":
    sys.exit(main())
