"""Cross-lingual search ranks by the e5 query vector minus the mean customer question."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.knowledge.fakes import DIM
from txassist.config import Settings
from txassist.embedding.multilingual import MultilingualEncoder
from txassist.intent.training import EXAMPLES_CSV
from txassist.knowledge.centering import centred, load_query_mean
from txassist.knowledge.chunking import chunk_document
from txassist.knowledge.index import IndexSnapshot, apply_changes
from txassist.knowledge.loaders import make_document
from txassist.knowledge.service import KnowledgeService

HUB, REFUND, DELIVERY = np.eye(DIM, dtype=np.float32)[:3]


def test_centred_takes_the_mean_off_and_renormalises() -> None:
    query = np.array([0.8, 0.6, 0.0], dtype=np.float32)
    moved = centred(query, np.array([0.8, 0.0, 0.0], dtype=np.float32))
    assert moved == pytest.approx([0.0, 1.0, 0.0])
    assert centred(query, query) == pytest.approx(query)  # nothing left: the query as it was


def test_the_shipped_mean_was_made_from_the_shipped_examples_by_the_shipped_encoder() -> None:
    mean = load_query_mean()
    assert mean is not None, "run `txassist train intent` to write models/e5-query-mean.json"
    assert mean.matches(EXAMPLES_CSV), "the intent examples changed: run `txassist train intent`"
    assert mean.model == MultilingualEncoder().model_name
    assert mean.array().shape == (384,) and 0.3 < float(np.linalg.norm(mean.array())) < 1.0


def _passage(text: str) -> npt.NDArray[np.float32]:
    # The delivery passage is a hub: it leans the way every e5 question leans far more than its topic.
    vector = 0.5 * HUB + 0.866 * REFUND if "refund" in text.lower() else 0.9 * HUB + 0.436 * DELIVERY
    out: npt.NDArray[np.float32] = (vector / np.linalg.norm(vector)).astype(np.float32)
    return out


def _snapshot(tmp_path: Path) -> IndexSnapshot:
    docs = [
        make_document(doc_id="refunds", title="Refunds", text="# Refunds\n\nA refund reaches your card in five days."),
        make_document(doc_id="delivery", title="Delivery", text="# Delivery\n\nBoxes arrive between eight and six."),
    ]

    def embed(texts: list[str]) -> npt.NDArray[np.float32]:
        return np.stack([_passage(t) for t in texts]).astype(np.float32)

    _, snapshot = apply_changes(
        tmp_path / "index",
        upserts=docs,
        deletes=[],
        embed=embed,
        chunker=chunk_document,
        dimension=DIM,
        multilingual=("fake-e5", embed),
    )
    return snapshot


def _service(tmp_path: Path, *, centring: bool) -> KnowledgeService:
    settings = Settings.from_env({}, data_dir=tmp_path, multilingual_centering=centring)
    service = KnowledgeService(settings, None, None)  # type: ignore[arg-type]
    if centring:
        service.query_mean = 0.9 * HUB  # what the mean of many questions would be here
    return service


def test_the_ranking_follows_what_the_question_asks_and_the_score_stays_a_plain_cosine(tmp_path: Path) -> None:
    snapshot = _snapshot(tmp_path)
    # A question about refunds, mostly made of the hub like every question: its plain cosine prefers
    # the hub passage.
    query = 0.9 * HUB + 0.3 * REFUND + 0.1 * DELIVERY
    query = (query / np.linalg.norm(query)).astype(np.float32)

    def first(service: KnowledgeService) -> tuple[str, float]:
        hits, best = service._search_snapshot(snapshot, "x", None, 2, "dense", None, multilingual_vector=query)
        return hits[0].document_id, best

    plain_first, plain_best = first(_service(tmp_path / "off", centring=False))
    assert plain_first == "delivery"
    centred_first, centred_best = first(_service(tmp_path / "on", centring=True))
    assert centred_first == "refunds"
    # best_dense_score is the first hit's own cosine, on e5's scale, not the centred score.
    assert centred_best == pytest.approx(float(query @ _passage("refund")), abs=1e-5)
    assert plain_best == pytest.approx(float(query @ _passage("delivery")), abs=1e-5)
