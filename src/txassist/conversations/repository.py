"""Every query on customers, identity links, conversations and turns.

The per-turn queries are SQLAlchemy Core statements built once at import with bound parameters and
read into plain structs: no ORM identity map, unit of work or per-call cache-key generation on the
path every customer turn takes (the ORM cost about 8 ms of event-loop time per turn). On SQLite they
skip the session's driver adapter too (see ``statements``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
from sqlalchemy import Table, bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.conversations.records import ConversationRecord, TurnRecord
from txassist.conversations.statements import Row, statements_for
from txassist.db.models import Conversation, Customer, CustomerIdentity, CustomerMatch, Turn
from txassist.drafting.schemas import after_contact_record
from txassist.errors import Conflict, NotFound
from txassist.jsontypes import JsonObject

conversations: Table = Conversation.__table__  # type: ignore[assignment]
turns: Table = Turn.__table__  # type: ignore[assignment]
matches: Table = CustomerMatch.__table__  # type: ignore[assignment]


class IdentityOwner(msgspec.Struct, frozen=True):
    customer_id: str
    verified: bool


class Transcript(msgspec.Struct, frozen=True):
    """A conversation's row and its newest turns, oldest first: what drafting, summaries and close read."""

    conversation: Conversation
    turns: list[TurnRecord]


class StoredResponse(msgspec.Struct, frozen=True):
    turn_key: str
    request_hash: str
    response: JsonObject | None


_CONVERSATION_FIELDS = ConversationRecord.__struct_fields__
_TURN_FIELDS = TurnRecord.__struct_fields__
_CONVERSATION_COLUMNS = [conversations.c[name] for name in _CONVERSATION_FIELDS]
_TURN_COLUMNS = [turns.c[name] for name in _TURN_FIELDS]
# Conversation updates a turn makes: the counter in SQL (atomic), the rest as computed from the row read.
_TURN_UPDATES = ("channels", "updated_at", "status", "last_sentiment", "sentiment_trend", "escalated", "topics")

_SELECT_CONVERSATION = select(*_CONVERSATION_COLUMNS).where(conversations.c.id == bindparam("id"))
_SELECT_CONVERSATION_LOCKED = _SELECT_CONVERSATION.with_for_update()
_SELECT_TURN_RESPONSE = select(turns.c.turn_key, turns.c.request_hash, turns.c.response).where(
    turns.c.conversation_id == bindparam("conversation_id"), turns.c.turn_key == bindparam("turn_key")
)
_SELECT_LAST_TURNS = (
    select(*_TURN_COLUMNS)
    .where(turns.c.conversation_id == bindparam("conversation_id"))
    .order_by(turns.c.seq.desc())
    .limit(bindparam("limit"))
)
_SELECT_RECENT = (
    select(*_CONVERSATION_COLUMNS)
    .where(conversations.c.customer_id == bindparam("customer_id"), conversations.c.updated_at >= bindparam("since"))
    .order_by(conversations.c.updated_at.desc(), conversations.c.id)
    .limit(bindparam("limit"))
)
_SELECT_RECENT_EXCLUDING = _SELECT_RECENT.where(conversations.c.id != bindparam("exclude_id"))
_BUMP_CONVERSATION = (
    update(conversations)
    .where(conversations.c.id == bindparam("conversation_id"))
    .values(
        turn_count=conversations.c.turn_count + 1,
        rolling_summary=bindparam("summary"),
        **{name: bindparam(f"new_{name}") for name in _TURN_UPDATES},
    )
    .returning(conversations.c.turn_count)
)
customers: Table = Customer.__table__  # type: ignore[assignment]
identities: Table = CustomerIdentity.__table__  # type: ignore[assignment]
_SELECT_CUSTOMER_ID = select(customers.c.id).where(customers.c.id == bindparam("id"))
_SELECT_IDENTITY_OWNER = select(identities.c.customer_id, identities.c.verified).where(
    identities.c.kind == bindparam("kind"), identities.c.value == bindparam("value")
)
_SELECT_MATCHES = (
    select(matches.c.customer_id, matches.c.other_customer_id, matches.c.kind)
    .where(
        or_(matches.c.customer_id == bindparam("customer_id"), matches.c.other_customer_id == bindparam("customer_id"))
    )
    .order_by(matches.c.id)
)
_INSERT_CONVERSATION = insert(conversations)
_INSERT_TURN = insert(turns)


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.statements = statements_for(session)

    # --- customers and identities ---

    async def get_customer(self, customer_id: str) -> Customer | None:
        return await self.session.get(Customer, customer_id)

    async def customer_exists(self, customer_id: str) -> bool:
        return bool(await self.statements.fetch(_SELECT_CUSTOMER_ID, {"id": customer_id}))

    async def customer_for_identity(self, kind: str, key: str) -> str | None:
        """The customer id an identity key (see ``identity.identity_key``) is linked to."""
        owner = await self.identity_owner(kind, key)
        return owner.customer_id if owner is not None else None

    async def identity_owner(self, kind: str, key: str) -> IdentityOwner | None:
        rows = await self.statements.fetch(_SELECT_IDENTITY_OWNER, {"kind": kind, "value": key})
        return IdentityOwner(rows[0][0], bool(rows[0][1])) if rows else None

    async def identity_owners(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], IdentityOwner]:
        """For each (kind, key) already linked, the customer it belongs to and whether the link is verified."""
        found: dict[tuple[str, str], IdentityOwner] = {}
        for kind, key in pairs:
            owner = await self.identity_owner(kind, key)
            if owner is not None:
                found[(kind, key)] = owner
        return found

    def add_customer(self, customer_id: str, pseudonym: str) -> Customer:
        customer = Customer(id=customer_id, pseudonym=pseudonym)
        self.session.add(customer)
        return customer

    def add_identity(self, customer_id: str, kind: str, key: str, *, verified: bool = False) -> None:
        self.session.add(CustomerIdentity(customer_id=customer_id, kind=kind, value=key, verified=verified))

    async def mark_verified(self, customer_id: str, kind: str, key: str) -> None:
        await self.session.execute(
            update(CustomerIdentity)
            .where(CustomerIdentity.customer_id == customer_id, CustomerIdentity.kind == kind)
            .where(CustomerIdentity.value == key)
            .values(verified=True)
        )

    # --- possible matches ---

    async def possible_matches(self, customer_id: str) -> list[tuple[str, str]]:
        """(other customer id, identity kind) for every possible match recorded on either side."""
        rows = await self.statements.fetch(_SELECT_MATCHES, {"customer_id": customer_id})
        found: list[tuple[str, str]] = []
        for claimant, owner, kind in rows:
            pair = (owner if claimant == customer_id else claimant, kind)
            if pair not in found:
                found.append(pair)
        return found

    def add_match(self, customer_id: str, other_customer_id: str, kind: str) -> None:
        self.session.add(CustomerMatch(customer_id=customer_id, other_customer_id=other_customer_id, kind=kind))

    async def merge_customer(self, source: str, target: str, alias_key: str) -> int:
        """Make ``source`` part of ``target``: its conversations and identities move, its id becomes an
        alias of ``target`` (``alias_key``), its possible matches point at ``target``. Returns the number
        of conversations moved."""
        moved = await self.session.execute(
            update(Conversation).where(Conversation.customer_id == source).values(customer_id=target)
        )
        await self.session.execute(
            update(CustomerIdentity).where(CustomerIdentity.customer_id == source).values(customer_id=target)
        )
        involved = or_(CustomerMatch.customer_id == source, CustomerMatch.other_customer_id == source)
        kept = await self.possible_matches(target)
        repoint = {
            (other, kind)
            for other, kind in await self.possible_matches(source)
            if other not in (source, target) and (other, kind) not in kept
        }
        await self.session.execute(delete(CustomerMatch).where(involved))
        for other, kind in sorted(repoint):
            self.add_match(target, other, kind)
        self.add_identity(target, "customer_id", alias_key, verified=True)
        await self.session.flush()
        await self.session.execute(delete(Customer).where(Customer.id == source))
        return max(0, getattr(moved, "rowcount", 0) or 0)

    # --- conversations ---

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        return await self.session.get(Conversation, conversation_id)

    async def transcript(self, conversation_id: str, *, limit: int = 200) -> Transcript:
        """The conversation and its newest ``limit`` turns (long ones stay cheap to summarise).

        A 404 for an unknown conversation and a 409 for one without turns: there is nothing to draft from.
        """
        conversation = await self.get_conversation(conversation_id)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id!r} not found")
        turns = await self.last_turns(conversation_id, limit)
        if not turns:
            raise Conflict(f"conversation {conversation_id!r} has no turns yet: add a turn first")
        return Transcript(conversation, turns)

    async def conversation_for_turn(self, conversation_id: str) -> ConversationRecord | None:
        """The conversation, row-locked where the database can (PostgreSQL) so that concurrent turns of
        one conversation update it one after the other."""
        rows = await self.statements.fetch(_SELECT_CONVERSATION_LOCKED, {"id": conversation_id})
        return _conversation(rows[0]) if rows else None

    async def insert_conversation(self, record: ConversationRecord) -> None:
        values = msgspec.structs.asdict(record)
        values["after_contact"] = msgspec.to_builtins(record.after_contact)  # a JSON column
        await self.statements.execute(_INSERT_CONVERSATION, values)

    async def bump_conversation(self, record: ConversationRecord) -> int:
        """Store a turn's changes to its conversation and take the turn's number, in one UPDATE … RETURNING.

        The number is incremented in SQL: reading ``turn_count`` and writing it back would lose an
        update when two turns of a conversation arrive together on SQLite (no row locks there). On
        SQLite this statement also opens the write transaction.
        """
        params = {f"new_{name}": getattr(record, name) for name in _TURN_UPDATES}
        params |= {"conversation_id": record.id, "summary": record.rolling_summary}
        (row,) = await self.statements.fetch(_BUMP_CONVERSATION, params)
        seq = int(row[0])
        record.turn_count = seq
        return seq

    async def recent_conversations(
        self, customer_id: str, *, since: datetime, limit: int, exclude_id: str | None = None
    ) -> list[ConversationRecord]:
        """The customer's latest conversations, newest first, bounded by count and age."""
        params: dict[str, object] = {"customer_id": customer_id, "since": since, "limit": limit}
        statement = _SELECT_RECENT
        if exclude_id is not None:
            statement, params["exclude_id"] = _SELECT_RECENT_EXCLUDING, exclude_id
        return [_conversation(row) for row in await self.statements.fetch(statement, params)]

    # --- turns ---

    async def stored_response(self, conversation_id: str, turn_key: str) -> StoredResponse | None:
        params = {"conversation_id": conversation_id, "turn_key": turn_key}
        rows = await self.statements.fetch(_SELECT_TURN_RESPONSE, params)
        return StoredResponse(*rows[0]) if rows else None

    async def last_turns(self, conversation_id: str, limit: int) -> list[TurnRecord]:
        """The latest ``limit`` turns in conversation order (oldest first)."""
        params = {"conversation_id": conversation_id, "limit": limit}
        found = [
            TurnRecord(**dict(zip(_TURN_FIELDS, row, strict=True)))
            for row in await self.statements.fetch(_SELECT_LAST_TURNS, params)
        ]
        found.reverse()
        return found

    async def insert_turn(self, turn: TurnRecord, response: JsonObject) -> None:
        await self.statements.execute(_INSERT_TURN, msgspec.structs.asdict(turn) | {"response": response})

    async def flush(self) -> None:
        await self.session.flush()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


def _conversation(row: Row) -> ConversationRecord:
    fields = dict(zip(_CONVERSATION_FIELDS, row, strict=True))
    fields["after_contact"] = after_contact_record(fields["after_contact"])
    return ConversationRecord(**fields)
