"""``POST /v1/sentiment`` through the app with the shipped head and the real MiniLM encoder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import auth
from txassist.app import create_app
from txassist.config import Settings


@pytest.fixture(scope="module")
async def sentiment_client(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    from tests.conftest import API_KEYS

    settings = Settings.from_env({}, data_dir=tmp_path_factory.mktemp("data"), api_keys=API_KEYS, max_text_chars=2000)
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


async def test_one_calibrated_result_per_text_in_order(sentiment_client: AsyncTestClient[Litestar]) -> None:
    texts = [
        "Thank you so much, the engineer was brilliant and everything works perfectly now!",
        "This is the third time my internet has dropped today. Absolutely useless service.",
        "I love it, best customer support I've ever had",
        "My flight was cancelled and nobody will answer the phone, I'm furious",
    ]
    response = await sentiment_client.post("/v1/sentiment", json={"texts": texts}, headers=auth("agent-key"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "minilm-head:sentiment-head"
    labels = [r["label"] for r in body["results"]]
    assert labels == ["positive", "negative", "positive", "negative"]
    for result in body["results"]:
        assert set(result["scores"]) == {"negative", "neutral", "positive"}
        assert sum(result["scores"].values()) == pytest.approx(1.0, abs=1e-4)
        assert result["score"] == max(result["scores"].values())


async def test_platform_scope_may_call_and_others_may_not(sentiment_client: AsyncTestClient[Litestar]) -> None:
    body = {"texts": ["fine"]}
    assert (await sentiment_client.post("/v1/sentiment", json=body, headers=auth("platform-key"))).status_code == 200
    assert (await sentiment_client.post("/v1/sentiment", json=body)).status_code == 401
    assert (await sentiment_client.post("/v1/sentiment", json=body, headers=auth("product-key"))).status_code == 403


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"texts": []}, 422),
        ({"texts": ["ok"] * 257}, 422),
        ({"texts": [""]}, 422),
        ({"texts": ["   "]}, 422),
        ({"texts": ["x" * 2001]}, 422),
        ({"texts": "not a list"}, 422),
        ({"text": ["wrong field"]}, 422),
        ({"texts": [1, 2]}, 422),
    ],
)
async def test_bad_input_is_a_clear_4xx(
    sentiment_client: AsyncTestClient[Litestar], body: dict[str, Any], status: int
) -> None:
    response = await sentiment_client.post("/v1/sentiment", json=body, headers=auth())
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_full_batch_of_256_is_answered(sentiment_client: AsyncTestClient[Litestar]) -> None:
    texts = [f"order {i} arrived late and broken" if i % 2 else f"order {i} arrived, thanks!" for i in range(256)]
    response = await sentiment_client.post("/v1/sentiment", json={"texts": texts}, headers=auth())
    assert response.status_code == 200
    assert len(response.json()["results"]) == 256


async def test_readiness_reports_the_sentiment_model(sentiment_client: AsyncTestClient[Litestar]) -> None:
    body = (await sentiment_client.get("/health/ready")).json()
    assert body["components"]["sentiment_model"]["state"] == "ok"


async def test_a_missing_model_directory_fails_readiness(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(sentiment_model="/nonexistent/sentiment-model")
    async with AsyncTestClient(app=create_app(settings)) as client:
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["components"]["sentiment_model"]["state"] == "failed"
        response = await client.post("/v1/sentiment", json={"texts": ["hello"]}, headers=auth())
        assert response.status_code == 503


async def test_texts_are_normalised_before_the_model_sees_them(sentiment_client: AsyncTestClient[Litestar]) -> None:
    clean = "This is terrible, the box arrived broken and nobody answers."
    hidden = "T\u200bhis is ter\u00adrible, the box arr\u2060ived bro\ufeffken and nobody answers.\x07"
    response = await sentiment_client.post("/v1/sentiment", json={"texts": [clean, hidden]}, headers=auth())
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first == second
    # Nothing left once the invisible characters are gone: a clear 4xx, as for a blank text.
    empty = await sentiment_client.post("/v1/sentiment", json={"texts": ["\u200b\u200d\ufeff"]}, headers=auth())
    assert empty.status_code == 422, empty.text
