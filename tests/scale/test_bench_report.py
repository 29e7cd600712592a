"""The benchmark report: tables, plots and the README section from result files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks import report

from txassist.cli import main


def _write(results: Path, name: str, body: dict[str, object]) -> None:
    (results / f"{name}.json").write_text(json.dumps({"benchmark": name, "environment": {"cpus_available": 2}, **body}))


def test_report_writes_tables_plots_and_the_readme_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "results"
    results.mkdir()
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n## Performance\n\n<!-- bench:start -->\nold\n<!-- bench:end -->\n\n## Other\nkept\n")
    monkeypatch.setattr(report, "RESULTS_DIR", results)
    monkeypatch.setattr(report, "PERFORMANCE_DOC", readme)
    curve = [
        {"clients": n, "turns_per_s": 10.0 * n, "errors": 0, "latency": {"p50_ms": 5.0 * n, "p99_ms": 9.0 * n}}
        for n in (1, 4, 16, 64)
    ]
    _write(
        results,
        "turn_latency",
        {
            "features": ["sentiment", "knowledge"],
            "single_client": {
                "http": {"p50_ms": 12.5, "p99_ms": 30.0},
                "http_floor": {"p50_ms": 0.5, "p99_ms": 0.9},
            },
            "raw_floor": {"p50_ms": 10.0, "p99_ms": 20.0},
            "ratio_p50_http_to_raw_floor": 1.25,
            "ratio_p50_http_to_raw_floor_plus_empty_http": 1.19,
            "curve": curve,
            "targets_met": {"p50": True, "ratio": True},
        },
    )
    _write(
        results,
        "search_scaling",
        {
            "sizes": [
                {"chunks": n, "flat": {"p50_ms": n / 1e4, "p99_ms": n / 5e3}, "hnsw": {"p50_ms": 0.5, "p99_ms": 1.0}}
                for n in (10_000, 100_000)
            ]
        },
    )
    report.write_report()
    text = (results / "REPORT.md").read_text()
    assert "| 16 | 160 | 80 | 144 | 0 | - |" in text
    assert "embedding_backends" in text or "Embedding backends: not run yet" in text
    assert (results / "turn_latency_curve.png").stat().st_size > 1000
    assert (results / "search_latency_vs_size.png").stat().st_size > 1000
    updated = readme.read_text()
    assert "old" not in updated and "| ratio HTTP / raw floor | 1.25 |" in updated
    assert "| empty HTTP round trip (liveness probe) | 0.5 | 0.9 |" in updated
    assert "| ratio HTTP / (raw floor + empty round trip) | 1.19 |" in updated
    assert updated.endswith("## Other\nkept\n")


def test_bench_cli_rejects_an_unknown_benchmark() -> None:
    assert main(["bench", "--only", "no-such-benchmark"]) == 2
