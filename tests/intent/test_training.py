"""Training pieces of the intent heads: translation groups, hashed folds, the English head's mask, the vote."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from txassist.intent import INTENT_LABELS
from txassist.intent.head import IntentHead, IntentHeadError, Memory, Neighbours, neighbour_vote
from txassist.intent.training import fit_heads, for_english_head, read_examples, stable_folds, translation_groups


def _unit(rows: np.ndarray) -> np.ndarray:
    unit: np.ndarray = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
    return unit


def test_translations_share_a_group_and_other_turns_do_not() -> None:
    rng = np.random.default_rng(1)
    concepts = _unit(rng.standard_normal((3, 32)))
    # Each concept in English and Norwegian, a little noise apart; a lone German turn.
    noisy = concepts + 0.05 * rng.standard_normal(concepts.shape)
    lone = _unit(rng.standard_normal((1, 32)))
    vectors = np.concatenate([concepts, _unit(noisy), lone])
    groups = translation_groups(vectors, ["en", "en", "en", "nb", "nb", "nb", "de"])
    assert [groups[i] == groups[i + 3] for i in range(3)] == [True, True, True]
    assert len(set(groups[:3].tolist())) == 3


def test_vote_follows_the_nearest_turns() -> None:
    memory = _unit(np.eye(4, 8, dtype=np.float32) + 0.01)
    targets = np.zeros((4, len(INTENT_LABELS)), dtype=np.float32)
    targets[0, 0] = 1.0
    vote = neighbour_vote(memory[:2], memory, targets, Neighbours(k=2, temperature=0.02, weight=0.5))
    assert vote[0, 0] > 0.99  # the first memory row is itself
    assert vote[1, 0] < 0.01


def test_head_with_memory_round_trips_and_blends(tmp_path: Path) -> None:
    examples = read_examples()
    rng = np.random.default_rng(0)
    vectors = _unit(rng.standard_normal((len(examples), 16)))
    memory_rows = np.arange(50, dtype=np.int64)
    neighbours = Neighbours(k=5, temperature=0.05, weight=0.5)
    head = fit_heads(examples, vectors, encoder="test", memory_rows=memory_rows, neighbours=neighbours)
    plain = fit_heads(examples, vectors, encoder="test")
    assert head.memory is not None and head.memory.vectors.shape == (50, 16)
    # The same logistic part; the probabilities differ by the vote alone.
    np.testing.assert_allclose(head.weight_t, plain.weight_t)
    assert not np.allclose(head.predict_proba(vectors[:5]), plain.predict_proba(vectors[:5]))
    head.save(tmp_path / "head")
    loaded = IntentHead.load(tmp_path / "head")
    assert loaded.memory is not None and loaded.memory.neighbours == neighbours
    np.testing.assert_allclose(loaded.predict_proba(vectors[:7]), head.predict_proba(vectors[:7]), rtol=1e-6)


def test_memory_must_fit_its_targets_and_the_head() -> None:
    weight = np.zeros((len(INTENT_LABELS), 4), dtype=np.float32)
    bias = np.zeros(len(INTENT_LABELS), dtype=np.float32)
    thresholds = dict.fromkeys(INTENT_LABELS, 0.5)
    targets = np.ones((3, len(INTENT_LABELS)), dtype=np.float32)
    with pytest.raises(IntentHeadError, match="memory targets"):
        Memory(np.ones((3, 4), dtype=np.float32), targets[:2], Neighbours())
    with pytest.raises(IntentHeadError, match="non-empty"):
        Memory(np.ones((0, 4), dtype=np.float32), targets[:0], Neighbours())
    with pytest.raises(IntentHeadError, match="does not fit dimension"):
        IntentHead(weight, bias, thresholds, encoder="test", memory=Memory(np.ones((3, 5)), targets, Neighbours()))
    with pytest.raises(IntentHeadError, match="labels"):
        IntentHead(
            weight, bias, thresholds, encoder="test", memory=Memory(np.ones((3, 4)), targets[:, :2], Neighbours())
        )


def test_folds_follow_the_text_so_added_rows_leave_the_others_alone() -> None:
    texts = [f"turn {i}" for i in range(200)]
    groups = np.arange(200, dtype=np.int64)
    groups[1] = groups[0]  # a translation pair
    before = stable_folds(texts, groups, 5)
    after = stable_folds([*texts, "a new turn", "another"], np.append(groups, [500, 501]), 5)
    np.testing.assert_array_equal(before, after[:200])
    assert before[0] == before[1]
    assert set(before.tolist()) == set(range(5))
    # Another salt is another assignment of the same rows.
    assert (stable_folds(texts, groups, 5, salt=1) != before).any()


def test_the_english_head_reads_foreign_turns_only_as_off_topic_negatives() -> None:
    examples = read_examples()
    english = for_english_head(examples)
    off_topic = INTENT_LABELS.index("off_topic")
    for i, language in enumerate(examples.languages):
        if language == "en":
            assert english.mask[i].all()
        else:
            supervised = [INTENT_LABELS[j] for j in np.flatnonzero(english.mask[i])]
            assert supervised == ([] if examples.targets[i, off_topic] else ["off_topic"])
