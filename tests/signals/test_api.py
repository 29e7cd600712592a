"""Signals stored with their outbox events, then served: list, cursors, summary, export, outbox admin."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from tests.conftest import auth
from txassist.db.engine import database_config
from txassist.db.models import Conversation, Customer, OutboxEvent, Signal, Turn
from txassist.services import Services
from txassist.signals.schemas import SignalOut

TEXTS = [
    "I want to cancel my subscription and move to HelloFresh, call me on +44 20 7946 0958",
    "The Thermo keeps crashing and the price went up again",
    "This is the third time I'm contacting you about this",
]


class _TestSide:
    """The app runs in the test client's own thread and loop: the test talks to the database
    through an engine of its own and embeds with the encoder directly, never the app's batcher."""

    def __init__(self, app: Litestar) -> None:
        self.services: Services = app.state.services
        self.db = database_config(app.state.settings)
        self.signals = self.services.signal_store


async def _seed(app: Litestar) -> tuple[_TestSide, list[SignalOut]]:
    side = _TestSide(app)
    services = side.services
    stored: list[SignalOut] = []
    async with side.db.get_session() as session:
        customer_id = f"cust-{uuid.uuid4().hex[:6]}"
        session.add(Customer(id=customer_id, pseudonym="p"))
        await session.flush()
        conversation = Conversation(id=f"conv-{uuid.uuid4().hex[:6]}", customer_id=customer_id, channel="chat")
        session.add(conversation)
        await session.flush()
        for seq, text in enumerate(TEXTS):
            turn = Turn(
                conversation_id=conversation.id,
                turn_key=f"t{seq}",
                request_hash="h",
                seq=seq,
                speaker="customer",
                channel="chat",
                text=text,
                occurred_at=datetime.now(UTC),
            )
            session.add(turn)
            await session.flush()
            found = await services.signals.extract_for_turn(
                conversation=conversation,
                turn=turn,
                vector=services.encoder.encode([text])[0],
                hits=[],
                best_dense_score=0.9,
                sentiment_history=[],
                customer_recent_topics=[],
            )
            stored += await side.signals.record(session, found, conversation=conversation, turn=turn)
        await session.commit()
    return side, stored


async def test_signals_are_stored_redacted_with_one_outbox_event_each_and_merged(
    app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    side, stored = await _seed(app)
    types = {s.type for s in stored}
    assert {"cancellation_intent", "competitor_mention", "defect", "price_complaint", "repeat_contact"} <= types
    assert all("7946" not in s.evidence for s in stored)
    async with side.db.get_session() as session:
        events = (await session.scalars(select(OutboxEvent))).all()
        assert {str(e.signal_id) for e in events} == {s.id for s in stored}
        assert all(e.payload["id"] == str(e.id) and e.payload["specversion"] == "1.0" for e in events)
        # The whole number: ids and pseudonyms are random hex, which may hold "7946" by chance.
        assert all("7946 0958" not in json.dumps(e.payload) for e in events)
        # Recording the same signal again with lower confidence merges: no new row, no new event.
        conversation = await session.get(Conversation, stored[0].conversation_id)
        assert conversation is not None
        again = [msgspec_replace(s, confidence=s.confidence / 2, id=str(uuid.uuid4())) for s in stored]
        merged = await side.signals.record(session, again, conversation=conversation, turn=None)
        assert {m.id for m in merged} == {s.id for s in stored}
        higher = msgspec_replace(stored[0], confidence=1.0, id=str(uuid.uuid4()))
        await side.signals.record(session, [higher], conversation=conversation, turn=None)
        await session.commit()
        assert await session.scalar(select(func.count()).select_from(Signal)) == len(stored)
        updated = await session.scalars(select(OutboxEvent).where(OutboxEvent.event_type.like("%updated%")))
        assert [str(e.signal_id) for e in updated.all()] == [stored[0].id]


def msgspec_replace(signal: SignalOut, **changes: object) -> SignalOut:
    import msgspec

    return msgspec.structs.replace(signal, **changes)


async def test_list_pages_with_a_stable_order_and_rejects_foreign_cursors(
    app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    _, stored = await _seed(app)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/v1/signals", params=params, headers=auth("product-key"))
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(s.id for s in stored) and len(seen) == len(set(seen))

    churn = (await client.get("/v1/signals", params={"kind": "churn"}, headers=auth("product-key"))).json()
    assert churn["items"] and {i["kind"] for i in churn["items"]} == {"churn"}
    by_type = await client.get("/v1/signals", params={"type": "defect"}, headers=auth("product-key"))
    assert {i["type"] for i in by_type.json()["items"]} == {"defect"}

    first = (await client.get("/v1/signals", params={"limit": 1}, headers=auth("product-key"))).json()
    forged = first["next_cursor"][:-4] + "abcd"
    for bad in (forged, "not-a-cursor", "eyJ4IjoxfQ.deadbeef"):
        response = await client.get("/v1/signals", params={"cursor": bad}, headers=auth("product-key"))
        assert response.status_code == 400 and response.json()["error_type"] == "invalid_cursor"


async def test_bad_filters_and_scopes_are_clear_4xx(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    headers = auth("product-key")
    for params in ({"type": "bogus"}, {"kind": "x"}, {"limit": 501}, {"limit": 0}, {"since": "yesterday"}):
        response = await client.get("/v1/signals", params=params, headers=headers)
        assert response.status_code == 422, (params, response.text)  # the project's validation status
    now = datetime.now(UTC)
    inverted = {"since": now.isoformat(), "until": (now - timedelta(days=1)).isoformat()}
    assert (await client.get("/v1/signals", params=inverted, headers=headers)).status_code == 422
    assert (await client.get("/v1/signals")).status_code == 401
    assert (await client.get("/v1/signals", headers=auth("agent-key"))).status_code == 403
    assert (await client.get("/v1/outbox", headers=auth("product-key"))).status_code == 403
    assert (await client.get("/v1/signals/export", params={"format": "xml"}, headers=headers)).status_code == 422


async def test_summary_and_exports(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    _, stored = await _seed(app)
    headers = auth("product-key")
    summary = (await client.get("/v1/signals/summary", params={"days": 7}, headers=headers)).json()
    assert summary["total"] == len(stored) and summary["previous_total"] == 0
    assert sum(b["count"] for b in summary["by_day"]) == len(stored)
    assert {t["type"]: t["direction"] for t in summary["trends"]}["defect"] == "up"

    ndjson = await client.get("/v1/signals/export", params={"format": "ndjson"}, headers=headers)
    assert ndjson.status_code == 200 and ndjson.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in ndjson.text.splitlines()]
    assert sorted(line["id"] for line in lines) == sorted(s.id for s in stored)

    exported = await client.get("/v1/signals/export", params={"format": "csv", "type": "defect"}, headers=headers)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and {r["type"] for r in rows} == {"defect"}
    assert exported.headers["content-type"].startswith("text/csv"), exported.headers["content-type"]
    assert 'filename="signals.csv"' in exported.headers["content-disposition"]


async def test_outbox_admin_lists_and_replays(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    side, stored = await _seed(app)
    headers = auth("admin-key")
    pending = (await client.get("/v1/outbox", params={"status": "pending"}, headers=headers)).json()
    assert len(pending["items"]) == len(stored) and pending["counts"]["pending"] == len(stored)
    async with side.db.get_session() as session:
        event = (await session.scalars(select(OutboxEvent))).first()
        assert event is not None
        event.status, event.attempts = "dead", 12
        await session.commit()
        dead_id = str(event.id)
    dead = (await client.get("/v1/outbox", params={"status": "dead"}, headers=headers)).json()
    assert [i["id"] for i in dead["items"]] == [dead_id]
    replay = await client.post("/v1/outbox/replay", json={"ids": [dead_id]}, headers=headers)
    assert replay.status_code == 200 and replay.json() == {"replayed": 1}
    again = await client.post("/v1/outbox/replay", headers=headers)
    assert again.json() == {"replayed": 0}
    bad = await client.post("/v1/outbox/replay", json={"ids": ["nope"]}, headers=headers)
    assert bad.status_code == 422
    assert (await client.get("/v1/outbox", params={"status": "lost"}, headers=headers)).status_code == 422
