from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from txassist.conversations.context import context_entry, open_issues
from txassist.conversations.records import ConversationRecord


def _conversation(**fields: object) -> ConversationRecord:
    values: dict[str, object] = {
        "id": "c1",
        "customer_id": "u1",
        "channel": "chat",
        "status": "open",
        "started_at": datetime(2026, 1, 1, tzinfo=UTC),
        "updated_at": datetime(2026, 1, 2, tzinfo=UTC),
        "turn_count": 3,
        "channels": ["chat"],
        "rolling_summary": "Customer: refund late",
        "handoff_summary": None,
        "after_contact": None,
        "sentiment_trend": -0.4,
        "last_sentiment": "negative",
        "escalated": False,
        "topics": [{"document_id": "d1", "title": "Refunds"}, {"document_id": "d2", "title": "Delivery"}],
    }
    values.update(fields)
    return msgspec.convert(values, ConversationRecord)


def test_open_conversation_lists_its_topics_newest_first() -> None:
    entry = context_entry(_conversation())
    assert entry.open_issues == ["Delivery", "Refunds"]
    assert entry.summary == "Customer: refund late"
    assert entry.commitments == []


def test_after_contact_summary_issue_and_commitments_win() -> None:
    after = {
        "summary": "Refund chased with warehouse.",
        "issue": "Refund for order 7 not received",
        "commitments": [
            "Call back by Friday",
            {"promise": "Email the return label", "owner": "agent", "due": "within 1 hour"},
            {"promise": "Send photos of the box", "owner": "customer", "due": None},
        ],
    }
    entry = context_entry(_conversation(status="closed", after_contact=after))
    assert entry.summary == "Refund chased with warehouse."
    assert entry.open_issues[0] == "Refund for order 7 not received"
    assert entry.commitments == [
        "Call back by Friday",
        "Email the return label (due within 1 hour)",
        "Send photos of the box",
    ]


def test_resolved_conversation_has_no_open_issues() -> None:
    conv = _conversation(status="closed", after_contact={"resolution": "Refunded", "issue": "late refund"})
    assert open_issues(conv) == []
