"""Trains the intent heads: written examples in five languages plus BANKING77 as hard negatives.

BANKING77's 77 banking intents supervise only the labels they can speak for: ``terminate_account`` is
cancel_service and every other intent (cancel_transfer, lost card, ...) a negative for it; a handful
of charge disputes and broken cards are billing_dispute and defect_report; no banking query is a
complaint, a human request, thanks or abuse. Whether a banking query asks for steps is left
unsupervised (``how_to`` is learned from the written examples only). Each label is a logistic
regression over the rows it is supervised on, balanced by class; its threshold is the one with the
best F1 on out-of-fold predictions, so no row picks its own threshold. The written examples come in
translations of one another, so the folds keep each group of translations together
(``translation_groups``): a held-out turn is never scored by a head that trained on its translation.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from txassist.intent.head import IntentHead, Memory, Neighbours, neighbour_vote
from txassist.intent.schemas import INTENT_LABELS

EXAMPLES_CSV = Path(__file__).resolve().parent / "data" / "intent_train.csv"
BANKING_CANCEL = frozenset({"terminate_account"})
BANKING_BILLING = frozenset(
    {
        "transaction_charged_twice",
        "extra_charge_on_statement",
        "wrong_amount_of_cash_received",
        "card_payment_not_recognised",
        "direct_debit_payment_not_recognised",
        "cash_withdrawal_not_recognised",
        "request_refund",
        "card_payment_wrong_exchange_rate",
        "wrong_exchange_rate_for_cash_withdrawal",
    }
)
BANKING_DEFECT = frozenset({"card_not_working", "contactless_not_working", "virtual_card_not_working"})
# Labels a banking query is a negative for unless mapped above; how_to is never supervised by it.
BANKING_NEGATIVE_FOR = frozenset(INTENT_LABELS) - {"how_to"}
SEED = 13


@dataclass(frozen=True)
class IntentExamples:
    texts: list[str]
    targets: npt.NDArray[np.float32]  # rows x labels, 1 where the label applies
    mask: npt.NDArray[np.bool_]  # rows x labels, True where the row supervises the label
    languages: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, rows: npt.NDArray[np.int64]) -> IntentExamples:
        return IntentExamples(
            [self.texts[i] for i in rows],
            self.targets[rows],
            self.mask[rows],
            [self.languages[i] for i in rows],
            self.source,
        )


def read_examples(path: str | Path = EXAMPLES_CSV) -> IntentExamples:
    """CSV ``text,labels,language``; ``labels`` separated by ``;``, empty for none of them."""
    texts: list[str] = []
    targets: list[list[float]] = []
    languages: list[str] = []
    with Path(path).open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            names = [n.strip() for n in (row.get("labels") or "").split(";") if n.strip()]
            unknown = set(names) - set(INTENT_LABELS)
            if unknown:
                raise ValueError(f"{path}:{line}: unknown intent {sorted(unknown)}")
            texts.append((row.get("text") or "").strip())
            targets.append([1.0 if label in names else 0.0 for label in INTENT_LABELS])
            languages.append((row.get("language") or "en").strip())
    target = np.asarray(targets, dtype=np.float32)
    return IntentExamples(texts, target, np.ones_like(target, dtype=np.bool_), languages, str(path))


def read_banking77(path: str | Path) -> tuple[IntentExamples, list[str]]:
    """BANKING77 rows with the labels they supervise, and each row's banking intent."""
    texts: list[str] = []
    categories: list[str] = []
    with Path(path).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            text, category = (row.get("text") or "").strip(), (row.get("category") or "").strip()
            if text and category:
                texts.append(text)
                categories.append(category)
    n, labels = len(texts), len(INTENT_LABELS)
    targets = np.zeros((n, labels), dtype=np.float32)
    mask = np.zeros((n, labels), dtype=np.bool_)
    for j, label in enumerate(INTENT_LABELS):
        if label in BANKING_NEGATIVE_FOR:
            mask[:, j] = True
    for i, category in enumerate(categories):
        for label, group in (
            ("cancel_service", BANKING_CANCEL),
            ("billing_dispute", BANKING_BILLING),
            ("defect_report", BANKING_DEFECT),
        ):
            if category in group:
                targets[i, INTENT_LABELS.index(label)] = 1.0
    return IntentExamples(texts, targets, mask, ["en"] * n, str(path)), categories


# The MiniLM head reads English turns, and a short foreign turn detected as English ("Selger dere
# bilforsikring?") reaches it too. Written service turns in other languages teach it that foreign service talk
# is not a request unrelated to the service. They supervise nothing else, and foreign off-topic turns
# nothing at all: to an English encoder they look like foreign service talk.
FOREIGN_NEGATIVE_LABELS = frozenset({"off_topic"})


def for_english_head(examples: IntentExamples) -> IntentExamples:
    """Every written row; one not in English is only a negative for ``FOREIGN_NEGATIVE_LABELS``."""
    mask = examples.mask.copy()
    foreign = np.asarray([language != "en" for language in examples.languages], dtype=np.bool_)
    labels = np.asarray([label in FOREIGN_NEGATIVE_LABELS for label in INTENT_LABELS], dtype=np.bool_)
    mask[foreign] &= labels & (examples.targets[foreign] == 0)
    return IntentExamples(examples.texts, examples.targets, mask, examples.languages, examples.source)


def banking_split(
    categories: list[str], *, seed: int = SEED, test_fraction: float = 0.3
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Train / test rows of BANKING77, stratified by banking intent."""
    rng = np.random.default_rng(seed)
    names = np.asarray(categories)
    train: list[npt.NDArray[np.int64]] = []
    test: list[npt.NDArray[np.int64]] = []
    for category in sorted(set(categories)):
        idx = np.flatnonzero(names == category)
        rng.shuffle(idx)
        cut = round(len(idx) * test_fraction)
        test.append(idx[:cut])
        train.append(idx[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def concat(parts: list[IntentExamples]) -> IntentExamples:
    return IntentExamples(
        [t for p in parts for t in p.texts],
        np.concatenate([p.targets for p in parts]),
        np.concatenate([p.mask for p in parts]),
        [lang for p in parts for lang in p.languages],
        "+".join(p.source for p in parts),
    )


def _fit_label(
    x: npt.NDArray[np.float32], y: npt.NDArray[np.float32], c: float
) -> tuple[npt.NDArray[np.float64], float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
    model.fit(x, y.astype(np.int64))
    return np.asarray(model.coef_[0], dtype=np.float64), float(model.intercept_[0])


def best_threshold(probs: npt.NDArray[np.float64], truth: npt.NDArray[np.float32]) -> float:
    """The threshold with the best F1 (ties: the higher one), kept within 0.3..0.9."""
    best, best_f1 = 0.5, -1.0
    for threshold in np.arange(0.3, 0.905, 0.025):
        predicted = probs >= threshold
        tp = float(np.sum(predicted & (truth == 1)))
        fp = float(np.sum(predicted & (truth == 0)))
        fn = float(np.sum(~predicted & (truth == 1)))
        f1 = 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
        if f1 >= best_f1:
            best, best_f1 = float(threshold), f1
    return round(best, 3)


# Inverse regularisation per encoder, chosen on out-of-fold F1 of the training rows: e5's vectors sit
# close together (high cosine between any two texts), so its head needs a weaker penalty.
REGULARISATION = {"minilm": 4.0, "e5": 64.0}
# The e5 head keeps its written turns for a nearest-turn vote (k and temperature chosen on grouped
# out-of-fold F1 of the training rows; the MiniLM head gained nothing from one, so it has none).
NEIGHBOURS = {"e5": Neighbours(k=10, temperature=0.02, weight=0.5)}
FOLD_REPEATS = 5


def translation_groups(vectors: npt.NDArray[np.float32], languages: list[str]) -> npt.NDArray[np.int64]:
    """A group id per row: rows that are mutual nearest neighbours across two languages share one.

    With multilingual vectors (e5) a turn and its translation are each other's nearest row in the
    other language; chains of such pairs join into one group (one concept in several languages).
    """
    parent = np.arange(len(languages))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    names = np.asarray(languages)
    x = np.asarray(vectors, dtype=np.float32)
    present = sorted(set(languages))
    for a, first in enumerate(present):
        for second in present[a + 1 :]:
            rows_a, rows_b = np.flatnonzero(names == first), np.flatnonzero(names == second)
            sims = x[rows_a] @ x[rows_b].T
            best_b, best_a = sims.argmax(axis=1), sims.argmax(axis=0)
            for k, j in enumerate(best_b):
                if best_a[j] == k:
                    parent[root(int(rows_a[k]))] = root(int(rows_b[j]))
    return np.asarray([root(i) for i in range(len(languages))], dtype=np.int64)


def stable_folds(
    texts: list[str], groups: npt.NDArray[np.int64] | None, folds: int, *, salt: int = 0
) -> npt.NDArray[np.int64]:
    """A fold per row from a hash of its group's first text in sort order (its own text without groups).

    A hash, not a seeded shuffle: adding training rows leaves every other group in its fold, so the
    thresholds of labels the new rows do not touch stay where they were.
    """
    keys = list(texts)
    if groups is not None:
        first: dict[int, str] = {}
        for group, text in zip(groups.tolist(), texts, strict=True):
            first[group] = min(first.get(group, text), text)
        keys = [first[group] for group in groups.tolist()]
    digests = (hashlib.blake2b(f"{salt}:{key}".encode(), digest_size=8).digest() for key in keys)
    return np.asarray([int.from_bytes(d, "big") % folds for d in digests], dtype=np.int64)


def _out_of_fold(
    data: IntentExamples,
    vectors: npt.NDArray[np.float32],
    fold_of: npt.NDArray[np.int64],
    folds: int,
    c: float,
    memory_rows: npt.NDArray[np.int64] | None,
    neighbours: Neighbours | None,
) -> npt.NDArray[np.float64]:
    """Rows x labels: each supervised row's score from heads (and a vote) that never saw its fold."""
    votes = None
    if memory_rows is not None and neighbours is not None:
        votes = np.zeros_like(data.targets)
        for fold in range(folds):
            held = np.flatnonzero(fold_of == fold)
            known = memory_rows[fold_of[memory_rows] != fold]
            if len(held) and len(known):
                votes[held] = neighbour_vote(vectors[held], vectors[known], data.targets[known], neighbours)
    scores = np.zeros(data.targets.shape, dtype=np.float64)
    for j in range(len(INTENT_LABELS)):
        rows = np.flatnonzero(data.mask[:, j])
        x, y = vectors[rows], data.targets[rows, j]
        for fold in range(folds):
            held = fold_of[rows] == fold
            if held.all() or not held.any() or len(set(y[~held].tolist())) < 2:
                continue
            coef, intercept = _fit_label(x[~held], y[~held], c)
            probs = 1.0 / (1.0 + np.exp(-(x[held] @ coef + intercept)))
            if votes is not None and neighbours is not None:
                probs = neighbours.weight * probs + (1 - neighbours.weight) * votes[rows[held], j]
            scores[rows[held], j] = probs
    return scores


def fit_heads(
    data: IntentExamples,
    vectors: npt.NDArray[np.float32],
    *,
    encoder: str,
    c: float | None = None,
    folds: int = 5,
    groups: npt.NDArray[np.int64] | None = None,
    memory_rows: npt.NDArray[np.int64] | None = None,
    neighbours: Neighbours | None = None,
) -> IntentHead:
    """One logistic regression per label on its supervised rows; thresholds from out-of-fold F1.

    ``groups``: rows with the same id fall in the same fold (translations of one turn); default, a
    fold per row (``stable_folds``). ``memory_rows`` with ``neighbours``: the rows (every label supervised)
    the head keeps for its nearest-turn vote; the out-of-fold scores blend in a vote from the other
    folds' memory rows, so the thresholds fit the blend.
    """
    if (memory_rows is None) != (neighbours is None):
        raise ValueError("memory_rows and neighbours go together")
    c = c if c is not None else REGULARISATION.get(encoder, 4.0)
    if groups is not None and len(groups) != len(data):
        raise ValueError(f"{len(groups)} groups for {len(data)} rows")
    if memory_rows is not None and not data.mask[memory_rows].all():
        raise ValueError("memory rows must supervise every label")
    # Several fold assignments, pooled: one assignment's best-F1 threshold moves by a tenth or more
    # when a few rows are added; the pooled one is steadier.
    assignments = [stable_folds(data.texts, groups, folds, salt=repeat) for repeat in range(FOLD_REPEATS)]
    pooled = [_out_of_fold(data, vectors, fold_of, folds, c, memory_rows, neighbours) for fold_of in assignments]
    weights = np.zeros((len(INTENT_LABELS), vectors.shape[1]), dtype=np.float32)
    biases = np.zeros(len(INTENT_LABELS), dtype=np.float32)
    thresholds: dict[str, float] = {}
    for j, label in enumerate(INTENT_LABELS):
        rows = np.flatnonzero(data.mask[:, j])
        x, y = vectors[rows], data.targets[rows, j]
        thresholds[label] = best_threshold(
            np.concatenate([scores[rows, j] for scores in pooled]), np.concatenate([y] * len(pooled))
        )
        coef, intercept = _fit_label(x, y, c)
        weights[j], biases[j] = coef.astype(np.float32), np.float32(intercept)
    if memory_rows is None or neighbours is None:
        return IntentHead(weights, biases, thresholds, encoder=encoder)
    return IntentHead(
        weights,
        biases,
        thresholds,
        encoder=encoder,
        memory=Memory(vectors[memory_rows], data.targets[memory_rows], neighbours),
    )


# Banking intents that look most like leaving: every one of their rows goes into the e5 head's share.
HARD_NEGATIVES = frozenset(
    {
        "cancel_transfer",
        "lost_or_stolen_card",
        "compromised_card",
        "card_about_to_expire",
        "edit_personal_details",
        "pin_blocked",
        "declined_transfer",
        "Refund_not_showing_up",
        "request_refund",
    }
)
E5_BANKING_CAP = 1500


def e5_banking_rows(
    categories: list[str], rows: npt.NDArray[np.int64], *, cap: int = E5_BANKING_CAP, seed: int = SEED
) -> npt.NDArray[np.int64]:
    """The banking rows the e5 head trains on: the positives and hardest negatives, then a seeded sample.

    e5 embeds tens of texts a second on a busy 2-core host, so its head sees a share of BANKING77.
    """
    keep = [i for i in rows if categories[i] in BANKING_CANCEL or categories[i] in HARD_NEGATIVES]
    # Half of each hard-negative intent is enough to teach the difference; keep every positive.
    rng = np.random.default_rng(seed)
    positives = [i for i in keep if categories[i] in BANKING_CANCEL]
    hard = np.asarray([i for i in keep if categories[i] not in BANKING_CANCEL], dtype=np.int64)
    hard = np.sort(rng.choice(hard, size=min(len(hard), cap // 2), replace=False))
    rest = np.asarray([i for i in rows if i not in set(keep)], dtype=np.int64)
    room = max(0, cap - len(positives) - len(hard))
    sample = np.sort(rng.choice(rest, size=min(room, len(rest)), replace=False))
    return np.sort(np.concatenate([np.asarray(positives, dtype=np.int64), hard, sample]))
