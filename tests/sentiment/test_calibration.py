from __future__ import annotations

import numpy as np
import pytest

from txassist.sentiment.calibration import (
    calibrated_probs,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
)


def _sample(temperature: float, n: int = 20_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose true labels are drawn from softmax(logits / temperature)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(n, 3))
    true_probs = calibrated_probs(logits, temperature)
    labels = np.array([rng.choice(3, p=p / p.sum()) for p in true_probs], dtype=np.int64)
    return logits, labels


def test_fit_temperature_recovers_the_true_temperature() -> None:
    logits, labels = _sample(2.5)
    assert fit_temperature(logits, labels) == pytest.approx(2.5, rel=0.1)


def test_scaling_reduces_ece_and_nll_of_overconfident_logits() -> None:
    logits, labels = _sample(3.0, seed=1)
    t = fit_temperature(logits, labels)
    before = expected_calibration_error(calibrated_probs(logits, 1.0), labels)
    after = expected_calibration_error(calibrated_probs(logits, t), labels)
    assert after < before / 3
    assert negative_log_likelihood(logits / t, labels) < negative_log_likelihood(logits, labels)


def test_ece_is_zero_for_perfect_confident_predictions_and_large_for_wrong_ones() -> None:
    labels = np.array([0, 1, 2, 0], dtype=np.int64)
    perfect = np.eye(3, dtype=np.float32)[labels]
    assert expected_calibration_error(perfect, labels) == pytest.approx(0.0)
    wrong = np.eye(3, dtype=np.float32)[(labels + 1) % 3]
    assert expected_calibration_error(wrong, labels) == pytest.approx(1.0)
