"""LLM prompts keep the conversation's prefix from turn to turn, and carry only what the plan needs."""

from __future__ import annotations

from tests.drafting.support import kb_hit, turns
from txassist.config import REPO_ROOT, Settings
from txassist.drafting import llm_context
from txassist.drafting.backends.prompt_cache import SlotPinning, conversation_key, current_key
from txassist.drafting.generation import Generators
from txassist.drafting.inputs import ReplyInputs
from txassist.drafting.prompts import PromptLibrary
from txassist.drafting.replying import ReplyDrafter

CHAT = [
    ("customer", "My box is late, where is it?"),
    ("agent", "Sorry about that, let me check."),
    ("customer", "The tracking page says delivered but nothing is here."),
    ("agent", "A box marked delivered that you cannot find counts as missing."),
    ("customer", "Can I get a refund for it?"),
]
HITS = [
    kb_hit("shipping/shipping-late-or-missing-box.md", 0.9),
    kb_hit("billing/billing-refund-policy.md", 0.8),
    kb_hit("shipping/shipping-delivery-windows.md", 0.7),
]


def _common_prefix(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _drafter() -> ReplyDrafter:
    settings = Settings(data_dir=REPO_ROOT / "data")
    return ReplyDrafter.create(PromptLibrary(settings.prompts_dir), Generators(settings))


async def _prompt(drafter: ReplyDrafter, pairs: list[tuple[str, str]]) -> list[str]:
    views = turns(*pairs)
    plan, pool = await drafter.plan_reply(ReplyInputs(turns=views, passages=HITS, channel="chat", sentiment=None))
    prompt = drafter._prompt(views, pool, plan, None, "chat")
    assert len(prompt.allowed) <= llm_context.PASSAGES["chat"]
    return [m["content"] for m in prompt.messages]


async def test_consecutive_turns_share_the_system_prompt_and_the_transcript_so_far() -> None:
    service = _drafter()
    earlier = await _prompt(service, CHAT[:3])
    later = await _prompt(service, CHAT)
    assert earlier[0] == later[0]  # one system prompt for every turn and channel
    # The later prompt starts with everything the earlier one showed of the conversation.
    shared = earlier[1][: earlier[1].index("TRANSCRIPT>>>")].rstrip("\n")
    assert later[1].startswith(shared)
    # The after-contact summary opens the same way, so a cached conversation is not processed again.
    summary = service.prompts.render("after_contact_summary", turns=llm_context.transcript(turns(*CHAT)))
    assert summary.messages[0]["content"] == later[0]
    assert _common_prefix(summary.messages[1]["content"], later[1]) >= len(shared)


async def test_the_prefix_prompt_is_what_the_next_draft_starts_with() -> None:
    service = _drafter()
    # After the agent's turn the follow-up service caches this; the next customer turn extends it.
    prefix = service.prompts.render(llm_context.PREFIX_TEMPLATE, turns=llm_context.transcript(turns(*CHAT[:4])))
    draft = await _prompt(service, CHAT)
    assert draft[0] == prefix.messages[0]["content"]
    assert draft[1].startswith(prefix.messages[1]["content"])


def test_transcript_window_moves_in_blocks() -> None:
    limit, block = llm_context.TRANSCRIPT_TURNS, llm_context.TRANSCRIPT_BLOCK
    starts = [llm_context.window_start(n) for n in range(1, 40)]
    assert starts[:limit] == [0] * limit
    assert all(n - start <= limit for n, start in zip(range(1, 40), starts, strict=True))
    assert all(start % block == 0 for start in starts)
    # The start changes once per block of turns, not on every turn.
    assert len(set(starts)) <= 40 // block + 1


def test_passages_are_clipped_at_a_sentence_end() -> None:
    text = "First sentence here. Second sentence is longer than the rest of it. Third."
    assert llm_context.clip(text, 36) == "First sentence here."
    assert llm_context.clip(text, 60) == "First sentence here. Second sentence is longer than the"
    assert llm_context.clip(text, 500) == text


def test_slot_pinning_keeps_a_conversation_on_its_slot_and_reuses_the_oldest() -> None:
    pins = SlotPinning(2)
    assert pins.slot_for(None) == -1
    a, b = pins.slot_for("a"), pins.slot_for("b")
    assert {a, b} == {0, 1}
    assert pins.slot_for("a") == a  # "b" is now the least recently used
    assert pins.slot_for("c") == b
    assert pins.pinned() == {"a": a, "c": b}


def test_conversation_key_is_scoped() -> None:
    assert current_key() is None
    with conversation_key("c-1"):
        assert current_key() == "c-1"
    assert current_key() is None


def test_every_conversation_prompt_opens_with_the_shared_prefix() -> None:
    library = PromptLibrary(REPO_ROOT / "prompts")
    prefix = library.render(llm_context.PREFIX_TEMPLATE, turns=[])
    for name in ("draft_reply.chat", "draft_reply.voice", "draft_reply.email"):
        rendered = library.render(
            name,
            passages=[],
            turns=[],
            last_customer="hi",
            sentiment=None,
            channel="chat",
            plan={
                "version": "p",
                "act": "answer",
                "also": [],
                "must": ["x"],
                "must_not": ["y"],
                "citable": [],
                "channel": "chat",
                "channel_rules": ["short"],
                "language": "en",
            },
        )
        assert rendered.messages[0] == prefix.messages[0]
        assert rendered.messages[1]["content"].startswith(prefix.messages[1]["content"])


def test_focus_keeps_the_sentences_the_customer_asks_about() -> None:
    text = (
        "# Late or missing box\n\nAlmost all boxes arrive on time.\n\n## Check first\n\n"
        "1. **Check the time.** Delivery runs until 8 p.m. local time on weekdays.\n"
        "2. Check tracking under Menu > Track box. If it says Delivered, there is often a photo.\n"
        "| Situation | What you get |\n|---|---|\n| A box is missing | Credit for the box |\n"
    )
    [focused] = llm_context.focus([{"n": 1, "text": text}], "Tracking says delivered but no box", 120)
    assert focused["n"] == 1
    # The sentence about tracking, whole; headings, list marks and bold are gone; "p.m." ends nothing.
    assert "Check tracking under Menu > Track box." in focused["text"]
    assert "If it says Delivered, there is often a photo." in focused["text"]
    assert "#" not in focused["text"] and "**" not in focused["text"]
    assert len(focused["text"]) <= 120
    [table] = llm_context.focus([{"n": 1, "text": text}], "what do I get for a missing box", 60)
    assert table["text"] == "A box is missing; Credit for the box."
    assert "Delivery runs until 8 p.m. local time on weekdays." in llm_context.sentences(text)


def test_focus_leads_with_the_gist_and_drops_later_passages_off_the_question() -> None:
    first = {"n": 1, "text": "Boxes ship weekly. You can change the plan any time."}
    second = {"n": 2, "text": "Thermo pairing uses Bluetooth only."}
    third = {"n": 3, "text": "A refund takes five working days."}
    focused = llm_context.focus([first, second, third], "how long until my refund arrives?", 200)
    # Nothing in the first passage matches, so it keeps its lead; the second matches nothing and goes.
    assert [p["n"] for p in focused] == [1, 3]
    assert focused[0]["text"].startswith("Boxes ship weekly.")


async def test_draft_prompt_shows_only_focused_passage_sentences() -> None:
    service = _drafter()
    _, user = await _prompt(service, CHAT)
    full = HITS[0].text
    assert "# Late or missing box" in full and "# Late or missing box" not in user
    shown = user[user.index("<<<PASSAGE [1]") : user.index("PASSAGE>>>")]
    assert len(shown) < 400
