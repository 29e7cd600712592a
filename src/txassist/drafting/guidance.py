"""Guidance (next best action): the procedure the conversation is in, and the steps already done.

A procedure is a knowledge-base document with ``"kind": "procedure"`` and ordered ``steps`` (kept
in its metadata). The flow is found by the same hybrid search as any article, over what the
customer has said that carries a need (greetings, names and order numbers add nothing). The
search scores a chunk by its best sentence, so sibling flows that share one sentence ("check the
status of ...") tie; every procedure it found is then re-ranked by two readings of its name: how
much of its title the customer named, each title word weighted by how rare it is among the
procedures (a family name such as "Product Defect" counts little, "Refund Status" a lot), and how
close the customer's need is in meaning to its name passages: the title and the lead, the first
sentence of its text that no other procedure has (a title alone is a poor name for "Timing FAQ",
whose lead lists "When do the promo codes expire?"; a sentence its siblings share names none of
them). The name passages are embedded once per index snapshot; a turn reuses the search's own query
vector. Tried and not kept
(benchmarks/results/guidance_flows*.json, README): steps already done as a third reading (most flows
share their first steps); later customer turns and the agent's turns as further, lighter readings
(they carry names, ids and details once the need is stated, and ranked ABCD's samples worse); a
hit weighted down the later its chunk comes in the procedure (better on the dev conversations it
was chosen on, worse on the held-out ones); the title's embedding alone beside the search (it ranks
"Promo Code Out of Date" first for ABCD's "when do promo codes expire" sample); more lead sentences,
the whole text's distinctive sentences, the steps, or the family line as name passages; a
procedure's score from the mean of its best chunks; rank fusion of the readings.
A step counts as done when one of the agent's own turns (or a bot/system action) shares enough
stemmed words with it, and every step before the last one done is done too: agents follow a flow
in order and do not narrate every step.
"""

from __future__ import annotations

import asyncio
import math
import re
import weakref
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import msgspec
import numpy as np
import numpy.typing as npt
import structlog

from txassist.conversations.records import TurnRecord
from txassist.drafting.schemas import Citation
from txassist.jsontypes import JsonObject
from txassist.knowledge.chunking import MIN_UNIT_CHARS, parse_heading, split_sentences
from txassist.knowledge.lexical import tokenize
from txassist.knowledge.schemas import KnowledgeHit

log = structlog.get_logger("txassist.drafting.guidance")

SEARCH_K = 20
NEED_WORDS = 4  # a customer turn shorter than this rarely states a need ("Crystal Minh", "yes")
MAX_NEED_TURNS = 2  # the opening states the need; later turns add names, ids and details
DONE_MIN_SHARED = 2
DONE_MIN_SHARE = 0.34  # of the step's own words, so that a long step needs more than two shared words

# The weights of the title's words and of the name passages' cosine beside the search score (scaled
# to the best hit = 1); chosen on the written dev conversations and ABCD's samples, see
# docs/reply-plans.md.
TITLE_WEIGHT = 0.25
NAME_WEIGHT = 2.0

Vectors = npt.NDArray[np.float32]
_LIST_MARKER_RE = re.compile(r"([-*+]|\d{1,3}[.)])[ \t]+")

StepStatus = Literal["done", "next", "todo"]


class GuidanceStep(msgspec.Struct, kw_only=True):
    text: str
    status: StepStatus


class GuidanceOut(msgspec.Struct, kw_only=True):
    flow_id: str
    title: str
    confidence: float
    steps: list[GuidanceStep]
    citations: list[Citation]


class _Document(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def text(self) -> str: ...
    @property
    def metadata(self) -> JsonObject: ...


class _Hits(Protocol):
    @property
    def hits(self) -> Sequence[KnowledgeHit]: ...
    @property
    def vector(self) -> Vectors | None: ...  # the query's MiniLM vector; None for a multilingual search


class _Embeddings(Protocol):
    def encode(self, texts: list[str]) -> Awaitable[Vectors]: ...


class _Record(Protocol):
    @property
    def document(self) -> _Document: ...


class _Snapshot(Protocol):
    @property
    def version(self) -> str: ...
    @property
    def documents(self) -> Mapping[str, _Record]: ...


class ProcedureIndex(Protocol):
    """What guidance reads from the knowledge service: a search, the documents behind its hits, the
    live snapshot (its procedures) and the encoder (their name passages)."""

    async def search(self, query: str, *, k: int = 5) -> _Hits: ...
    def get_document(self, document_id: str) -> _Document | None: ...
    @property
    def snapshot(self) -> _Snapshot: ...
    @property
    def embeddings(self) -> _Embeddings: ...


def procedure_steps(document: _Document | None) -> list[str]:
    if document is None or document.metadata.get("kind") != "procedure":
        return []
    steps = document.metadata.get("steps")
    return [str(s) for s in steps] if isinstance(steps, list) else []


def need_query(turns: Sequence[TurnRecord]) -> str:
    """The customer's first turns that state a need."""
    said = [t.text for t in turns if t.speaker == "customer"]
    needs = [t for t in said if len(t.split()) >= NEED_WORDS]
    return " ".join(needs[:MAX_NEED_TURNS] or said[-1:])


def _stems(text: str) -> set[str]:
    # The knowledge index's own word folding ("pulled" meets "pull"), without its stopwords.
    return {w for w in tokenize(text) if len(w) > 2}


def step_statuses(steps: Sequence[str], turns: Sequence[TurnRecord]) -> list[GuidanceStep]:
    done_turns = [_stems(t.text) for t in turns if t.speaker in ("agent", "bot")]
    last_done = -1
    for index, step in enumerate(steps):
        wanted = _stems(step)
        need = max(min(DONE_MIN_SHARED, len(wanted)), round(DONE_MIN_SHARE * len(wanted)))
        if wanted and any(len(wanted & said) >= need for said in done_turns):
            last_done = index
    out: list[GuidanceStep] = []
    for index, step in enumerate(steps):
        status: StepStatus = "done" if index <= last_done else "next" if index == last_done + 1 else "todo"
        out.append(GuidanceStep(text=step, status=status))
    return out


@dataclass(frozen=True)
class _Procedures:
    """What re-ranking needs about the live index's procedures: title stems and their rarity."""

    titles: dict[str, set[str]]
    idf: dict[str, float]
    names: dict[str, list[str]]  # the title and the lead, see lead_sentences

    def title_match(self, document_id: str, need: set[str]) -> float:
        """The rarity-weighted share of the procedure's title words that the customer used."""
        words = self.titles.get(document_id, set())
        total = sum(self.idf.get(w, 0.0) for w in words)
        return sum(self.idf.get(w, 0.0) for w in words & need) / total if total else 0.0


def _title_stems(title: str) -> set[str]:
    # "Product Defect: Refund Status" -> its words; punctuation only separates family from flow.
    return _stems(title.replace(":", " "))


def _procedures_of(documents: Sequence[_Document]) -> _Procedures:
    procedures = [d for d in documents if procedure_steps(d)]
    titles = {d.id: _title_stems(d.title) for d in procedures}
    counts: dict[str, int] = {}
    for words in titles.values():
        for word in words:
            counts[word] = counts.get(word, 0) + 1
    n = len(titles)
    idf = {w: math.log((n + 1) / (c + 0.5)) for w, c in counts.items()}
    leads = lead_sentences({d.id: d.text for d in procedures})
    names = {d.id: [d.title, *([leads[d.id]] if d.id in leads else [])] for d in procedures}
    return _Procedures(titles=titles, idf=idf, names=names)


def _sentences(text: str) -> list[str]:
    """The text's sentences and list lines, headings left out (the title says what they say)."""
    body = "\n".join(line for line in text.splitlines() if parse_heading(line) is None)
    out = [_LIST_MARKER_RE.sub("", s, count=1).strip() for s in split_sentences(body)]
    return [s for s in out if len(s) >= MIN_UNIT_CHARS]


def _folded(sentence: str) -> str:
    return " ".join(re.findall(r"\w+", sentence.lower()))


def lead_sentences(texts: dict[str, str]) -> dict[str, str]:
    """Each procedure's lead: the first sentence of its text that no other procedure's text has.

    A procedure's text opens by saying when it applies; a sentence its siblings share ("Product
    Defect: refunds and returns.") names their family, not the flow.
    """
    sentences = {key: _sentences(text) for key, text in texts.items()}
    holders: dict[str, int] = {}
    for found in sentences.values():
        for folded in {_folded(s) for s in found}:
            holders[folded] = holders.get(folded, 0) + 1
    leads = {key: next((s for s in found if holders[_folded(s)] == 1), None) for key, found in sentences.items()}
    return {key: lead for key, lead in leads.items() if lead is not None}


@dataclass(frozen=True)
class _Names:
    """The name passages' vectors, one row each, and the procedure each belongs to."""

    owners: list[str]
    vectors: Vectors

    def closeness(self, query: Vectors) -> dict[str, float]:
        """Each procedure's best cosine between the query and its name passages."""
        best: dict[str, float] = {}
        for owner, cosine in zip(self.owners, (self.vectors @ query).tolist(), strict=True):
            best[owner] = max(best.get(owner, -1.0), float(cosine))
        return best


class GuidanceFinder:
    """Finds the procedure a conversation is in, over one knowledge service.

    Holds what it read of the live snapshot: its procedures, and their name passages' vectors,
    embedded once per snapshot as a task of its own, shielded, so a turn whose guidance part times out
    leaves it running for the next turn. Each cache refers to the object it was built from, so a new
    snapshot (or a reading of it) can never be mistaken for the old one by a reused id.
    """

    def __init__(self, knowledge: ProcedureIndex) -> None:
        self.knowledge = knowledge
        # A weak reference: a replaced snapshot (a whole index) must not stay in memory for this.
        self._procedures: tuple[weakref.ref[_Snapshot], _Procedures | None] | None = None
        self._names: tuple[_Procedures, asyncio.Task[_Names]] | None = None

    def procedures(self) -> _Procedures | None:
        """The live index's procedures (read once per snapshot), or None when it holds none."""
        snapshot = self.knowledge.snapshot
        if self._procedures is None or self._procedures[0]() is not snapshot:
            found = _procedures_of([r.document for r in snapshot.documents.values()])
            self._procedures = (weakref.ref(snapshot), found if found.titles else None)
        return self._procedures[1]

    def has_procedures(self) -> bool:
        return self.procedures() is not None

    async def find(self, turns: Sequence[TurnRecord]) -> GuidanceOut | None:
        """The best procedure for the conversation so far, or None when the KB holds none that matches."""
        procedures = self.procedures()
        if procedures is None:
            return None
        query = need_query(turns)
        if not query.strip():
            return None
        knowledge = self.knowledge
        outcome = await knowledge.search(query[:2000], k=SEARCH_K)
        found: dict[str, tuple[float, _Document, list[str]]] = {}
        for hit in outcome.hits:
            if hit.document_id in found:
                continue
            document = knowledge.get_document(hit.document_id)
            steps = procedure_steps(document)
            if steps and document is not None:
                found[hit.document_id] = (float(hit.score), document, steps)
        if not found:
            return None
        top = max(score for score, _, _ in found.values()) or 1.0
        need = _stems(" ".join(t.text for t in turns if t.speaker == "customer"))
        names = await self._name_closeness(procedures, outcome.vector)

        def rank(item: tuple[float, _Document, list[str]]) -> float:
            score, document, _ = item
            title = TITLE_WEIGHT * procedures.title_match(document.id, need)
            return score / top + title + NAME_WEIGHT * names.get(document.id, 0.0)

        score, document, steps = max(found.values(), key=rank)
        return GuidanceOut(
            flow_id=document.id,
            title=document.title,
            confidence=round(score, 4),
            steps=step_statuses(steps, turns),
            citations=[Citation(document_id=document.id, url=document.url, title=document.title)],
        )

    async def _name_closeness(self, procedures: _Procedures, query: Vectors | None) -> dict[str, float]:
        """Each procedure's name cosine to the search's query vector; empty when the search had no
        MiniLM vector (a lexical or multilingual search) or embedding the names failed."""
        if not isinstance(query, np.ndarray) or NAME_WEIGHT == 0:
            return {}
        task = self._names_task(procedures)
        try:
            names = task.result() if task.done() else await asyncio.shield(task)
        except Exception:
            log.warning("guidance_names_failed", exc_info=True)
            self._names = None  # the next turn tries again
            return {}
        if names.vectors.shape[1:] != query.shape:
            return {}
        return names.closeness(query)

    def _names_task(self, procedures: _Procedures) -> asyncio.Task[_Names]:
        cached = self._names
        if cached is not None and cached[0] is procedures:
            task = cached[1]
            if not task.cancelled() and (task.done() or task.get_loop() is asyncio.get_running_loop()):
                return task
        task = asyncio.create_task(_embed_names(self.knowledge.embeddings, procedures), name="guidance-names")
        self._names = (procedures, task)
        return task


async def _embed_names(embeddings: _Embeddings, procedures: _Procedures) -> _Names:
    owners = [key for key, passages in procedures.names.items() for _ in passages]
    texts = [passage for passages in procedures.names.values() for passage in passages]
    vectors = np.asarray(await embeddings.encode(texts), dtype=np.float32)
    return _Names(owners=owners, vectors=vectors)
