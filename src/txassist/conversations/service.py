"""Reading conversations and a customer's context; resolving who a customer id really is; agent links."""

from __future__ import annotations

from txassist.config import Settings
from txassist.conversations.context import build_context
from txassist.conversations.identity import IdentityResolver, identity_key
from txassist.conversations.repository import ConversationRepository
from txassist.conversations.schemas import ConversationOut, CustomerContext, LinkIn, LinkOut, TurnOut
from txassist.drafting.schemas import after_contact_record
from txassist.errors import Conflict, InvalidInput, NotFound

MAX_TURNS_SHOWN = 500


async def resolve_customer_id(repo: ConversationRepository, settings: Settings, customer_id: str) -> str | None:
    """The stored customer a caller's id stands for: itself, or the customer it was linked to as an alias
    (a new id that arrived with an email or phone number already known)."""
    if await repo.customer_exists(customer_id):
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
            after_contact=after_contact_record(conversation.after_contact),
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


class CustomerLinks:
    """``POST /v1/customers/{id}/links``: an agent confirms two customers are one person."""

    def __init__(self, repo: ConversationRepository, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings
        self.identities = IdentityResolver(repo, settings.pseudonym_secret)

    async def link(self, customer_id: str, data: LinkIn) -> LinkOut:
        identity_parts = (data.kind is not None, data.value is not None)
        by_id = data.customer_id is not None
        if (by_id and any(identity_parts)) or (not by_id and not all(identity_parts)):
            raise InvalidInput("name either customer_id, or kind and value of an identity")
        source = await resolve_customer_id(self.repo, self.settings, customer_id)
        if source is None:
            raise NotFound(f"customer {customer_id!r} not found")
        if data.customer_id is not None:
            target = await resolve_customer_id(self.repo, self.settings, data.customer_id)
            if target is None:
                raise NotFound(f"customer {data.customer_id!r} not found")
            return await self._merge(source, target)
        assert data.kind is not None and data.value is not None
        key = identity_key(self.settings.pseudonym_secret, data.kind, data.value)
        owner = (await self.repo.identity_owners([(data.kind, key)])).get((data.kind, key))
        if owner is None:
            self.repo.add_identity(source, data.kind, key, verified=True)
        elif owner.customer_id == source:
            await self.repo.mark_verified(source, data.kind, key)
        elif (owner.customer_id, data.kind) in await self.repo.possible_matches(source):
            return await self._merge(source, owner.customer_id)
        else:
            # Not the customer the possible match named: confirming would take it from a third one.
            raise Conflict(f"this {data.kind} is linked to another customer")
        await self.repo.flush()
        return LinkOut(customer_id=source, merged_customer_id=None, linked_kind=data.kind, conversations_moved=0)

    async def _merge(self, source: str, target: str) -> LinkOut:
        if source == target:
            return LinkOut(customer_id=target, merged_customer_id=None, linked_kind=None, conversations_moved=0)
        # The request boundary commits (autocommit on a 2xx answer).
        moved = await self.repo.merge_customer(source, target, self.identities.alias_key(source))
        return LinkOut(customer_id=target, merged_customer_id=source, linked_kind=None, conversations_moved=moved)
