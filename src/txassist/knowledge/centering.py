"""The query mean that cross-lingual search takes off an e5 query vector before it searches.

multilingual-e5's query vectors share one direction that says "a customer's question" more than what
the question asks; against passages in another language it ranks the same few articles first for any
question (hubs). Searching with the query minus the mean of written customer turns (five languages),
renormalised, ranks by what the question asks. One vector, not one per language, so a language the
mean was not made from gains too. Measured in ``benchmarks/results/retrieval_quality.json``.

``txassist train intent`` writes ``models/e5-query-mean.json`` from the intent examples' e5 vectors,
beside the heads; ``QueryMean.matches`` tells whether it was made from the examples as they are now.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

QUERY_MEAN_PATH = Path(__file__).resolve().parents[3] / "models" / "e5-query-mean.json"

Vector = npt.NDArray[np.float32]


class QueryMean(msgspec.Struct, frozen=True, kw_only=True):
    model: str  # the encoder whose query vectors were averaged
    source: str  # the texts, as a path relative to the repository
    source_sha256: str
    rows: int
    vector: list[float]

    def array(self) -> Vector:
        return np.asarray(self.vector, dtype=np.float32)

    def matches(self, source: Path) -> bool:
        return self.source_sha256 == file_sha256(source)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_query_mean(path: Path = QUERY_MEAN_PATH) -> QueryMean | None:
    if not path.is_file():
        return None
    return msgspec.json.decode(path.read_bytes(), type=QueryMean)


def query_mean(vectors: npt.ArrayLike, *, model: str, source: str, source_sha256: str) -> QueryMean:
    """The mean of e5 query vectors of written customer turns."""
    rows = np.asarray(vectors, dtype=np.float64)
    return QueryMean(
        model=model,
        source=source,
        source_sha256=source_sha256,
        rows=len(rows),
        vector=[round(float(x), 7) for x in rows.mean(axis=0)],
    )


def save_query_mean(mean: QueryMean, path: Path = QUERY_MEAN_PATH) -> None:
    path.write_bytes(msgspec.json.format(msgspec.json.encode(mean), indent=1) + b"\n")


def centred(query: npt.ArrayLike, mean: Vector) -> Vector:
    """``query - mean``, L2-normalised (the query itself if that leaves nothing)."""
    vector = np.asarray(query, dtype=np.float32).reshape(-1)
    moved = vector - mean
    norm = float(np.linalg.norm(moved))
    out: Vector = (moved / norm).astype(np.float32) if norm > 1e-6 else vector
    return out
