"""Replace emails, phones, card numbers, IBANs, postal addresses and national ids with typed placeholders.

Why precise patterns plus validating libraries rather than presidio-analyzer: presidio needs a spaCy
model fetched from a model hub, and no machine here reaches one. The PII types we must catch are
well-structured, so each candidate is found by a narrow pattern and then *validated*: phone numbers by
``phonenumbers`` (the libphonenumber metadata, per region), card numbers by the Luhn checksum
(``stdnum.luhn``), IBANs by their ISO 7064 mod-97 check digits (``stdnum.iban``). Validation keeps the
false-positive rate low on order numbers, amounts and dates, which appear in every support chat.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn
from structlog.typing import EventDict, WrappedLogger

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
CARD = "[CARD]"
IBAN = "[IBAN]"
ADDRESS = "[ADDRESS]"
NATIONAL_ID = "[NATIONAL_ID]"

# Regions whose national formats we recognise without a leading +country code; international
# (+CC ...) numbers are recognised whatever the region.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IE", "AU")

# Every pattern here runs in time linear in its input (tests/privacy/test_redaction_linear.py): a
# repeated part is either bounded ({m,n}) or cannot overlap what follows it, and a match can only start
# where the lookbehind says a run of its characters begins, so a long run is tried once, not once per
# character (the email pattern used to retry a run of "%" from each of its characters: quadratic).
# Local part and domain in any script (jörg@bücher.de); the top-level domain is letters only.
_EMAIL_RE = re.compile(r"(?<![\w.%+-])[\w.%+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,10}\.[^\W\d_]{2,24}\b")
# In either case, with spaces or hyphens between characters (gb82west12345698765432, GB82-WEST-1234-…); the
# mod-97 check decides. Up to 34 characters, so the match is bounded.
_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])")
# Digits with space, hyphen, dot or underscore separators, also right after a word and a hyphen
# ("card-4111…"); Luhn decides.
_CARD_RE = re.compile(r"(?<!\d)\d(?:[ ._-]?\d){12,18}(?!\d)")
_SSN_RE = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
# UK National Insurance number: two prefix letters (with the excluded pairs), six digits, suffix A-D.
_NINO_RE = re.compile(
    r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
    re.IGNORECASE,
)
# An id announced by its name ("my SSN is 123456789", "passport number X1234567"): the context makes
# an otherwise ambiguous number an identifier.
_CONTEXT_ID_RE = re.compile(
    r"(?P<label>\b(?:ssn|social security(?: number| no\.?)?|national insurance(?: number| no\.?)?|"
    r"ni number|nino|tax (?:id|number)|tin|passport(?: number| no\.?)?|driver'?s licen[cs]e(?: number)?|"
    r"national id(?: number)?|id number|sin|personnummer|bsn|steuer-?id)\b"
    r"(?:\s*(?:is|:|#|=|number|no\.?))*\s*)(?P<value>[A-Z0-9][A-Z0-9 -]{4,16}[A-Z0-9])",
    re.IGNORECASE,
)
_STREET_SUFFIX = (
    r"(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|terrace|"
    r"way|close|crescent|square|sq|highway|hwy|parkway|pkwy|grove|gardens|row|mews|circle|cir|"
    r"trail|walk|hill|park|strasse|straße)"
)
# Number + one to four capitalised name words (or an ordinal: "5th") + a street suffix; optional
# unit, town, state/postcode tail so the whole address goes, not just its first line.
_STREET_RE = re.compile(
    r"\b\d{1,5}[A-Za-z]?,?\s+(?:(?:[A-Z][A-Za-z'.-]*|\d{1,3}(?:st|nd|rd|th))\s+){1,4}"
    + _STREET_SUFFIX
    + r"\b\.?(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?"
    r"(?:,?\s*(?:apt|apartment|unit|suite|flat|#)\.?\s*[A-Za-z0-9-]+)?"
    r"(?:,\s*[A-Z][a-z][A-Za-z.-]*(?:\s+[A-Z][a-z][A-Za-z.-]*){0,2})?"
    r"(?:,?\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?)?",
)
_PO_BOX_RE = re.compile(r"\bP\.?\s?O\.?\s+Box\s+\d{1,6}\b", re.IGNORECASE)
_UK_POSTCODE_RE = re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR) ?\d[ABD-HJLNP-UW-Z]{2}\b")
# A US ZIP or other bare 4-6 digit postcode only counts with context: otherwise it is an order number.
_CONTEXT_POSTCODE_RE = re.compile(
    r"(?P<label>\b(?:zip(?: code)?|post ?code|postal code|plz)\b(?:\s*(?:is|:))?\s*)"
    r"(?P<value>\d{4,6}(?:-\d{4})?|[A-Z0-9]{2,4} ?[A-Z0-9]{3})",
    re.IGNORECASE,
)
_STATE_ZIP_RE = re.compile(r"(?<=,)\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?\b")

_DIGITS_RE = re.compile(r"\d")
# Where a phone number may be: digits with the punctuation numbers are written with, at most 32 long,
# starting where such a run starts.
_PHONE_CANDIDATE_RE = re.compile(r"(?<![\w+(])(?:\+|\(\+?)?\d[\d ()./-]{4,30}\d(?!\d)")
_IBAN_SEPARATORS = re.compile(r"[ -]")


def redact(text: str) -> str:
    """Return ``text`` with every recognised piece of PII replaced by its typed placeholder."""
    if not text:
        return text
    text = _EMAIL_RE.sub(EMAIL, text)
    if not _DIGITS_RE.search(text):
        # Every remaining type carries a digit; most chat lines carry none.
        return text
    text = _IBAN_RE.sub(_iban_or_keep, text)
    text = _CARD_RE.sub(_card_or_keep, text)
    text = _SSN_RE.sub(NATIONAL_ID, text)
    text = _NINO_RE.sub(NATIONAL_ID, text)
    text = _CONTEXT_ID_RE.sub(_keep_label(NATIONAL_ID), text)
    text = _STREET_RE.sub(ADDRESS, text)
    text = _PO_BOX_RE.sub(ADDRESS, text)
    text = _CONTEXT_POSTCODE_RE.sub(_keep_label(ADDRESS), text)
    text = _UK_POSTCODE_RE.sub(ADDRESS, text)
    text = _STATE_ZIP_RE.sub(" " + ADDRESS, text)
    return _redact_phones(text)


def _iban_or_keep(match: re.Match[str]) -> str:
    candidate = match.group(0)
    # The pattern may run on into a following word; drop trailing characters until valid (at most 30).
    while len(compact := _IBAN_SEPARATORS.sub("", candidate)) >= 15:
        if stdnum_iban.is_valid(compact.upper()):
            return IBAN + match.group(0)[len(candidate) :]
        candidate = candidate[:-1].rstrip(" -")
    return match.group(0)


def _card_or_keep(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
        return CARD
    return match.group(0)


def _keep_label(placeholder: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        value = match.group("value")
        if not any(ch.isdigit() for ch in value):
            return match.group(0)
        return match.group("label") + placeholder

    return replace


def _redact_phones(text: str) -> str:
    if len(_DIGITS_RE.findall(text)) < 6:
        # The matcher is the slow part; a phone number has at least six digits.
        return text
    spans: list[tuple[int, int]] = []
    # The matcher runs on short candidate spans, never on the whole text: on long runs of digits and
    # punctuation ("1/2 1/2 …") its own search grows faster than the text.
    for candidate in _PHONE_CANDIDATE_RE.finditer(text):
        # A few characters either side: the matcher looks there (a currency sign before an amount).
        start = max(0, candidate.start() - 4)
        window = text[start : candidate.end() + 4]
        for region in PHONE_REGIONS:
            matcher = phonenumbers.PhoneNumberMatcher(window, region, leniency=phonenumbers.Leniency.VALID)
            spans.extend((start + found.start, start + found.end) for found in matcher)
    if not spans:
        return text
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    out: list[str] = []
    cursor = 0
    for start, end in merged:
        out.append(text[cursor:start])
        out.append(PHONE)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


# Log keys whose values are ours, never the customer's: skipping them keeps logging cheap.
_LOG_SAFE_KEYS = frozenset({"timestamp", "level", "logger", "request_id", "method", "route", "status", "event_id"})


def redact_log_event(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: redact PII from every string value (and strings inside lists and dicts)."""
    for key, value in list(event_dict.items()):
        if key in _LOG_SAFE_KEYS:
            continue
        event_dict[key] = _redact_value(value, depth=0)
    return event_dict


def _redact_value(value: object, *, depth: int) -> object:
    if isinstance(value, str):
        return redact(value)
    if depth >= 3:
        return value
    if isinstance(value, dict):
        return {k: _redact_value(v, depth=depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v, depth=depth + 1) for v in value]
    return value
