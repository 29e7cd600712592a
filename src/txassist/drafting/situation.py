"""``read_situation``: what the customer's turn is about, read from more than the intent thresholds.

The intent detector's thresholds are tuned for alerts (a false churn alarm costs an agent's time),
so a reply plan that reads only the labels over them misses turns the model leans towards ("We're
leaving Brightbox" at a cancel score under the alert threshold). The situation reader combines:

- the model's labels over threshold, and those it leans towards (a score of ``LEAN`` or more);
- the plan file's phrase cues, read on the text without instruction-like sentences;
- dominance: a label that takes over the whole reply (abuse, close, retention, escalation) must be
  named by a cue or be the strongest reading; the e5 head reads many angry turns as leaving, and
  the MiniLM head reads anger at the company as abuse;
- the knowledge base as a second opinion between topics: where the turn reads as several of
  billing, a defect and a how-to, the one whose articles retrieval ranked highest wins (a battery
  "charging" problem is not a billing dispute when the battery articles come first);
- the conversation's state: an earlier customer turn about leaving and an agent turn that already
  made an offer (or the same, quoted under an email) turn "I've decided, how do I do it?" into the
  customer insisting, and so does declining the offer the agent's last turn made ("No thanks.",
  "Gracias, pero no."); a cancellation already done ("I cancelled but was still charged") is not one;
- a thank-you that is not the turn's point: one followed by a question ("Thanks! How do I ...?"),
  turned by a contrast ("Thanks, but ...", "gracias, pero"), or said in a negative turn ("Thanks a
  lot. Third late box in a row.") does not close the conversation;
- abuse is an insult aimed at a person: the anger that comes with it (complaint) does not outweigh
  it, and a model's abuse reading that no cue names needs the turn to address someone ("you",
  "Sie", "tú"); "what a joke" is anger, not abuse;
- (v5) word order and compounds: a cue whose last word is a content word may take a few words
  between its words within a sentence (the German or Norwegian verb at the clause's end), manager
  words match inside compounds ("avdelingslederen"), and asking for another person without a title
  ("jemanden mit mehr Befugnissen", "alguien que pueda decidir") names a manager: the e5 head reads
  such turns as leaving more often than as a request for someone else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

import msgspec

from txassist.conversations.records import TurnRecord

LEAN = 0.5  # a score the plan reads as the model's leaning, below the alert threshold
CUE_BONUS = 0.5  # a phrase cue and the model agreeing outweigh the model alone
DOMINANT = ("abuse", "off_topic", "thanks_resolved", "cancel_service", "human_agent")
OUTRANKING = ("abuse", "cancel_service", "human_agent")  # named by a cue, these drop another model-only one
TOPICAL = ("billing_dispute", "defect_report", "how_to")
TOPIC_ACT = {"billing_dispute": "billing", "defect_report": "known_defect", "how_to": "how_to"}
TOPIC_RANKS = 5  # how far down the retrieved passages a topic's article may sit
TOPIC_FLOOR = 0.3  # a topical reading under the leaning that may still compete when the KB backs it
INFIX_MIN = 5  # a shorter cue inside a word is too often another word ("dum" in "dumpling")
CONTENT_WORD_MIN = 4  # a cue's last word this long is a content word, which may move to the clause's end
# A label that comes with another and does not compete with it for the reply: every insult is angry.
IMPLIED_BY = {"abuse": ("complaint",)}
_SENTENCES = re.compile(r"[^.!?]+[.!?]*")


class Situation(msgspec.Struct, frozen=True, kw_only=True):
    labels: list[str]  # what the plan's rules read, strongest first
    firm: list[str]  # over the model's threshold or named by a cue: only these block a rule
    cued: list[str]
    strength: dict[str, float]
    churn_before: bool  # an earlier customer turn was about leaving
    offered: bool  # an earlier agent turn already made an offer to stay
    insists: bool  # the customer keeps to cancelling after an offer, or says so outright
    reasons: list[str]
    solved: list[str] = []  # labels a glad thank-you names as what was solved: they block no close


def has_cue(text: str, cues: Sequence[str], *, gap: bool = False, infix: bool = False, gap_words: int = 1) -> bool:
    """A cue matches at a word start, so "charge" does not match "discharge"; a cue ending in ``$``
    matches a whole word, so "dum$" is not "dumped" or "dumpling" (its last word is otherwise a prefix).

    ``gap``: a word may stand between a cue's words ("sier jeg opp", "trukket meg to ganger", "end my
    Brightbox membership"): word order moves in nb/de, and customers add a word. ``gap_words``: how
    many words may stand there when the cue ends in a content word: a German or Norwegian verb goes
    to the clause's end ("will mein Abo nach dieser Lieferung beenden"), while a cue that
    ends in a short function word ("bytter til", "switch to") needs its next word close, or "bytter
    jeg fra Family til Basic" reads as leaving. Never across a sentence end. ``infix``: a cue of
    ``INFIX_MIN`` letters or more also matches inside a word (German and Norwegian compounds:
    "Vollidioten", "teamleder")."""
    lowered = text.lower()
    return any(
        _cue_pattern(cue, _gap_for(cue, gap, gap_words), infix and len(cue) >= INFIX_MIN).search(lowered)
        for cue in cues
    )


def _gap_for(cue: str, gap: bool, gap_words: int) -> int:
    if not gap:
        return 0
    words = cue.split()
    return gap_words if words and len(words[-1]) >= CONTENT_WORD_MIN else 1


def names_a_handover(text: str, persons: Sequence[str], qualifiers: Sequence[str]) -> bool:
    """Asking for another person without a title: "jemanden mit mehr Befugnissen", "alguien que pueda
    decidir", "somebody who can decide". An indefinite person word followed by a word that
    qualifies who (a relative pronoun, a comparative, "above"); "someone explain the charge" or
    "noen uker" is no such request."""
    if not persons or not qualifiers:
        return False
    lowered = text.lower()
    return any(_handover_pattern(person, tuple(qualifiers)).search(lowered) for person in persons)


@lru_cache(maxsize=256)
def _handover_pattern(person: str, qualifiers: tuple[str, ...]) -> re.Pattern[str]:
    options = "|".join(r"\s+".join(re.escape(w) for w in q.split()) for q in qualifiers)
    return re.compile(r"(?<!\w)" + re.escape(person) + r"(?!\w),?\s+(?:" + options + r")(?!\w)")


def has_word(text: str, words: Sequence[str]) -> bool:
    """A whole word or phrase, not a word start: "but" is not "button", "du" not "dum"."""
    lowered = text.lower()
    return any(_word_pattern(word).search(lowered) for word in words)


@lru_cache(maxsize=1024)
def _word_pattern(word: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in word.split()) + r"(?!\w)")


@lru_cache(maxsize=4096)
def _cue_pattern(cue: str, gap: int, infix: bool) -> re.Pattern[str]:
    whole = cue.endswith("$")
    words = [re.escape(word) for word in cue.removesuffix("$").split()]
    between = rf"\s+(?:[^\s.!?]+\s+){{0,{gap}}}" if gap else r"\s+"
    start = "" if infix else r"(?<!\w)"
    # A cue's last word is a prefix ("escalat") unless the cue ends in "$"; the words before it are whole.
    end = r"(?!\w)" if whole else ""
    return re.compile(start + between.join(words) + end if words else r"(?!)")


def read_situation(
    *,
    text: str,
    turns: Sequence[TurnRecord],
    fired: Sequence[str],
    scores: Mapping[str, float],
    cues: Mapping[str, Sequence[str]],
    insist_cues: Sequence[str],
    offer_markers: Sequence[str],
    topic_ranks: Mapping[str, int | None],
    uncued_min: float = LEAN,
    lean_labels: Sequence[str] | None = None,
    quoted: str = "",
    after_cancel: Sequence[str] = (),
    gap_labels: Sequence[str] = (),
    infix_labels: Sequence[str] = (),
    sentiment: str | None = None,
    contrast_cues: Sequence[str] = (),
    person_cues: Sequence[str] = (),
    decline_cues: Sequence[str] = (),
    person_fillers: Sequence[str] = (),
    kb_trusted: bool = False,
    gap_words: int = 1,
    handover_persons: Sequence[str] = (),
    handover_qualifiers: Sequence[str] = (),
    uncued_min_by_label: Mapping[str, float] | None = None,
    hedge_cues: Sequence[str] = (),
) -> Situation:
    """``topic_ranks``: per topical label, the rank of the first retrieved passage on that act's topic;
    ``uncued_min``: the score a reply-taking label needs from the model alone (the e5 head that reads
    other languages is less precise than the English one); ``lean_labels``: the labels a leaning score
    may add (None: all); ``quoted``: the earlier thread quoted under an email (read as earlier turns);
    ``after_cancel``: cues of a cancellation already done ("I cancelled last month but ..."), which is
    not a wish to leave; ``gap_labels`` / ``infix_labels``: the labels whose cues may take a word
    between their words / match inside a compound (``has_cue``); ``sentiment``: the turn's sentiment
    label; ``contrast_cues``: words that turn a thank-you ("but", "pero"); ``person_cues``: words that
    address someone ("you", "Sie"), which an uncued abuse reading needs, read without
    ``person_fillers`` (phrases that address no one: "you know", "thank you"); ``decline_cues``:
    declining an offer ("no thanks"), which after the agent's offer is insisting on leaving;
    ``kb_trusted``: retrieval scores are judged in the turn's language (it has a no-answer
    threshold), so the KB may overrule a topic the model only leans to; ``gap_words``: the words a
    gap label's cue may take between its words (``has_cue``); ``handover_persons`` /
    ``handover_qualifiers``: asking for another person without a title names a manager
    (``names_a_handover``); ``uncued_min_by_label``: a label's own sure score where the model is
    surer of it than of the others (the e5 head's manager reading), in place of ``uncued_min``;
    ``hedge_cues``: words of a customer still weighing it up ("maybe", "i dunno", "ob ich"), under
    which an insisting phrase ("just cancel") insists on nothing."""
    reasons: list[str] = []
    solved: list[str] = []
    cued = [
        label
        for label, phrases in cues.items()
        if has_cue(text, phrases, gap=label in gap_labels, infix=label in infix_labels, gap_words=gap_words)
    ]
    if "human_agent" not in cued and names_a_handover(text, handover_persons, handover_qualifiers):
        # The e5 head reads "someone who can decide" as leaving more often than as a manager.
        cued.append("human_agent")
        reasons.append("cue: asks for another person, not for a title (someone who, jemanden mit mehr)")
    if "cancel_service" not in cued and has_cue(text, after_cancel, gap=True):
        # Already cancelled: the turn is about what came after (a charge, a box), not about leaving.
        scores = {label: score for label, score in scores.items() if label != "cancel_service"}
        fired = [label for label in fired if label != "cancel_service"]
        reasons.append("state: the customer already cancelled; not a wish to leave")
    leaning = [
        label
        for label, score in scores.items()
        if score >= LEAN and label not in fired and (lean_labels is None or label in lean_labels)
    ]
    if leaning:
        reasons.append("model leans: " + ", ".join(f"{label} {scores[label]:.2f}" for label in leaning))
    present = list(dict.fromkeys([*fired, *cued, *leaning]))
    strength = {label: scores.get(label, 0.0) + (CUE_BONUS if label in cued else 0.0) for label in present}
    top = max(strength.values(), default=0.0)
    if "thanks_resolved" in present:
        if not _closes(text, cues.get("thanks_resolved", ()), sentiment, contrast_cues):
            present.remove("thanks_resolved")
            reasons.append("thanks_resolved dropped: the thank-you goes on (a question, a 'but', a negative turn)")
        elif sentiment == "positive":
            # "The refund reached my card, really appreciate it": the problem it names is the one solved.
            solved = [label for label in present if label in (*TOPICAL, "complaint")]
            for label in solved:
                present.remove(label)
            if solved:
                reasons.append(f"{', '.join(solved)} dropped: a glad thank-you that asks nothing names what was solved")
    read_as = [label for label in strength if label in present]
    for label in DOMINANT:
        if label not in present or label in cued:
            continue
        implied = IMPLIED_BY.get(label, ())
        rival = max((strength[other] for other in read_as if other not in implied), default=0.0)
        if strength[label] < rival or strength[label] < (uncued_min_by_label or {}).get(label, uncued_min):
            present.remove(label)
            reasons.append(f"{label} dropped: not named by a cue, and not the strongest, sure reading")
        elif label == "abuse" and person_cues and not has_word(_without(text, person_fillers), person_cues):
            present.remove(label)
            reasons.append("abuse dropped: no cue names an insult and the turn addresses no one")
        elif any(other in cued and other in present and other != label for other in OUTRANKING):
            # A cue is surer than the model alone ("an Ihren Vorgesetzten weiter" read as leaving); a
            # thank-you cue is too often only politeness to silence a reading.
            present.remove(label)
            reasons.append(f"{label} dropped: a cue names another reading that takes the reply")
    angry = "complaint" in fired or "complaint" in cued
    unbacked: list[str] = []
    if angry or kb_trusted:
        # A topic the model only leans to needs the KB to agree: its own article first in retrieval.
        # Otherwise an angry turn is anger without a stated cause ("Dette er ikke greit" read as a
        # defect), and a calm one a question for the KB to answer ("How long is the warranty?").
        for label in [label for label in leaning if label in TOPICAL and label in present and label not in cued]:
            if topic_ranks.get(label) != 0:
                present.remove(label)
                unbacked.append(label)
                reasons.append(f"{label} dropped: only a leaning, and its articles do not come first")
    topics = [label for label in present if label in TOPICAL]
    if topics and not any(label in cued for label in topics):
        # A topic the model reads below its leaning competes too, where the KB's first article is
        # on it ("the probe says 0% after charging" read as billing, the battery article first).
        def ranked(label: str) -> int:
            rank = topic_ranks.get(label)
            return rank if rank is not None else TOPIC_RANKS

        best = min(ranked(label) for label in topics)
        for label in TOPICAL:
            if label in present or label in unbacked:
                continue
            if scores.get(label, 0.0) >= TOPIC_FLOOR and ranked(label) < best:
                present.append(label)
                strength[label] = scores[label]
                topics.append(label)
                reasons.append(f"topic: {label} {scores[label]:.2f} competes (its articles rank {ranked(label)})")
    if len(topics) > 1:
        # The KB's second opinion: the topic whose own articles retrieval ranked first.
        def order(label: str) -> tuple[int, float]:
            rank = topic_ranks.get(label)
            return (rank if rank is not None else TOPIC_RANKS, -strength[label])

        keep = min(topics, key=order)
        for label in topics:
            if label != keep:
                present.remove(label)
        reasons.append(f"topic: {keep} (its articles rank first among {', '.join(topics)})")
    earlier = turns[:-1]
    leave_cues = cues.get("cancel_service", ())
    gap_leave = "cancel_service" in gap_labels
    churn_before = any(
        t.speaker == "customer" and has_cue(t.text, leave_cues, gap=gap_leave, gap_words=gap_words) for t in earlier
    ) or has_cue(quoted, leave_cues, gap=gap_leave, gap_words=gap_words)
    offered = any(t.speaker == "agent" and has_cue(t.text, offer_markers) for t in earlier) or has_cue(
        quoted, offer_markers
    )
    says_insist = has_cue(text, insist_cues, gap=True)
    if says_insist and has_word(text, hedge_cues):
        # "maybe I should just cancel, I dunno": weighing it up, which a retention reply answers.
        says_insist = False
        reasons.append("state: the customer is still weighing it up (a hedge under the insisting words)")
    agents = [t for t in earlier if t.speaker == "agent"]
    # The offer just made: the agent's last turn, or the thread quoted under this email.
    offered_last = has_cue(agents[-1].text if agents else "", offer_markers) or has_cue(quoted, offer_markers)
    declines = offered_last and has_cue(text, decline_cues)
    leaving_now = "cancel_service" in present
    # Insisting words over a leaning the sureness rule dropped ("nei, jeg vil ikke pause, jeg vil bare
    # avslutte" at 0.68 on the e5 head): the words make the reading sure.
    leaning_out = says_insist and not leaving_now and scores.get("cancel_service", 0.0) >= LEAN
    insists = (leaving_now or churn_before or leaning_out) and (says_insist or declines or (offered and leaving_now))
    if insists and not leaving_now:
        # "I've made up my mind, how do I do it?" after an offer: still the cancellation.
        present.insert(0, "cancel_service")
        strength["cancel_service"] = top
        reasons.append(
            "state: insisting words over a leaning to cancel"
            if leaning_out and not churn_before
            else "state: the customer keeps to cancelling after an offer"
        )
    if insists:
        # Keeping to leaving: "how do I do it?" asks for the steps, and "no thanks" thanks no one.
        present = [label for label in present if label not in ("how_to", "thanks_resolved")]
    present.sort(key=lambda label: -strength.get(label, 0.0))
    firm = [label for label in present if label in fired or label in cued]
    return Situation(
        labels=present,
        firm=firm,
        cued=cued,
        strength={label: round(strength.get(label, 0.0), 4) for label in present},
        churn_before=churn_before,
        offered=offered,
        insists=insists,
        reasons=reasons,
        solved=solved,
    )


def _without(text: str, phrases: Sequence[str]) -> str:
    lowered = text.lower()
    for phrase in phrases:
        lowered = _word_pattern(phrase).sub(" ", lowered)
    return lowered


def _closes(text: str, thanks: Sequence[str], sentiment: str | None, contrast: Sequence[str]) -> bool:
    """Whether the thank-you is the turn's point: no question after it, no "but", not a negative turn."""
    if sentiment == "negative":
        return False
    sentences = [s.strip() for s in _SENTENCES.findall(text) if s.strip()]
    if any("?" in s and not has_cue(s, thanks) for s in sentences):
        return False
    return not has_word(text, contrast)
