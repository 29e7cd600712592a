"""A hostile PDF against a server process: parsing is cut at its budget and the loop keeps answering."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.knowledge.pdfs import shared_stream_pdf
from tests.support.server import running_server, server_env

pytestmark = pytest.mark.e2e

KEYS = {"admin-key": ["admin"], "agent-key": ["agent"]}
BUDGET_S = 2.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("upload-isolation")
    env = server_env(data_dir, KEYS, TXASSIST_UPLOAD_PARSE_TIMEOUT_S=str(BUDGET_S), TXASSIST_UPLOAD_MAX_PAGES="20")
    with running_server(env, data_dir / "server.log", ready_path="/health/live") as base:
        yield base


def test_a_slow_pdf_is_refused_at_its_budget_while_health_answers(server: str) -> None:
    # 8 pages sharing one compressed stream: about 2 KB that pypdf needs most of a second per page for
    # (pypdf 7 parses it four times faster than pypdf 6 did, so the stream is long enough for both).
    pdf = shared_stream_pdf(pages=8, ops=100_000)
    assert len(pdf) < 4_000
    outcome: dict[str, httpx.Response] = {}
    failures: list[BaseException] = []

    def upload() -> None:
        try:
            with httpx.Client(base_url=server, timeout=60) as client:
                outcome["response"] = client.post(
                    "/v1/kb/documents",
                    files={"file": ("slow.pdf", pdf, "application/pdf")},
                    headers={"Authorization": "Bearer admin-key"},
                )
        except BaseException as exc:  # the thread's error is the test's failure, not a bare KeyError
            failures.append(exc)

    worker = threading.Thread(target=upload)
    started = time.perf_counter()
    worker.start()
    probes: list[float] = []
    with httpx.Client(base_url=server, timeout=30) as client:
        while worker.is_alive():
            probe_started = time.perf_counter()
            assert client.get("/health/live").status_code == 200
            probes.append(time.perf_counter() - probe_started)
            time.sleep(0.05)
    worker.join()
    elapsed = time.perf_counter() - started
    assert not failures, repr(failures[0]) if failures else ""
    response = outcome["response"]
    assert response.status_code == 422, response.text
    assert "longer than" in response.json()["detail"]
    assert elapsed < BUDGET_S + 3  # cut at the budget, not run to the end (about 8 s)
    assert len(probes) >= 5
    # In-process parsing held the GIL and the loop for the whole parse.
    assert sorted(probes)[len(probes) // 2] < 0.1 and max(probes) < 0.5, probes

    with httpx.Client(base_url=server, timeout=30) as client:
        response = client.get("/v1/kb/documents/slow", headers={"Authorization": "Bearer agent-key"})
        assert response.status_code == 404
