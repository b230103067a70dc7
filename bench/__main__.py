"""Run the benchmarks: `python -m bench [NAME ...]` (default: all). Results go to bench/out/."""

import importlib
import sys
from pathlib import Path

# Module names under bench/, each with main(out_dir: Path) -> None.
BENCHMARKS = ["report", "node", "fidelity", "deploy", "scale"]

OUT = Path(__file__).resolve().parent / "out"


def main(names: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in names or BENCHMARKS:
        print(f"== bench {name}", flush=True)
        importlib.import_module(f"bench.{name}").main(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
