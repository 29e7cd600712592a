"""The cross-channel context: what an agent on a new channel needs so the customer never repeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from txassist.config import Settings
from txassist.conversations.records import ConversationRecord
from txassist.conversations.repository import ConversationRepository
from txassist.conversations.schemas import ContextConversation, CustomerContext, PossibleMatch
from txassist.drafting.schemas import Commitment

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
    after = conversation.after_contact
    return ContextConversation(
        conversation_id=conversation.id,
        channel=conversation.channel,
        channels=list(conversation.channels or [conversation.channel]),
        started_at=conversation.started_at,
        updated_at=conversation.updated_at,
        status=conversation.status,
        turn_count=conversation.turn_count,
        summary=_summary(conversation),
        sentiment_trend=round(conversation.sentiment_trend, 4),
        last_sentiment=conversation.last_sentiment,
        escalated=conversation.escalated,
        open_issues=open_issues(conversation),
        commitments=_commitments(after.commitments if after else [])[:MAX_COMMITMENTS],
    )


def _summary(conversation: ConversationRecord) -> str:
    # The after-contact summary is the considered one; the handoff and rolling ones are fallbacks.
    after = conversation.after_contact
    for candidate in (after.summary if after else None, conversation.handoff_summary, conversation.rolling_summary):
        if candidate and candidate.strip():
            return candidate
    return ""


def open_issues(conversation: ConversationRecord) -> list[str]:
    """What is still unresolved: the after-contact issue if it was not resolved, else the topics."""
    after = conversation.after_contact
    if after is not None and conversation.status == "closed" and after.resolution.strip():
        return []
    issues: list[str] = []
    if after is not None:
        issues += [text.strip() for text in (after.issue, *after.next_steps) if text.strip()]
    for topic in reversed(conversation.topics or []):
        title = topic.get("title")
        if title and title not in issues:
            issues.append(title)
    return issues[:MAX_OPEN_ISSUES]


def _commitments(commitments: list[Commitment | str]) -> list[str]:
    out: list[str] = []
    for item in commitments:
        if isinstance(item, str):
            text = item
        else:
            due = item.due.strip() if item.due else ""
            text = f"{item.promise} (due {due})" if due else item.promise
        if text.strip():
            out.append(text.strip())
    return out
