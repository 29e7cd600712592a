"""Extractive summaries: the sentences that carry the issue, the actions taken and the resolution.

Cheap enough to run on every turn (a few hundred microseconds for a long conversation); the LLM
backends produce the same shapes through the prompts in ``prompts/``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import msgspec

from txassist.conversations.records import TurnRecord
from txassist.drafting.schemas import AfterContactSummary, Commitment
from txassist.drafting.text import sentences, shorten

EXTRACTIVE_VERSION = "extractive.summary.v1"

_ISSUE = re.compile(
    r"\b(can'?t|cannot|not|never|no longer|doesn'?t|won'?t|didn'?t|isn'?t|problem|issue|broken|wrong|"
    r"charged|twice|missing|late|damaged|refund|return|cancel|need|want|help|error|locked|lost|fee|"
    r"stopped|keeps|failed|overcharged|arrived)\b",
    re.IGNORECASE,
)
_ACTION = re.compile(
    r"\b(i'?ve|i have|we'?ve|we have|has been|have been|processed|issued|sent|escalat\w*|updated|reset|"
    r"refunded|notified|created|cancell?ed|applied|verified|validated|pulled up|entered|changed|"
    r"replaced|arranged|scheduled|initiated|generated)\b",
    re.IGNORECASE,
)
_RESOLUTION = re.compile(
    r"\b(resolved|all set|done|processed|refund(ed)? (has been|was|is)|unfortunately|cannot|can'?t|unable|"
    r"escalat\w*|fixed|working now|has been|will receive|you'?ll receive|approved|denied|completed)\b",
    re.IGNORECASE,
)
_PROMISE = re.compile(
    r"\b(i'?ll|i will|we'?ll|we will|i am going to|i'?m going to|you'?ll receive|you will receive|"
    r"you'?ll get|you will get|they'?ll|they will|expect)\b",
    re.IGNORECASE,
)
_WE = re.compile(r"\b(we'?ll|we will|you'?ll receive|you will receive|you'?ll get|you will get|expect)\b", re.I)
_DUE = re.compile(
    r"\b(within (?:the next )?\d+(?:\s*(?:-|to)\s*\d+)? "
    r"(?:business |working )?(?:days?|hours?|weeks?|minutes?)|"
    r"in \d+(?:\s*(?:-|to)\s*\d+)? (?:business |working )?(?:days?|hours?|weeks?)|"
    r"by (?:the )?(?:end of (?:the )?(?:day|week|month)|tomorrow|today|tonight|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|\d{1,2}(?:st|nd|rd|th)?(?: \w+)?)|"
    r"tomorrow|today|tonight|next (?:week|month|monday|tuesday|wednesday|thursday|friday))\b",
    re.IGNORECASE,
)
_CUSTOMER_PROMISE = re.compile(r"\b(i'?ll|i will)\b", re.IGNORECASE)


def _turn_sentences(turns: Sequence[TurnRecord], speakers: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for turn in turns:
        if turn.speaker in speakers:
            out.extend(sentences(turn.text) or ([turn.text.strip()] if turn.text.strip() else []))
    return out


def issue_sentence(turns: Sequence[TurnRecord]) -> str:
    customer = _turn_sentences(turns, ("customer",))
    if not customer:
        return ""
    early = customer[:8]
    scored = [(len(_ISSUE.findall(s)), -i, s) for i, s in enumerate(early)]
    best = max(scored)
    if best[0] > 0:
        return best[2]
    return max(early, key=len)


def action_sentences(turns: Sequence[TurnRecord], limit: int = 4) -> list[str]:
    found = [s for s in _turn_sentences(turns, ("agent", "bot")) if _ACTION.search(s) and "?" not in s]
    return _unique(found)[-limit:]


_THANKS = re.compile(
    r"\b(thanks?|thank you|perfect|great|that works|that'?s all|awesome|sounds good|appreciate)\b", re.IGNORECASE
)
_PLEASANTRY = re.compile(r"\b(one moment|pleasure|nice day|good day|welcome|anything else|hello|hi)\b", re.I)


def resolution_sentence(turns: Sequence[TurnRecord]) -> str:
    agent = _turn_sentences(turns, ("agent", "bot"))
    for sentence in reversed(agent):
        if _RESOLUTION.search(sentence) and "?" not in sentence:
            return sentence
    # An answered question: the agent's last substantive statement before the customer thanked them.
    for index in range(len(turns) - 1, 0, -1):
        turn = turns[index]
        if turn.speaker != "customer" or not _THANKS.search(turn.text):
            continue
        for earlier in reversed(turns[:index]):
            if earlier.speaker != "agent":
                continue
            candidates = [
                s for s in sentences(earlier.text) if "?" not in s and len(s.split()) >= 5 and not _PLEASANTRY.search(s)
            ]
            if candidates:
                return candidates[-1]
    return ""


def commitments(turns: Sequence[TurnRecord]) -> list[Commitment]:
    out: list[Commitment] = []
    for turn in turns:
        is_agent = turn.speaker in ("agent", "bot")
        for sentence in sentences(turn.text):
            pattern = _PROMISE if is_agent else _CUSTOMER_PROMISE
            if "?" in sentence or not pattern.search(sentence):
                continue
            due = _DUE.search(sentence)
            owner: Literal["agent", "customer", "company"] = "customer"
            if is_agent:
                owner = "company" if _WE.search(sentence) else "agent"
            out.append(Commitment(promise=shorten(sentence, 40), owner=owner, due=due.group(0) if due else None))
    return out


def rolling_summary(turns: Sequence[TurnRecord], *, max_chars: int = 600) -> str:
    if not turns:
        return ""
    parts: list[str] = []
    issue = issue_sentence(turns)
    if issue:
        parts.append(f"Issue: {shorten(issue, 30)}")
    actions = action_sentences(turns, limit=2)
    if actions:
        parts.append("Done: " + " ".join(shorten(a, 25) for a in actions))
    last_customer = next((t for t in reversed(turns) if t.speaker == "customer"), None)
    if last_customer is not None:
        latest = sentences(last_customer.text)
        if latest and latest[-1] != issue:
            parts.append(f"Latest: {shorten(latest[-1], 25)}")
    return " ".join(parts)[:max_chars]


def after_contact(turns: Sequence[TurnRecord]) -> AfterContactSummary:
    promises = commitments(turns)
    resolution = resolution_sentence(turns)
    next_steps = [c.promise for c in promises if c.owner != "customer"] or (
        [] if resolution else ["Follow up with the customer: the issue is not resolved yet."]
    )
    return AfterContactSummary(
        issue=issue_sentence(turns) or "No customer issue was stated.",
        actions_taken=action_sentences(turns),
        resolution=resolution or "unresolved",
        next_steps=next_steps,
        commitments=promises,
    )


def handoff_summary(turns: Sequence[TurnRecord], *, from_channel: str, to_channel: str) -> str:
    summary = after_contact(turns)
    moved = f"Customer moved from {from_channel} to {to_channel}." if from_channel != to_channel else None
    lines = [moved or f"Handoff of a {to_channel} conversation.", f"Issue: {summary.issue}"]
    if summary.actions_taken:
        lines.append("Done so far: " + " ".join(summary.actions_taken))
    if summary.commitments:
        lines.append("Promised: " + " ".join(c.promise for c in summary.commitments if c.owner != "customer"))
    lines.append("Status: " + (summary.resolution if summary.resolution != "unresolved" else "not resolved yet."))
    return "\n".join(line for line in lines if not line.endswith(": "))


def render_after_contact(summary: AfterContactSummary) -> str:
    lines = [f"Issue: {summary.issue}"]
    if summary.actions_taken:
        lines.append("Actions taken: " + " ".join(summary.actions_taken))
    lines.append(f"Resolution: {summary.resolution}")
    if summary.next_steps:
        lines.append("Next steps: " + " ".join(summary.next_steps))
    lines.extend(f"Commitment ({c.owner}{', due ' + c.due if c.due else ''}): {c.promise}" for c in summary.commitments)
    return "\n".join(lines)


# Written inline (no $ref) because llama.cpp's grammar converter and some servers handle it best.
_STRINGS: dict[str, object] = {"type": "array", "items": {"type": "string"}, "maxItems": 6}
AFTER_CONTACT_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "issue": {"type": "string"},
        "actions_taken": _STRINGS,
        "resolution": {"type": "string"},
        "next_steps": _STRINGS,
        "commitments": {
            "type": "array",
            "maxItems": 6,
            "items": {
                "type": "object",
                "properties": {
                    "promise": {"type": "string"},
                    "owner": {"type": "string", "enum": ["agent", "customer", "company"]},
                    "due": {"type": ["string", "null"]},
                },
                "required": ["promise", "owner", "due"],
            },
        },
    },
    "required": ["issue", "actions_taken", "resolution", "next_steps", "commitments"],
}


def json_object(text: str) -> bytes:
    """The JSON object in a model's answer; tolerates prose or code fences around it."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("the model answer holds no JSON object")
    return text[start : end + 1].encode()


def parse_after_contact(text: str) -> AfterContactSummary:
    return msgspec.json.decode(json_object(text), type=AfterContactSummary)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
