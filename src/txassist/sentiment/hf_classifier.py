"""A local Hugging Face sequence-classification directory, run through transformers.

Used when ``TXASSIST_SENTIMENT_MODEL`` names such a directory instead of the default head. Its
labels are mapped onto negative / neutral / positive by name (``NEG``, ``negative``, ...); a model
whose labels are ``LABEL_0..2`` is read in that order. A two-class model reports neutral as 0.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from txassist.sentiment.head import LABELS, HeadFormatError

_PREFIXES = {"neg": 0, "neu": 1, "pos": 2}


def label_columns(id2label: dict[int, str]) -> list[int]:
    """For each model output, the index in LABELS it stands for."""
    names = [str(id2label[i]).strip().lower() for i in range(len(id2label))]
    if all(name.startswith("label_") for name in names) and len(names) == len(LABELS):
        return [0, 1, 2]
    columns = []
    for name in names:
        column = next((idx for prefix, idx in _PREFIXES.items() if name.startswith(prefix)), None)
        if column is None:
            raise HeadFormatError(f"cannot map label {name!r} onto {', '.join(LABELS)}")
        columns.append(column)
    if len(set(columns)) != len(columns) or not {0, 2} <= set(columns):
        raise HeadFormatError(f"labels {names} must include negative and positive once each")
    return columns


class HFSequenceClassifier:
    def __init__(self, path: str | Path, *, device: str = "cpu", max_length: int = 256, batch_size: int = 32) -> None:
        self.path = str(path)
        self.device = device
        self.max_length = max_length
        self.batch_size = batch_size
        self._lock = threading.Lock()  # a tokenizer (fast) must not be shared across threads at once
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        # transformers' Auto classes return whichever tokenizer and model class the folder names.
        self.tokenizer: Any = AutoTokenizer.from_pretrained(  # type: ignore[no-untyped-call]
            self.path, local_files_only=True
        )
        self.model: Any = AutoModelForSequenceClassification.from_pretrained(self.path, local_files_only=True)
        self.model.to(device)
        self.model.eval()
        self.columns = label_columns(dict(self.model.config.id2label))

    def predict_proba(self, texts: list[str]) -> npt.NDArray[np.float32]:
        import torch

        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        # Similar lengths together: less padding per batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                encoded = self.tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                probs = torch.softmax(self.model(**encoded).logits.float(), dim=-1).cpu().numpy()
                for model_col, label_col in enumerate(self.columns):
                    out[rows, label_col] = probs[:, model_col]
        return out
