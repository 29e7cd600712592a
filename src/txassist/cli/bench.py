"""``txassist bench``: the benchmark suite (``benchmarks/run.py``) from the command line.

The benchmarks live next to the source tree, not in the installed package, so this works from a
checkout (``make bench`` does the same).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from txassist.cli.parsers import Subcommands

REPO_ROOT = Path(__file__).resolve().parents[3]


def register(sub: Subcommands) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("bench", help="run the benchmark suite and write the report")
    parser.add_argument("--only", action="append", default=None, metavar="NAME", help="run only this benchmark")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and shorter runs (smoke test)")
    parser.add_argument("--report-only", action="store_true", help="rebuild the report from existing results")
    parser.set_defaults(handler=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    if not (REPO_ROOT / "benchmarks" / "run.py").is_file():
        print("txassist bench: run it from a source checkout (benchmarks/ not found)", file=sys.stderr)
        return 2
    command = [sys.executable, "-m", "benchmarks.run"]
    for name in args.only or []:
        command += ["--only", name]
    if args.quick:
        command.append("--quick")
    if args.report_only:
        command.append("--report-only")
    return subprocess.call(command, cwd=REPO_ROOT)
