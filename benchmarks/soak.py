"""Load and soak: mixed traffic from the three callers against a running server process.

Platform: customer and agent turns (POST /v1/conversations/{id}/turns); agents: drafts and
summaries; product: signal pulls (GET /v1/signals, /v1/signals/summary). Records error rate
(5xx and transport errors; 429 sheds are counted apart), p50/p99 per kind and the server's RSS
over time (a leak shows as RSS climbing after warm-up).

    python -m benchmarks.soak --duration 300            # make soak: writes benchmarks/results/soak.json
    python -m benchmarks.soak --duration 25 --out x.json # the CI version (tests/reliability/test_load_short.py)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import itertools
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from txassist.embedding.backends import BACKEND_SETTINGS

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
RESULTS = REPO_ROOT / "benchmarks" / "results" / "soak.json"
KEYS = {"platform-key": ["platform"], "agent-key": ["agent"], "product-key": ["product"]}
AGENT_LINES = [
    "I'm sorry about that, let me check your account.",
    "Thanks for waiting, I can see the order here.",
    "Could you confirm the email address on the account?",
]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    transport_errors: int = 0

    def record(self, kind: str, status: int, seconds: float) -> None:
        self.statuses[kind][status] += 1
        if status < 500 and status != 429:
            self.latencies[kind].append(seconds)


def customer_texts(limit: int = 2000) -> list[str]:
    path = SHARED_DATA / "banking77" / "train.csv"
    if not path.exists():
        return ["My card still hasn't arrived and I want to cancel my account.", "The app keeps crashing."]
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["text"] for row, _ in zip(csv.DictReader(handle), range(limit), strict=False)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def server_process(
    data_dir: Path, port: int, extra_env: dict[str, str] | None = None, *, ingest_kb: bool = True
) -> Any:
    env = {
        **os.environ,
        "TXASSIST_DATA_DIR": str(data_dir),
        "TXASSIST_API_KEYS": json.dumps(KEYS),
        "TXASSIST_LOG_LEVEL": "warning",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        **(extra_env or {}),
    }
    cli = [sys.executable, "-m", "txassist"]
    kb = REPO_ROOT / "examples" / "kb"
    if ingest_kb and kb.exists():
        subprocess.run([*cli, "kb", "ingest", str(kb)], env=env, check=False, capture_output=True)
    proc = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def wait_ready(client: httpx.AsyncClient, proc: subprocess.Popen[bytes], timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get("/health/ready")).status_code == 200:
                return
        await asyncio.sleep(0.5)
    raise RuntimeError("server not ready in time")


async def platform_worker(client: httpx.AsyncClient, tally: Tally, stop: float, n: int, texts: list[str]) -> None:
    rng = random.Random(n)
    for conversation in itertools.count():
        conversation_id = f"soak-{n}-{conversation}"
        customer = f"cust-{rng.randrange(500)}"
        for turn in range(6):
            if time.monotonic() >= stop:
                return
            speaker = "customer" if turn % 2 == 0 else "agent"
            text = rng.choice(texts) if speaker == "customer" else rng.choice(AGENT_LINES)
            body = {"customer_id": customer, "channel": "chat", "speaker": speaker, "text": text, "turn_id": f"t{turn}"}
            await timed(
                client, tally, "turn", "POST", f"/v1/conversations/{conversation_id}/turns", "platform-key", body
            )
            if turn == 3:
                await timed(
                    client, tally, "draft", "POST", f"/v1/conversations/{conversation_id}/draft", "agent-key", {}
                )
            if turn == 5:
                await timed(
                    client, tally, "summary", "POST", f"/v1/conversations/{conversation_id}/summary", "agent-key", {}
                )


async def product_worker(client: httpx.AsyncClient, tally: Tally, stop: float) -> None:
    while time.monotonic() < stop:
        await timed(client, tally, "signals", "GET", "/v1/signals?limit=50", "product-key", None)
        await timed(client, tally, "signals_summary", "GET", "/v1/signals/summary", "product-key", None)
        await asyncio.sleep(0.5)


async def timed(client: httpx.AsyncClient, tally: Tally, kind: str, method: str, url: str, key: str, body: Any) -> None:
    started = time.perf_counter()
    try:
        response = await client.request(method, url, json=body, headers={"Authorization": f"Bearer {key}"})
    except httpx.HTTPError:
        tally.transport_errors += 1
        return
    tally.record(kind, response.status_code, time.perf_counter() - started)


async def sample_rss(proc: subprocess.Popen[bytes], samples: list[tuple[float, float]], stop: float) -> None:
    process = psutil.Process(proc.pid)
    started = time.monotonic()
    while time.monotonic() < stop:
        samples.append((round(time.monotonic() - started, 1), process.memory_info().rss / 2**20))
        await asyncio.sleep(1.0)


def trim_native_heap(pid: int) -> dict[str, float] | None:
    """RSS before and after asking glibc to hand its free pages back (``malloc_trim(0)`` via gdb).

    Memory that a trim gives back was freed by the service and kept by the allocator: retention, not
    a leak. What stays after the trim is live. ``None`` where gdb is not installed.
    """
    gdb = shutil.which("gdb")
    if gdb is None:
        return None
    process = psutil.Process(pid)
    before = process.memory_info().rss / 2**20
    subprocess.run(
        [gdb, "-p", str(pid), "-batch", "-ex", "call (int) malloc_trim(0)"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    after = process.memory_info().rss / 2**20
    return {"rss_mb_before": round(before, 1), "rss_mb_after": round(after, 1), "released_mb": round(before - after, 1)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))]


def summarize(tally: Tally, rss: list[tuple[float, float]], duration_s: float, concurrency: int) -> dict[str, Any]:
    total = sum(sum(s.values()) for s in tally.statuses.values()) + tally.transport_errors
    errors = sum(n for s in tally.statuses.values() for code, n in s.items() if code >= 500) + tally.transport_errors
    shed = sum(s.get(429, 0) for s in tally.statuses.values())
    per_kind = {}
    for kind, statuses in sorted(tally.statuses.items()):
        lat = tally.latencies.get(kind, [])
        per_kind[kind] = {
            "requests": sum(statuses.values()),
            "statuses": {str(code): n for code, n in sorted(statuses.items())},
            "p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
            "p99_ms": round(percentile(lat, 0.99) * 1000, 1) if lat else None,
        }
    all_lat = [x for values in tally.latencies.values() for x in values]
    # Growth is measured after warm-up (the first fifth) so model and cache loading do not count.
    timed = [(t, mb) for t, mb in rss if t >= duration_s / 5]
    steady = [mb for _, mb in timed]
    window = max(1, len(steady) // 5)
    growth = (statistics.median(steady[-window:]) - statistics.median(steady[:window])) if steady else None
    # A leak climbs at a steady rate; caches filling up climb ever slower. The slope per third says which.
    thirds = [timed[i * len(timed) // 3 : (i + 1) * len(timed) // 3] for i in range(3)]
    slopes = [
        round((part[-1][1] - part[0][1]) / ((part[-1][0] - part[0][0]) / 60), 2)
        for part in thirds
        if len(part) > 1 and part[-1][0] > part[0][0]
    ]
    return {
        "duration_s": round(duration_s, 1),
        "concurrency": concurrency,
        "requests": total,
        "throughput_rps": round(total / duration_s, 2) if duration_s else None,
        "error_rate": round(errors / total, 5) if total else None,
        "errors_5xx_or_transport": errors,
        "shed_429": shed,
        "p50_ms": round(statistics.median(all_lat) * 1000, 1) if all_lat else None,
        "p99_ms": round(percentile(all_lat, 0.99) * 1000, 1) if all_lat else None,
        "per_kind": per_kind,
        "rss_mb_start": round(steady[0], 1) if steady else None,
        "rss_mb_end": round(steady[-1], 1) if steady else None,
        "rss_growth_mb": round(growth, 1) if growth is not None else None,
        "rss_mb_per_min_by_third": slopes,
        "rss_samples": [(t, round(mb, 1)) for t, mb in rss[:: max(1, len(rss) // 60)]],
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
    }


async def run(
    duration_s: float, concurrency: int, data_dir: Path, backend: str = "", trim: bool = False
) -> dict[str, Any]:
    port = free_port()
    texts = customer_texts()
    # The service's own default (or the environment's) unless a backend is named.
    extra_env = {"TXASSIST_EMBEDDING_BACKEND": backend} if backend else None
    with server_process(data_dir, port, extra_env) as proc:
        timeout = httpx.Timeout(60.0)
        limits = httpx.Limits(max_connections=concurrency + 4)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=timeout, limits=limits) as client:
            await wait_ready(client, proc)
            tally = Tally()
            rss: list[tuple[float, float]] = []
            started = time.monotonic()
            stop = started + duration_s
            await asyncio.gather(
                sample_rss(proc, rss, stop),
                product_worker(client, tally, stop),
                *(platform_worker(client, tally, stop, n, texts) for n in range(concurrency)),
            )
            elapsed = time.monotonic() - started
            trimmed = await asyncio.to_thread(trim_native_heap, proc.pid) if trim else None
    summary = summarize(tally, rss, elapsed, concurrency)
    if trim:
        summary["malloc_trim"] = trimmed or "gdb not installed"
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of traffic (default 300)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent platform conversations")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--backend", default="", choices=["", *BACKEND_SETTINGS])
    parser.add_argument(
        "--trim", action="store_true", help="after the traffic, malloc_trim the server (gdb) and record RSS"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="txassist-soak-") as tmp:
        result = asyncio.run(run(args.duration, args.concurrency, Path(tmp) / "data", args.backend, args.trim))
    result["backend"] = args.backend or os.environ.get("TXASSIST_EMBEDDING_BACKEND", "torch")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("rss_samples", "per_kind")}, indent=2))
    return 0 if result["errors_5xx_or_transport"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
