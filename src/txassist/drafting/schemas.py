"""Request and response shapes for drafting, summaries and feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

BackendName = Literal["extractive", "openai", "local"]
SummaryKind = Literal["rolling", "handoff", "after_contact"]
FeedbackAction = Literal["accepted", "edited", "rejected"]

ShortText = Annotated[str, msgspec.Meta(max_length=2_000)]
LongText = Annotated[str, msgspec.Meta(max_length=20_000)]


class Citation(msgspec.Struct, frozen=True):
    document_id: str
    url: str | None
    title: str


class SuggestionOut(msgspec.Struct):
    id: str
    text: str
    citations: list[Citation]
    backend: str
    prompt_version: str
    latency_ms: float
    fallback: str | None = None
    source: str = "grounded"  # "grounded" (quoted from the KB) or "llm"
    act: str | None = None  # what the reply plan decided it must do, e.g. "retain"


class DraftRequest(msgspec.Struct, forbid_unknown_fields=True):
    backend: BackendName | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=16, le=2_048)] | None = None


class DraftOut(msgspec.Struct):
    conversation_id: str
    suggestions: list[SuggestionOut]


class Commitment(msgspec.Struct):
    promise: Annotated[str, msgspec.Meta(max_length=1_000)]
    owner: Literal["agent", "customer", "company"] = "agent"
    due: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class AfterContactSummary(msgspec.Struct):
    issue: Annotated[str, msgspec.Meta(max_length=2_000)]
    actions_taken: list[Annotated[str, msgspec.Meta(max_length=1_000)]]
    resolution: Annotated[str, msgspec.Meta(max_length=2_000)]
    next_steps: list[Annotated[str, msgspec.Meta(max_length=1_000)]]
    commitments: list[Commitment]


class AfterContactRecord(msgspec.Struct, kw_only=True):
    """The after-contact summary as stored on its conversation, and read back by the customer's context."""

    issue: str = ""
    actions_taken: list[str] = []
    resolution: str = ""
    next_steps: list[str] = []
    commitments: list[Commitment | str] = []  # a plain string: a row written before commitments had owners
    summary: str = ""  # the rendered text (redacted) a later contact shows
    backend: str | None = None
    prompt_version: str | None = None
    fallback: str | None = None


def after_contact_record(stored: object) -> AfterContactRecord | None:
    """The stored JSON as a struct; a row that does not fit reads as no summary rather than a 500."""
    if stored is None:
        return None
    try:
        return msgspec.convert(stored, AfterContactRecord)
    except msgspec.ValidationError:
        return None


class SummaryRequest(msgspec.Struct, forbid_unknown_fields=True):
    kind: SummaryKind = "rolling"
    backend: BackendName | None = None


class SummaryOut(msgspec.Struct):
    conversation_id: str
    kind: SummaryKind
    text: str
    backend: str
    prompt_version: str
    latency_ms: float
    structured: AfterContactSummary | None = None
    fallback: str | None = None


class CloseRequest(msgspec.Struct, forbid_unknown_fields=True):
    backend: BackendName | None = None


class CloseOut(msgspec.Struct):
    conversation_id: str
    status: str
    # True while a slow backend writes the summary in the background.
    pending: bool
    after_contact: AfterContactSummary | None = None
    backend: str | None = None
    prompt_version: str | None = None
    fallback: str | None = None


class FeedbackIn(msgspec.Struct, forbid_unknown_fields=True):
    action: FeedbackAction
    text: LongText | None = None
    reason: ShortText | None = None


class FeedbackOut(msgspec.Struct):
    id: str
    suggestion_id: str
    action: FeedbackAction
    edit_distance: int | None
    created_at: datetime


class StatsRow(msgspec.Struct):
    backend: str
    prompt_version: str
    suggestions: int
    feedback: int
    accepted: int
    edited: int
    rejected: int
    acceptance_rate: float | None
    mean_edit_distance: float | None


class StatsOut(msgspec.Struct):
    items: list[StatsRow]
