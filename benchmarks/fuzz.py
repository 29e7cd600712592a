"""A longer schemathesis run than CI's: every operation, many more generated cases.

    python -m benchmarks.fuzz --examples 500      # make fuzz; writes benchmarks/results/fuzz.json

It runs the same tests as CI, tests/reliability/test_fuzz_schema.py (in-process ASGI, all-scopes key,
no 5xx, responses conform to the schema) and test_hostile_bodies.py (hostile JSON beyond the schema:
4xx and nothing stored), with more examples per operation, and records the count.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "benchmarks" / "results" / "fuzz.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="long schemathesis run")
    parser.add_argument("--examples", type=int, default=500, help="generated cases per operation")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    report = REPO_ROOT / "benchmarks" / "results" / "fuzz-junit.xml"
    report.parent.mkdir(parents=True, exist_ok=True)
    counts_file = REPO_ROOT / "benchmarks" / "results" / "fuzz-cases.json"
    env = {
        **os.environ,
        "TXASSIST_FUZZ_EXAMPLES": str(args.examples),
        "TXASSIST_FUZZ_COUNTS": str(counts_file),
        "HF_HUB_OFFLINE": "1",
    }
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/reliability/test_fuzz_schema.py",
            "tests/reliability/test_hostile_bodies.py",
            f"--junitxml={report}",
            "-o",
            "timeout=0",
        ],
        cwd=REPO_ROOT,
        env=env,
        check=False,
    )
    cases = json.loads(counts_file.read_text()) if counts_file.exists() else {}
    result = {
        "examples_per_operation": args.examples,
        "operations": len(cases),
        "cases": sum(cases.values()),
        "per_operation": cases,
        "passed": proc.returncode == 0,
        "duration_s": round(time.monotonic() - started, 1),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "per_operation"}, indent=2))
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
