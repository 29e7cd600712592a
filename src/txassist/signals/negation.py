"""Is a cue negated? A scope of a few tokens before it, cut at the clause's edge (after NegEx).

"I will not cancel" and "nothing is broken" name a signal's cue and withdraw it in the same breath.
The check is lexical and small on purpose: a negator (``not``, ``never``, ``nothing``, any ``n't``, and
the same words in Norwegian, German, Spanish and French) among the last ``SCOPE_TOKENS`` tokens before the cue,
stopping at punctuation or a word that opens a new clause ("but", "why", "because"). Norwegian and
German put the negation after the verb ("ich kündige nicht"), so theirs are also looked for just after
the cue. A few fixed phrases look like negation and are not ("not only", "no doubt", "no matter").
Pure and cheap, for any rule-based or model-based detector that wants it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SCOPE_TOKENS = 5
AFTER_TOKENS = 2
_LOOK_CHARS = 80  # enough for SCOPE_TOKENS words; bounds the work per cue

_TOKEN = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?|[^\w\s]|\d+")

NEGATORS = frozenset(
    {
        # English
        "not", "no", "never", "nothing", "none", "nobody", "neither", "nor", "without",
        "hardly", "nowhere", "dont", "doesnt", "didnt", "wont", "isnt", "arent", "wasnt",
        "werent", "aint", "wouldnt", "shouldnt", "havent", "hasnt", "hadnt",
        # Norwegian (bokmål)
        "ikke", "ingen", "intet", "ingenting", "aldri", "uten",
        # German
        "nicht", "kein", "keine", "keinen", "keinem", "keiner", "keines", "nie", "niemals", "nichts", "ohne",
        # Spanish ("no" is shared with English)
        "nunca", "jamás", "jamas", "nada", "ningún", "ningun", "ninguna", "ninguno", "ni", "tampoco", "sin",
        # French ("ne … pas": the "pas" is what stands before the verb's infinitive)
        "pas", "jamais", "rien", "aucun", "aucune", "sans",
    }
)  # fmt: skip
# Negators that follow the verb they negate.
POSTPOSED = frozenset({"ikke", "aldri", "nicht", "nie", "niemals"})
# Words that open a new clause: a negation before them does not reach the cue after them. A subject
# pronoun counts: in "if this isn't fixed I'll cancel" the negation is the condition's, not the cue's.
TERMINATORS = frozenset(
    {
        "but", "however", "although", "though", "yet", "because", "since", "why", "which", "whereas",
        "except", "and", "so", "or", "if", "unless", "then", "otherwise",
        "i", "i'm", "i'll", "i've", "i'd", "we", "we're", "we'll", "we've", "you", "you're", "you'll",
        "he", "she", "they", "they're", "it", "it's",
        "men", "fordi", "og", "eller", "hvis", "jeg", "vi", "du", "han", "hun",
        "aber", "sondern", "weil", "und", "oder", "wenn", "ich", "wir", "er",
        "pero", "sino", "porque", "y", "o", "yo",
    }
)  # fmt: skip
PSEUDO_NEGATIONS = frozenset(
    {
        ("not", "only"), ("not", "just"), ("no", "doubt"), ("no", "matter"), ("no", "wonder"),
        ("not", "sure"), ("no", "idea"), ("nicht", "nur"), ("ikke", "bare"), ("no", "solo"),
    }
)  # fmt: skip


# "I can't cancel online", "can't log in", "can't afford it": inability states the problem, it does not
# withdraw it. These are not negators here.
INABILITY = frozenset({"can't", "cannot", "cant", "couldn't", "couldnt", "unable"})


def is_negator(token: str) -> bool:
    token = token.lower().replace("\u2019", "'")
    if token in INABILITY:
        return False
    return token in NEGATORS or token.endswith("n't")


def _clause_tokens(tokens: list[str]) -> list[str]:
    """The tokens up to the first punctuation mark or clause opener (from the cue outwards)."""
    kept: list[str] = []
    for token in tokens:
        low = token.lower().replace("\u2019", "'")
        if not (low[0].isalnum()) or low in TERMINATORS:
            break
        kept.append(low)
    return kept


def is_negated(text: str, start: int, end: int | None = None) -> bool:
    """Whether the cue at ``text[start:end]`` is negated (``end`` enables the after-the-cue check)."""
    opening = _TOKEN.findall(text[start : start + 12])[:1]
    if opening and not _clause_tokens(opening):
        # The cue opens its own clause ("I'll cancel"): nothing before it can negate it.
        scope: list[str] = []
    else:
        before = _TOKEN.findall(text[max(0, start - _LOOK_CHARS) : start])
        scope = _clause_tokens(before[::-1])[:SCOPE_TOKENS][::-1]
    for index, token in enumerate(scope):
        following = scope[index + 1] if index + 1 < len(scope) else ""
        if is_negator(token) and (token, following) not in PSEUDO_NEGATIONS:
            return True
    if end is not None:
        after = _clause_tokens(_TOKEN.findall(text[end : end + _LOOK_CHARS // 2]))[:AFTER_TOKENS]
        if any(token in POSTPOSED for token in after):
            return True
    return False


def first_unnegated(matches: Iterable[re.Match[str]]) -> re.Match[str] | None:
    """The first of ``matches`` whose cue is not negated."""
    for found in matches:
        if not is_negated(found.string, found.start(), found.end()):
            return found
    return None
