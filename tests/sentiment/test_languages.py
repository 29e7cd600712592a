"""``POST /v1/sentiment`` in other languages: each result names its language (BCP 47); Norwegian,
German and Spanish go to the multilingual head; an unsupported script is answered unreliable."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import API_KEYS, auth
from txassist.app import create_app
from txassist.config import Settings
from txassist.sentiment.training import macro_f1

NORWEGIAN = Path(__file__).parent / "data" / "norwegian_eval.csv"
LABELS = ("negative", "neutral", "positive")
# The multilingual head on the Norwegian set it never trained on (benchmarks/results/sentiment_sources.json)
# with a few points of slack; a head that only knew English scores far below.
MIN_NORWEGIAN_MACRO_F1 = 0.60


@pytest.fixture(scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = Settings.from_env({}, data_dir=tmp_path_factory.mktemp("data"), api_keys=API_KEYS)
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


async def _classify(client: AsyncTestClient[Litestar], texts: list[str]) -> list[dict[str, object]]:
    response = await client.post("/v1/sentiment", json={"texts": texts}, headers=auth("agent-key"))
    assert response.status_code == 200, response.text
    results: list[dict[str, object]] = response.json()["results"]
    return results


async def test_each_result_carries_its_language(client: AsyncTestClient[Litestar]) -> None:
    results = await _classify(
        client,
        [
            "Thanks, that fixed it!",
            "Jeg vil si opp abonnementet mitt, dette er helt uakseptabelt!",
            "Das ist eine Frechheit, seit zwei Wochen kein Internet!",
            "Muchas gracias, ya funciona todo perfectamente.",
        ],
    )
    assert [r["language"] for r in results] == ["en", "nb", "de", "es"]
    assert [results[i]["label"] for i in (0, 2, 3)] == ["positive", "negative", "positive"]
    assert all(r["reliable"] for r in results)


@pytest.mark.xfail(strict=True, reason="the shipped English head still reads this question as negative (0.95)")
async def test_neutral_question_about_a_transfer_is_not_negative(client: AsyncTestClient[Litestar]) -> None:
    [result] = await _classify(client, ["How do I cancel the transfer I just made?"])
    assert result["label"] != "negative"


async def test_unsupported_script_is_unreliable_and_never_confident(client: AsyncTestClient[Litestar]) -> None:
    texts = ["ฉันต้องการความช่วยเหลือเกี่ยวกับบัญชีของฉันด่วนที่สุด", "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ ᎠᏍᎦᏯ ᎤᏍᏗ"]
    for result in await _classify(client, texts):
        assert result["reliable"] is False
        assert float(result["score"]) < 0.85  # type: ignore[arg-type]


async def test_norwegian_eval_set(client: AsyncTestClient[Litestar]) -> None:
    with NORWEGIAN.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    results = await _classify(client, [r["text"] for r in rows])
    truth = np.asarray([LABELS.index(r["label"]) for r in rows])
    predicted = np.asarray([LABELS.index(str(r["label"])) for r in results])
    assert macro_f1(truth, predicted) >= MIN_NORWEGIAN_MACRO_F1
    assert sum(r["language"] == "nb" for r in results) >= 0.9 * len(rows)
