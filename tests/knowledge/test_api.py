"""The knowledge API end to end: real app, real model, real index on disk."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import API_KEYS, auth
from tests.knowledge.pdfs import shared_stream_pdf
from txassist.app import create_app
from txassist.config import Settings

REPO = Path(__file__).resolve().parents[2]
PARSE_BUDGET_S = 2.0
ARTICLE = {
    "id": "pause-plan",
    "title": "Pause your plan",
    "url": "https://help.example/pause",
    "text": "# Pause your plan\n\nYou can pause deliveries for up to eight weeks from Plans > Pause.\n\n"
    "## Billing while paused\n\nWe do not charge you while your plan is paused.",
}


@pytest.fixture(scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncTestClient[Litestar]]:
    # One app for the module: the knowledge API keeps no state in the database, and starting the
    # service (models, migrations) per test would dominate the run time.
    data_dir = tmp_path_factory.mktemp("kb-api")
    settings = Settings.from_env(
        {},
        data_dir=data_dir,
        api_keys=API_KEYS,
        index_reload_interval_s=0.0,
        upload_parse_timeout_s=PARSE_BUDGET_S,
        upload_max_pages=20,
    )
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


async def _index_state(client: AsyncTestClient[Litestar]) -> dict[str, Any]:
    response = await client.get("/v1/kb/stats", headers=auth("admin-key"))
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_add_read_search_replace_delete(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/v1/kb/documents", json=ARTICLE, headers=auth("admin-key"))
    assert response.status_code == 201, response.text
    assert response.json()["added"] == ["pause-plan"]

    doc = (await client.get("/v1/kb/documents/pause-plan", headers=auth("agent-key"))).json()
    assert doc["title"] == "Pause your plan" and len(doc["chunk_ids"]) == 2

    for mode in ("hybrid", "dense", "lexical"):
        response = await client.get(
            "/v1/kb/search", params={"q": "will I be charged while paused", "mode": mode}, headers=auth("agent-key")
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["mode"] == mode
        top = body["results"][0]
        assert set(top) == {"document_id", "chunk_id", "title", "heading_path", "snippet", "url", "score"}
        assert top["document_id"] == "pause-plan" and top["url"] == "https://help.example/pause"
        assert top["heading_path"] == ["Pause your plan", "Billing while paused"]
        assert "total" in body["timings_ms"]

    replaced = dict(ARTICLE, text="# Pause your plan\n\nPausing is no longer offered; skip single weeks instead.")
    response = await client.post("/v1/kb/documents", json=[replaced], headers=auth("admin-key"))
    assert response.json()["replaced"] == ["pause-plan"]
    doc = (await client.get("/v1/kb/documents/pause-plan", headers=auth("platform-key"))).json()
    assert "no longer offered" in doc["text"] and len(doc["chunk_ids"]) == 1

    response = await client.delete("/v1/kb/documents/pause-plan", headers=auth("admin-key"))
    assert response.status_code == 200 and response.json()["deleted"] == ["pause-plan"]
    assert (await client.get("/v1/kb/documents/pause-plan", headers=auth("agent-key"))).status_code == 404
    assert (await client.delete("/v1/kb/documents/pause-plan", headers=auth("admin-key"))).status_code == 404
    response = await client.get("/v1/kb/search", params={"q": "pause"}, headers=auth("agent-key"))
    assert "pause-plan" not in {r["document_id"] for r in response.json()["results"]}


async def test_file_upload_and_scopes(client: AsyncTestClient[Litestar]) -> None:
    md = (REPO / "examples" / "kb" / "billing" / "billing-double-charge.md").read_bytes()
    faq = b"question,answer\nCan I tip the driver?,Tips are not needed.\n"
    files = [("file", ("double.md", md, "text/markdown")), ("file", ("faq.csv", faq, "text/csv"))]
    response = await client.post("/v1/kb/documents", files=files, headers=auth("admin-key"))
    assert response.status_code == 201, response.text
    assert set(response.json()["added"]) == {"billing-double-charge", "faq-0"}

    assert (await client.post("/v1/kb/documents", json=ARTICLE, headers=auth("agent-key"))).status_code == 403
    assert (await client.post("/v1/kb/documents", json=ARTICLE)).status_code == 401
    assert (await client.get("/v1/kb/search", params={"q": "x"}, headers=auth("admin-key"))).status_code == 403
    assert (await client.get("/v1/kb/search", params={"q": "x"}, headers=auth("product-key"))).status_code == 403
    response = await client.get("/v1/kb/search", params={"q": "charged twice"}, headers=auth("platform-key"))
    assert response.json()["results"][0]["document_id"] == "billing-double-charge"
    # An off-topic question with a threshold returns nothing rather than noise.
    response = await client.get(
        "/v1/kb/search",
        params={"q": "what is the capital of mongolia", "min_score": 0.45},
        headers=auth("agent-key"),
    )
    assert response.json()["results"] == []


FRONT_MATTER_JS = b"---\nurl: JavaScript:alert(1)\n---\nx"
FAQ_JS = b"question,answer,url\nq,a,javascript:x\n"
BAD_WRITES: list[tuple[str, dict[str, Any], int]] = [
    ("empty json doc", {"json": {"id": "e", "text": ""}}, 422),
    ("whitespace doc", {"json": {"id": "e", "text": "   \n "}}, 422),
    ("empty list", {"json": []}, 422),
    ("blank id", {"json": {"id": "   ", "text": "x"}}, 422),
    ("control character id", {"json": {"id": "a\u0000b", "text": "x"}}, 422),
    ("dot-dot id", {"json": {"id": "..", "text": "x"}}, 422),
    ("257-character id", {"json": {"id": "x" * 257, "text": "x"}}, 422),
    ("javascript url", {"json": {"id": "u", "text": "x", "url": "javascript:alert(1)"}}, 422),
    ("data url", {"json": {"id": "u", "text": "x", "url": "data:text/html,<script>alert(1)</script>"}}, 422),
    ("relative url", {"json": {"id": "u", "text": "x", "url": "/help/refunds"}}, 422),
    ("ftp url", {"json": {"id": "u", "text": "x", "url": "ftp://files.example/a"}}, 422),
    ("url with spaces", {"json": {"id": "u", "text": "x", "url": "https://help.example/a b"}}, 422),
    (
        "javascript url in front matter",
        {"files": {"file": ("j.md", b"---\nurl: JavaScript:alert(1)\n---\nx", "text/markdown")}},
        422,
    ),
    (
        "javascript url in FAQ",
        {"files": {"file": ("f.csv", b"question,answer,url\nq,a,javascript:x\n", "text/csv")}},
        422,
    ),
    ("pdf over the page budget", {"files": {"file": ("many.pdf", shared_stream_pdf(21, 1), "application/pdf")}}, 422),
    ("unknown field", {"json": {"text": "x", "evil": 1}}, 422),
    ("malformed json", {"content": b"{", "headers": {"content-type": "application/json"}}, 422),
    ("plain text body", {"content": b"hello", "headers": {"content-type": "text/plain"}}, 415),
    ("unsupported upload", {"files": {"file": ("x.exe", b"MZ\x90\x00", "application/octet-stream")}}, 415),
    ("non-utf8 upload", {"files": {"file": ("x.md", b"caf\xe9 \xff", "text/markdown")}}, 422),
    ("broken pdf upload", {"files": {"file": ("x.pdf", b"%PDF-1.4 junk", "application/pdf")}}, 422),
    ("empty upload", {"files": {"file": ("x.txt", b"", "text/plain")}}, 422),
    ("empty html", {"files": {"file": ("x.html", b"<html><body></body></html>", "text/html")}}, 422),
    ("50 MB upload", {"files": {"file": ("big.txt", b"a " * (25 * 1024 * 1024), "text/plain")}}, 413),
]


@pytest.mark.parametrize(("case", "request_kwargs", "status"), BAD_WRITES, ids=[c[0] for c in BAD_WRITES])
async def test_bad_writes_leave_the_index_untouched(
    client: AsyncTestClient[Litestar], case: str, request_kwargs: dict[str, Any], status: int
) -> None:
    await client.post("/v1/kb/documents", json=ARTICLE, headers=auth("admin-key"))
    before = await _index_state(client)
    kwargs = dict(request_kwargs)
    headers = {**auth("admin-key"), **kwargs.pop("headers", {})}
    response = await client.post("/v1/kb/documents", headers=headers, **kwargs)
    assert response.status_code == status, (case, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await _index_state(client) == before


BAD_SEARCHES = [
    ({"q": ""}, 422),
    ({"q": "   "}, 422),
    ({"q": "x" * 20_000}, 422),
    ({"q": "refund", "k": 0}, 422),
    ({"q": "refund", "k": 10_000}, 422),
    ({"q": "refund", "mode": "fuzzy"}, 422),
    ({"k": 3}, 422),
]


@pytest.mark.parametrize(("params", "status"), BAD_SEARCHES)
async def test_bad_searches(client: AsyncTestClient[Litestar], params: dict[str, Any], status: int) -> None:
    response = await client.get("/v1/kb/search", params=params, headers=auth("agent-key"))
    assert response.status_code == status, response.text
    assert json.loads(response.text)["status"] == status


ROUND_TRIP_IDS = [
    "billing/refunds.md",
    "reverted_card_payment?",
    "how do I pay",
    "ærlig talt/førstegangs-kjøp",
    "100% refund & more #1",
    "a//b/",
    "%41 already encoded",
    "x" * 256,
]


@pytest.mark.parametrize("doc_id", ROUND_TRIP_IDS, ids=range(len(ROUND_TRIP_IDS)))
async def test_document_ids_round_trip_over_http(client: AsyncTestClient[Litestar], doc_id: str) -> None:
    body = {"id": doc_id, "title": "Round trip", "text": "Refunds reach your card in five days."}
    response = await client.post("/v1/kb/documents", json=body, headers=auth("admin-key"))
    assert response.status_code == 201, response.text
    assert response.json()["added"] == [doc_id]
    path = "/v1/kb/documents/" + quote(doc_id, safe="")
    response = await client.get(path, headers=auth("agent-key"))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == doc_id
    results = (await client.get("/v1/kb/search", params={"q": "refund to my card"}, headers=auth("agent-key"))).json()
    assert doc_id in {r["document_id"] for r in results["results"]}
    response = await client.delete(path, headers=auth("admin-key"))
    assert response.status_code == 200 and response.json()["deleted"] == [doc_id]
    assert (await client.get(path, headers=auth("agent-key"))).status_code == 404


async def test_a_normal_pdf_upload_parses_in_the_worker(client: AsyncTestClient[Litestar]) -> None:
    pdf = shared_stream_pdf(pages=2, ops=5)
    response = await client.post(
        "/v1/kb/documents", files={"file": ("small.pdf", pdf, "application/pdf")}, headers=auth("admin-key")
    )
    assert response.status_code == 201, response.text
    doc = (await client.get("/v1/kb/documents/small", headers=auth("agent-key"))).json()
    assert "xxxxx" in doc["text"].replace(" ", "")
