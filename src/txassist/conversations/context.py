"""The cross-channel context: what an agent on a new channel needs so the customer never repeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from txassist.config import Settings
from txassist.conversations.repository import ConversationRecord, ConversationRepository
from txassist.conversations.schemas import ContextConversation, CustomerContext, PossibleMatch

MAX_OPEN_ISSUES = 5
MAX_COMMITMENTS = 10


async def build_context(
    repo: ConversationRepository,
    settings: Settings,
    customer_id: str,
    *,
    exclude_conversation_id: str | None = None,
    now: datetime | None = None,
    pending_matches: list[tuple[str, str]] | None = None,
) -> CustomerContext:
    """The customer's recent conversations, bounded by ``context_max_conversations`` and age, and the
    possible matches (stored, plus ``pending_matches`` this turn is about to store)."""
    since = (now or datetime.now(UTC)) - timedelta(days=settings.context_max_age_days)
    conversations = await repo.recent_conversations(
        customer_id,
        since=since,
        limit=settings.context_max_conversations,
        exclude_id=exclude_conversation_id,
    )
    matches = await repo.possible_matches(customer_id)
    matches += [match for match in pending_matches or [] if match not in matches]
    return CustomerContext(
        customer_id=customer_id,
        conversations=[context_entry(conv) for conv in conversations],
        possible_matches=[possible_match(other, kind) for other, kind in matches],
    )


def possible_match(other_customer_id: str, kind: str) -> PossibleMatch:
    return PossibleMatch(
        customer_id=other_customer_id,
        kind=kind,
        note=f"may be the same customer as {other_customer_id} (same {kind}, not confirmed)",
    )


def context_entry(conversation: ConversationRecord) -> ContextConversation:
    after = conversation.after_contact or {}
    return ContextConversation(
        conversation_id=conversation.id,
        channel=conversation.channel,
        channels=list(conversation.channels or [conversation.channel]),
        started_at=conversation.started_at,
        updated_at=conversation.updated_at,
        status=conversation.status,
        turn_count=conversation.turn_count,
        summary=_summary(conversation, after),
        sentiment_trend=round(conversation.sentiment_trend, 4),
        last_sentiment=conversation.last_sentiment,
        escalated=conversation.escalated,
        open_issues=open_issues(conversation, after),
        commitments=_strings(after.get("commitments"))[:MAX_COMMITMENTS],
    )


def _summary(conversation: ConversationRecord, after: dict[str, Any]) -> str:
    # The after-contact summary is the considered one; the handoff and rolling ones are fallbacks.
    for candidate in (after.get("summary"), conversation.handoff_summary, conversation.rolling_summary):
        if isinstance(candidate, str) and candidate.strip():
            return candidate
    return ""


def open_issues(conversation: ConversationRecord, after: dict[str, Any]) -> list[str]:
    """What is still unresolved: the after-contact issue if it was not resolved, else the topics."""
    issues: list[str] = []
    resolved = bool(after.get("resolved")) or (
        conversation.status == "closed" and bool(str(after.get("resolution") or "").strip())
    )
    if resolved:
        return []
    issue = after.get("issue")
    if isinstance(issue, str) and issue.strip():
        issues.append(issue.strip())
    issues.extend(_strings(after.get("next_steps")))
    for topic in reversed(conversation.topics or []):
        title = topic.get("title") if isinstance(topic, dict) else None
        if isinstance(title, str) and title and title not in issues:
            issues.append(title)
    return issues[:MAX_OPEN_ISSUES]


def _commitment_text(item: dict[str, Any]) -> str | None:
    promise = item.get("promise") or item.get("text") or item.get("description")
    if not isinstance(promise, str):
        return None
    due = item.get("due")
    return f"{promise} (due {due})" if isinstance(due, str) and due.strip() else promise


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            # Drafting writes commitments as objects ({"promise", "owner", "due"}); older rows may be strings.
            text = _commitment_text(item) if isinstance(item, dict) else item
            if isinstance(text, str) and text.strip():
                out.append(text.strip())
        return out
    return []
