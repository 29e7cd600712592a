"""Temperature scaling (Guo et al., 2017) and expected calibration error.

One scalar divides the logits; it is fitted on held-out validation data by minimising negative
log-likelihood, so the arg-max (and accuracy) never changes, only how confident the scores are.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from txassist.arrays import Floats
from txassist.sentiment.head import softmax


def negative_log_likelihood(logits: Floats, labels: npt.NDArray[np.int64]) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def fit_temperature(
    logits: Floats,
    labels: npt.NDArray[np.int64],
    *,
    low: float = 0.05,
    high: float = 20.0,
) -> float:
    """The temperature minimising validation NLL (golden-section search on log T; NLL is unimodal)."""
    lo, hi = np.log(low), np.log(high)
    ratio = (np.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa = negative_log_likelihood(logits / np.exp(a), labels)
    fb = negative_log_likelihood(logits / np.exp(b), labels)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = negative_log_likelihood(logits / np.exp(a), labels)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = negative_log_likelihood(logits / np.exp(b), labels)
    return float(np.exp((lo + hi) / 2))


def expected_calibration_error(probs: Floats, labels: npt.NDArray[np.int64], *, bins: int = 15) -> float:
    """Weighted gap between confidence and accuracy over equal-width confidence bins."""
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin i holds confidences in (edges[i], edges[i+1]]; the lowest edge is inclusive.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(total)


def calibrated_probs(logits: Floats, temperature: float) -> npt.NDArray[np.float32]:
    return softmax(np.asarray(logits, dtype=np.float64) / temperature)
