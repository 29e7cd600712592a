"""Guidance (next best action): the procedure the conversation is in, and the steps already done.

A procedure is a knowledge-base document with ``"kind": "procedure"`` and ordered ``steps`` (kept
in its metadata). The flow is found by the same hybrid search as any article, restricted to
procedures, over what the customer has said that carries a need (greetings, names and order
numbers add nothing); a step counts as done when one of the agent's own turns (or a bot/system
action) shares enough stemmed words with it, and every step before the last one done is done too:
agents follow a flow in order and do not narrate every step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import msgspec

from txassist.conversations.records import TurnRecord
from txassist.drafting.schemas import Citation
from txassist.jsontypes import JsonObject
from txassist.knowledge.lexical import tokenize
from txassist.knowledge.schemas import KnowledgeHit

SEARCH_K = 20
NEED_WORDS = 4  # a customer turn shorter than this rarely states a need ("Crystal Minh", "yes")
MAX_NEED_TURNS = 2  # the opening states the need; later turns add names, ids and details
DONE_MIN_SHARED = 2
DONE_MIN_SHARE = 0.34  # of the step's own words, so that a long step needs more than two shared words

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
    def metadata(self) -> JsonObject: ...


class _Hits(Protocol):
    @property
    def hits(self) -> Sequence[KnowledgeHit]: ...


class ProcedureIndex(Protocol):
    """What guidance reads from the knowledge service: a search, and the documents behind its hits."""

    async def search(self, query: str, *, k: int = 5) -> _Hits: ...
    def get_document(self, document_id: str) -> _Document | None: ...


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


async def find_guidance(knowledge: ProcedureIndex | None, turns: Sequence[TurnRecord]) -> GuidanceOut | None:
    """The best procedure for the conversation so far, or None when the KB holds none that matches."""
    if knowledge is None or not has_procedures(knowledge):
        return None
    query = need_query(turns)
    if not query.strip():
        return None
    outcome = await knowledge.search(query[:2000], k=SEARCH_K)
    for hit in outcome.hits:
        document = knowledge.get_document(hit.document_id)
        steps = procedure_steps(document)
        if steps and document is not None:
            return GuidanceOut(
                flow_id=document.id,
                title=document.title,
                confidence=round(float(hit.score), 4),
                steps=step_statuses(steps, turns),
                citations=[Citation(document_id=document.id, url=document.url, title=document.title)],
            )
    return None


_PROCEDURE_CACHE: dict[tuple[int, str], bool] = {}


def has_procedures(knowledge: object) -> bool:
    """Whether the live index holds any procedure (cached per index snapshot)."""
    snapshot = getattr(knowledge, "snapshot", None)
    documents = getattr(snapshot, "documents", None)
    if documents is None:
        return False
    key = (id(snapshot), str(getattr(snapshot, "version", "")))
    if key not in _PROCEDURE_CACHE:
        _PROCEDURE_CACHE.clear()  # one live snapshot at a time; older ones are gone
        _PROCEDURE_CACHE[key] = any(procedure_steps(r.document) for r in documents.values())
    return _PROCEDURE_CACHE[key]
