"""Procedures for guidance tests: ABCD's 55 sub-flows as ``"kind": "procedure"`` documents, and
conversations written here, one or more per ABCD flow family, each labelled with its sub-flow."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from benchmarks.common import SHARED_DATA, abcd_guideline_documents

from txassist.config import Settings
from txassist.embedding import EmbeddingBatcher, TextEncoder
from txassist.knowledge.loaders import make_document
from txassist.knowledge.service import KnowledgeService

ABCD = SHARED_DATA / "abcd"


def _first_sentence(text: str, words: int = 14) -> str:
    first = re.split(r"(?<=[.!?:])\s+", text.strip())[0]
    return " ".join(first.split()[:words]).rstrip(":")


def abcd_procedures() -> list[dict[str, Any]]:
    """POST /v1/kb/documents bodies: the guideline text, and one short step per guideline action."""
    guidelines = json.loads((ABCD / "guidelines.json").read_text())
    by_name = {(d.metadata["flow"], d.metadata["subflow"]): d for d in abcd_guideline_documents()}
    bodies = []
    for flow, body in guidelines.items():
        for name, sub in body["subflows"].items():
            doc = by_name[(flow, name)]
            steps = [
                f"{a.get('button') or 'Step'}: {_first_sentence(a.get('text', ''))}".strip(": ")
                for a in sub.get("actions", [])
            ]
            bodies.append({"id": doc.id, "title": doc.title, "text": doc.text, "kind": "procedure", "steps": steps})
    return bodies


def abcd_conversations() -> list[tuple[str, list[tuple[str, str]]]]:
    """(expected procedure id, turns); ABCD's system actions count as the agent's own turns."""
    out = []
    for convo in json.loads((ABCD / "abcd_sample.json").read_text()):
        scenario = convo["scenario"]
        expected = re.sub(r"_\d+$", "", f"abcd-{scenario['flow']}.{scenario['subflow']}")
        turns = [("agent" if speaker == "action" else speaker, text) for speaker, text in convo["original"]]
        out.append((expected, turns))
    return out


# Written for this project: customer openings in the words people use, with a few agent turns.
WRITTEN: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "abcd-product_defect.refund_initiate",
        [
            ("customer", "I'd like my money back for the boots I bought, they fell apart."),
            ("agent", "I'm sorry, may I have your full name or account ID?"),
            ("customer", "Dana Woods"),
        ],
    ),
    (
        "abcd-product_defect.return_stain",
        [
            ("customer", "The shirt arrived with a big stain on it and I want to return it."),
            ("agent", "Sorry about that! Can I get your name to pull up your account?"),
        ],
    ),
    (
        "abcd-product_defect.return_color",
        [("customer", "The jacket colour is nothing like the picture, I need to send it back.")],
    ),
    (
        "abcd-order_issue.status_mystery_fee",
        [("customer", "There's a fee on my order that I don't recognise, what is this extra charge?")],
    ),
    (
        "abcd-order_issue.status_delivery_time",
        [("customer", "When will my order arrive? It's been a while since I ordered.")],
    ),
    (
        "abcd-order_issue.manage_cancel",
        [("customer", "Please cancel the order I placed yesterday, I don't need it anymore.")],
    ),
    (
        "abcd-order_issue.status_payment_method",
        [("customer", "Which card did I use to pay for my order? I want to check the payment method.")],
    ),
    (
        "abcd-account_access.recover_password",
        [
            ("customer", "I forgot my password and can't log in to my account."),
            ("agent", "No problem, can I have your username and email address?"),
        ],
    ),
    ("abcd-account_access.recover_username", [("customer", "I can't remember my username, how do I get it back?")]),
    ("abcd-account_access.reset_2fa", [("customer", "The two-factor code never arrives on my phone, I'm locked out.")]),
    (
        "abcd-troubleshoot_site.search_results",
        [("customer", "The search bar on your website isn't returning any results.")],
    ),
    ("abcd-troubleshoot_site.slow_speed", [("customer", "Your website is so slow today, pages take forever to load.")]),
    ("abcd-troubleshoot_site.shopping_cart", [("customer", "I add items to my cart but the cart doesn't update.")]),
    (
        "abcd-troubleshoot_site.credit_card",
        [("customer", "My credit card keeps getting rejected at checkout, says invalid card.")],
    ),
    (
        "abcd-manage_account.manage_change_address",
        [("customer", "I moved house, I need to update the address on my account.")],
    ),
    (
        "abcd-manage_account.manage_change_phone",
        [("customer", "Can you change the phone number on my account? I got a new number.")],
    ),
    (
        "abcd-manage_account.status_credit_missing",
        [("customer", "I was promised store credit but it's not showing on my account.")],
    ),
    (
        "abcd-purchase_dispute.bad_price_competitor",
        [("customer", "I saw the same jeans much cheaper at a competitor, can you match the price?")],
    ),
    ("abcd-purchase_dispute.promo_code_invalid", [("customer", "My promo code says invalid when I try to use it.")]),
    (
        "abcd-purchase_dispute.out_of_stock_general",
        [("customer", "Everything I want is out of stock, when will you restock?")],
    ),
    ("abcd-shipping_issue.missing", [("customer", "My package arrived but one item is missing from the box.")]),
    ("abcd-shipping_issue.cost", [("customer", "Why is shipping so expensive? How much does shipping cost?")]),
    ("abcd-shipping_issue.status", [("customer", "Has my item shipped yet? I want to know the shipping status.")]),
    (
        "abcd-subscription_inquiry.status_due_amount",
        [("customer", "How much do I owe for my premium subscription this month?")],
    ),
    ("abcd-subscription_inquiry.manage_pay_bill", [("customer", "I want to pay my subscription bill now.")]),
    (
        "abcd-subscription_inquiry.manage_extension",
        [("customer", "Can I get an extension on my subscription payment? I can't pay until next week.")],
    ),
    ("abcd-single_item_query.boots", [("customer", "Are your boots waterproof? I want to wear them in the snow.")]),
    ("abcd-single_item_query.jeans", [("customer", "Do the jeans shrink in the wash? What material are they?")]),
    (
        "abcd-storewide_query.pricing",
        [("customer", "Do you price match, and why are your prices higher than last month?")],
    ),
    ("abcd-storewide_query.membership", [("customer", "What are the benefits of gold membership compared to silver?")]),
]


def abcd_procedure_index(data_dir: Path) -> KnowledgeService:
    """A knowledge base of ABCD's 55 procedures in ``data_dir``, searched with MiniLM only: English
    conversations do not read the e5 index, which would cost minutes to build."""
    encoder = TextEncoder()
    settings = Settings.from_env({}, data_dir=data_dir, multilingual_search=False)
    service = KnowledgeService(settings, encoder, EmbeddingBatcher(encoder), None)
    docs = [
        make_document(
            doc_id=p["id"], title=p["title"], text=p["text"], metadata={"kind": "procedure", "steps": p["steps"]}
        )
        for p in abcd_procedures()
    ]
    service.apply_sync(docs, [])
    return service
