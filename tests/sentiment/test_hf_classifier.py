"""A local HF sequence-classification directory configured instead of the head."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from txassist.config import Settings
from txassist.embedding import EmbeddingBatcher, TextEncoder, default_model_path
from txassist.sentiment.head import HeadFormatError
from txassist.sentiment.hf_classifier import label_columns
from txassist.sentiment.service import SentimentService


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (tiny, untrained) BERT classifier saved the way any fine-tuned model is."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("hf-sentiment")
    tokenizer = AutoTokenizer.from_pretrained(  # type: ignore[no-untyped-call]
        default_model_path(), local_files_only=True
    )
    config = BertConfig(  # type: ignore[no-untyped-call]
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=3,
        id2label={0: "POS", 1: "NEG", 2: "NEU"},  # not in our order: the mapping must follow names
        label2id={"POS": 0, "NEG": 1, "NEU": 2},
    )
    BertForSequenceClassification(config).save_pretrained(out)  # type: ignore[no-untyped-call]
    tokenizer.save_pretrained(out)
    return out


async def test_configured_hf_model_serves_texts(tiny_classifier: Path, make_settings: Callable[..., Settings]) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    settings = make_settings(sentiment_model=str(tiny_classifier))
    service = SentimentService(settings, EmbeddingBatcher(TextEncoder()))
    await service.start()
    assert service.uses_embedding is False
    assert service.model_name == f"hf:{tiny_classifier.name}"
    texts = ["short", "a much longer text that needs more tokens than the first one", "mid length"]
    results = await service.classify(texts)
    assert len(results) == 3
    # Compare with transformers run directly: POS is column 0 in the model, positive in ours.
    model = AutoModelForSequenceClassification.from_pretrained(tiny_classifier).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_classifier)  # type: ignore[no-untyped-call]
    with torch.no_grad():
        probs = torch.softmax(model(**tokenizer([texts[1]], return_tensors="pt")).logits, -1)[0]
    assert results[1].scores["positive"] == pytest.approx(float(probs[0]), abs=1e-4)
    assert results[1].scores["negative"] == pytest.approx(float(probs[1]), abs=1e-4)
    assert results[1].scores["neutral"] == pytest.approx(float(probs[2]), abs=1e-4)


def test_label_names_map_onto_our_labels() -> None:
    assert label_columns({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}) == [0, 1, 2]
    assert label_columns({0: "negative", 1: "positive"}) == [0, 2]
    assert label_columns({0: "Positive", 1: "Neutral", 2: "Negative"}) == [2, 1, 0]
    with pytest.raises(HeadFormatError):
        label_columns({0: "joy", 1: "anger"})
    with pytest.raises(HeadFormatError):
        label_columns({0: "neg", 1: "negative", 2: "pos"})
