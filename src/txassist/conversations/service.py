"""Reading conversations and a customer's context; resolving who a customer id really is."""

from __future__ import annotations

from txassist.config import Settings
from txassist.conversations.context import build_context
from txassist.conversations.identity import identity_key
from txassist.conversations.repository import ConversationRepository
from txassist.conversations.schemas import ConversationOut, CustomerContext, TurnOut
from txassist.errors import NotFound

MAX_TURNS_SHOWN = 500


async def resolve_customer_id(repo: ConversationRepository, settings: Settings, customer_id: str) -> str | None:
    """The stored customer a caller's id stands for: itself, or the customer it was linked to as an alias
    (a new id that arrived with an email or phone number already known)."""
    if await repo.get_customer(customer_id) is not None:
        return customer_id
    return await repo.customer_for_identity(
        "customer_id", identity_key(settings.pseudonym_secret, "customer_id", customer_id)
    )


class ConversationQueries:
    def __init__(self, repo: ConversationRepository, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings

    async def conversation(self, conversation_id: str) -> ConversationOut:
        conversation = await self.repo.get_conversation(conversation_id)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id!r} not found")
        turns = await self.repo.last_turns(conversation_id, MAX_TURNS_SHOWN)
        return ConversationOut(
            conversation_id=conversation.id,
            customer_id=conversation.customer_id,
            channel=conversation.channel,
            channels=list(conversation.channels or []),
            status=conversation.status,
            started_at=conversation.started_at,
            updated_at=conversation.updated_at,
            closed_at=conversation.closed_at,
            turn_count=conversation.turn_count,
            summary=conversation.rolling_summary,
            handoff_summary=conversation.handoff_summary,
            after_contact=conversation.after_contact,
            sentiment_trend=conversation.sentiment_trend,
            last_sentiment=conversation.last_sentiment,
            escalated=conversation.escalated,
            topics=list(conversation.topics or []),
            turns=[
                TurnOut(
                    turn_id=turn.turn_key,
                    seq=turn.seq,
                    speaker=turn.speaker,
                    channel=turn.channel,
                    text=turn.text,
                    at=turn.occurred_at,
                    sentiment=turn.sentiment_label,
                    sentiment_scores=turn.sentiment_scores,
                )
                for turn in turns
            ],
        )

    async def customer_context(self, customer_id: str) -> CustomerContext:
        resolved = await resolve_customer_id(self.repo, self.settings, customer_id)
        if resolved is None:
            raise NotFound(f"customer {customer_id!r} not found")
        return await build_context(self.repo, self.settings, resolved)
