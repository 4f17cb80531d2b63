"""Run every benchmark in quick mode (or as given), one after another, and summarise.

``python benchmarks/run_all.py`` runs each ``bench_*.py`` with ``--quick``;
``python benchmarks/run_all.py --full`` runs them at full scale (tens of minutes).
Extra names pick benchmarks: ``python benchmarks/run_all.py fleet cpu``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = (
    "fleet",
    "realistic",
    "latency",
    "waiting",
    "cpu",
    "bulk_memory",
    "downloads",
    "models_speed",
    "prepare_lag",
)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="full scale instead of --quick")
    p.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {', '.join(ORDER)})")
    args = p.parse_args()
    names = args.names or [n for n in ORDER if (HERE / f"bench_{n}.py").exists()]
    summary: list[tuple[str, str, float]] = []
    for name in names:
        script = HERE / f"bench_{name}.py"
        if not script.exists():
            summary.append((name, "missing", 0.0))
            continue
        command = [sys.executable, str(script), *([] if args.full else ["--quick"])]
        print(f"\n$ {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        code = subprocess.call(command, cwd=HERE.parent)
        verdict = {0: "pass", 1: "FAIL (target missed)"}.get(code, f"ERROR (exit {code})")
        summary.append((name, verdict, time.perf_counter() - started))
    print("\n== summary")
    for name, verdict, seconds in summary:
        print(f"{name:<12} {verdict:<22} {seconds:6.1f} s")
    return 0 if all(v == "pass" for _, v, _ in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
