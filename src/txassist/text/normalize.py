"""One normal form for customer text, applied at the edge before any rule, model or redaction sees it.

NFKC folds compatibility forms (full-width letters, ligatures, superscripts) into the characters a rule
is written for; invisible format characters (zero-width spaces and joiners, word joiner, byte-order mark,
soft hyphen, bidirectional controls, tag characters) and control characters are removed, so none of them
can split a word a rule or the redaction looks for. Line breaks and tabs stay: sentences and bullets use
them. A carriage return becomes a line break. Typographic apostrophes (a phone keyboard's "don\u2019t")
become ASCII ones, which is what every rule is written with.
"""

from __future__ import annotations

import unicodedata

_KEEP = frozenset("\n\t")


def _removed_code_points() -> dict[int, None]:
    # Format (Cf) and control (Cc) characters live in planes 0, 1 and 14 only; scanning those at
    # import is cheap and follows the Unicode version Python ships, not a hand-kept list.
    planes = (*range(0x0, 0x20000), *range(0xE0000, 0xE1000))
    table: dict[int, None] = {}
    for point in planes:
        char = chr(point)
        if char not in _KEEP and unicodedata.category(char) in ("Cc", "Cf"):
            table[point] = None
    return table


_REMOVE: dict[int, str | None] = {**_removed_code_points(), 0x2018: "'", 0x2019: "'", 0x02BC: "'"}
_ASCII_CONTROLS = frozenset(chr(c) for c in (*range(0x20), 0x7F)) - _KEEP - {"\r"}


def normalize_text(text: str) -> str:
    """NFKC, line breaks unified, invisible format and control characters (but ``\\n``, ``\\t``) removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii():
        # The common case: NFKC leaves ASCII as it is; only control characters can be there.
        return text.translate(_REMOVE) if not _ASCII_CONTROLS.isdisjoint(text) else text
    # Removed before NFKC as well as after: a format character between a letter and a combining mark
    # would otherwise keep them from composing.
    return unicodedata.normalize("NFKC", text.translate(_REMOVE)).translate(_REMOVE)
