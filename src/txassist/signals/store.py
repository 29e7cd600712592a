"""``SignalStore``: signals and their outbox events written in the caller's session, duplicates merged.

Never commits: the turn's (or the request's) transaction does, so a signal and its outbox event are
written together with the turn or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.db.models import OutboxEvent, Signal
from txassist.outbox.cloudevents import SIGNAL_CREATED, SIGNAL_UPDATED, signal_event
from txassist.outbox.repository import OutboxRepository
from txassist.signals.evidence import EVIDENCE_MAX_CHARS
from txassist.signals.extraction import ConversationRef, KeyedTurn
from txassist.signals.repository import SignalRepository
from txassist.signals.schemas import SignalOut


class SignalStore:
    @staticmethod
    def dedup_key(signal: SignalOut) -> str:
        key = signal.details.get("key")
        if key:
            return f"{signal.type}:{str(key).lower()}"[:128]
        return f"{signal.type}:{signal.product_area}"[:128]

    async def stored_duplicates(
        self, session: AsyncSession, conversation_id: str, signals: list[SignalOut]
    ) -> dict[str, Signal]:
        """The conversation's stored signals that ``signals`` would merge into, by dedup key (one query)."""
        keys = sorted({self.dedup_key(signal) for signal in signals})
        return await SignalRepository(session).by_dedup_keys(conversation_id, keys) if keys else {}

    async def record(
        self,
        session: AsyncSession,
        signals: list[SignalOut],
        *,
        conversation: ConversationRef,
        turn: KeyedTurn | None,
        duplicates: Mapping[str, Signal] | None = None,
    ) -> list[SignalOut]:
        """Write signals and their outbox events in the caller's session; merge duplicates.

        A duplicate (same type and product area, or same competitor, in one conversation) keeps
        the highest confidence; raising it emits a ``signal.updated`` event with the same signal id.
        ``duplicates`` (from ``stored_duplicates``) lets the turn pipeline read them before its write phase.
        """
        if duplicates is None:
            duplicates = await self.stored_duplicates(session, conversation.id, signals)
        repo = SignalRepository(session)
        outbox = OutboxRepository(session)
        best: dict[str, SignalOut] = {}
        for signal in signals:
            slot = self.dedup_key(signal)
            if slot not in best or signal.confidence > best[slot].confidence:
                best[slot] = signal
        stored: list[SignalOut] = []
        pending_events: list[tuple[Signal, str]] = []
        now = datetime.now(UTC)
        for slot, signal in best.items():
            # Redacted and bounded when the signal was made (``evidence_of``): not a second time.
            evidence = signal.evidence[:EVIDENCE_MAX_CHARS]
            turn_key = signal.details.get("turn_key") or (turn.turn_key if turn is not None else None)
            details = {**signal.details, "turn_id": signal.turn_id}
            existing = duplicates.get(slot)
            if existing is None:
                row = Signal(
                    id=uuid.UUID(signal.id),
                    kind=signal.kind,
                    type=signal.type,
                    confidence=signal.confidence,
                    product_area=signal.product_area,
                    evidence=evidence,
                    conversation_id=conversation.id,
                    turn_key=turn_key,
                    customer_ref=signal.customer_ref,
                    channel=signal.channel,
                    occurred_at=signal.occurred_at,
                    created_at=now,
                    extractor_version=signal.extractor_version,
                    dedup_key=slot,
                    details=details,
                )
                repo.add(row)
                event_type = SIGNAL_CREATED
            elif signal.confidence > existing.confidence:
                row = existing
                row.confidence = signal.confidence
                row.evidence = evidence
                row.turn_key = turn_key
                row.occurred_at = signal.occurred_at
                row.details = details
                row.extractor_version = signal.extractor_version
                event_type = SIGNAL_UPDATED
            else:
                stored.append(signal_out(existing))
                continue
            pending_events.append((row, event_type))
            stored.append(signal_out(row))
        if not pending_events:
            return stored  # every signal merged into a stronger stored one: nothing to write
        # Signals first: there is no ORM relationship to order the inserts, and events reference them.
        await session.flush()
        for row, event_type in pending_events:
            self._add_event(outbox, row, event_type, now)
        await session.flush()
        return stored

    def _add_event(self, outbox: OutboxRepository, row: Signal, event_type: str, now: datetime) -> None:
        event_id = uuid.uuid4()
        outbox.add(
            OutboxEvent(
                id=event_id,
                signal_id=row.id,
                customer_ref=row.customer_ref,
                event_type=event_type,
                payload=signal_event(
                    event_id=event_id,
                    event_type=event_type,
                    subject=f"signals/{row.id}",
                    time=now,
                    data=msgspec.to_builtins(signal_out(row)),
                ),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )


def signal_out(row: Signal) -> SignalOut:
    details = dict(row.details or {})
    turn_id = details.pop("turn_id", None)
    kind: Literal["product", "churn"] = "churn" if row.kind == "churn" else "product"
    return SignalOut(
        id=str(row.id),
        kind=kind,
        type=row.type,
        confidence=row.confidence,
        product_area=row.product_area,
        evidence=row.evidence,
        conversation_id=row.conversation_id,
        turn_id=turn_id if isinstance(turn_id, str) else None,
        customer_ref=row.customer_ref,
        channel=row.channel,
        occurred_at=_aware(row.occurred_at),
        extractor_version=row.extractor_version,
        details=details,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
