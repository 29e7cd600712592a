"""PII redaction recall per type on a generated corpus, and the false-positive rate on PII-free turns.

    .venv/bin/python benchmarks/redaction_recall.py [--per-type 300] [--seed 7]

Each PII value is generated valid for its type (Luhn-valid cards, mod-97-valid IBANs built by
python-stdnum, libphonenumber example numbers per region, US SSNs and UK NINOs in their formats,
street addresses and postcodes in several countries' shapes) and embedded in a contact-centre
sentence template. Recall: the share of values of which no digit run or token survives. False
positives: PII-free sentences with order numbers, amounts, dates, times and versions that come back
changed. Recall is reported per type and per form: the forms issue 19 found getting through (cards
with dots, underscores or a leading hyphen, lowercase and hyphenated IBANs, internationalised emails)
have generators of their own. Writes benchmarks/results/redaction_recall.json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import phonenumbers  # noqa: E402
from stdnum import iban as stdnum_iban  # noqa: E402
from stdnum import luhn  # noqa: E402

from txassist.privacy.redaction import redact  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "redaction_recall.json"
TEMPLATES = [
    "Hi, my {label} is {value}, can you check my order?",
    "You can reach me at {value} if the box doesn't arrive.",
    "{value} - that's the one on the account.",
    "I already gave your colleague {value} yesterday.",
    "Please update it to {value} thanks",
]
FIRST = ["jane", "tom", "a.khan", "maria.garcia", "li_wei", "o'neil", "sam+box"]
DOMAINS = ["example.com", "mail.example.co.uk", "example.org", "brightbox.example", "uni.example.edu"]
STREETS = ["Baker", "Main", "High", "Oak", "Elm", "Maple", "Station", "Church", "Victoria", "5th"]
SUFFIXES = ["Street", "St", "Road", "Rd", "Avenue", "Ave", "Lane", "Drive", "Close", "Way", "Boulevard"]
TOWNS = ["Springfield", "London", "Leeds", "Austin", "Portland", "Bristol"]


def email(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}"


def phone(rng: random.Random) -> str:
    region = rng.choice(["US", "GB", "DE", "FR", "IE", "AU"])
    number = phonenumbers.example_number_for_type(region, rng.choice([0, 1]))  # FIXED_LINE or MOBILE
    assert number is not None
    national = str(number.national_number)
    # Vary the last digits so values differ, keeping the number valid for its region.
    for _ in range(20):
        candidate = national[:-3] + f"{rng.randint(0, 999):03d}"
        parsed = phonenumbers.parse("+" + str(number.country_code) + candidate)
        if phonenumbers.is_valid_number(parsed):
            number = parsed
            break
    fmt = rng.choice(
        [
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.NATIONAL,
            phonenumbers.PhoneNumberFormat.E164,
        ]
    )
    if region not in ("US", "GB"):
        fmt = phonenumbers.PhoneNumberFormat.INTERNATIONAL  # national formats of other regions are ambiguous
    return phonenumbers.format_number(number, fmt)


def card(rng: random.Random) -> str:
    prefix = rng.choice(["4", "51", "55", "37", "6011"])
    length = 15 if prefix == "37" else 16
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    digits = body + luhn.calc_check_digit(body)
    style = rng.choice(["plain", "space", "dash"])
    if style == "plain":
        return digits
    sep = " " if style == "space" else "-"
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))


def iban(rng: random.Random) -> str:
    while True:
        value = _iban_candidate(rng)
        if stdnum_iban.is_valid(value):  # some countries add national checks on top of mod 97
            return value if rng.random() < 0.5 else " ".join(value[i : i + 4] for i in range(0, len(value), 4))


def _iban_candidate(rng: random.Random) -> str:
    country, bban_len = rng.choice([("GB", 18), ("DE", 18), ("FR", 23), ("NL", 14), ("ES", 20), ("IE", 18)])
    letters = 4 if country in ("GB", "IE", "NL") else 0
    bban = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(letters)) + "".join(
        str(rng.randint(0, 9)) for _ in range(bban_len - letters)
    )
    check = stdnum_iban.calc_check_digits(country + "00" + bban)
    return country + check + bban


def address(rng: random.Random) -> str:
    shape = rng.randint(0, 3)
    street = f"{rng.randint(1, 9999)} {rng.choice(STREETS)} {rng.choice(SUFFIXES)}"
    if shape == 0:
        return street
    if shape == 1:
        return f"{street}, {rng.choice(TOWNS)}, {rng.choice(['TX', 'CA', 'OR', 'NY'])} {rng.randint(10000, 99999)}"
    if shape == 2:
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        outward = f"{rng.choice(['SW', 'N', 'LS', 'BS', 'M'])}{rng.randint(1, 19)}"
        postcode = f"{outward} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
        return f"{street}, {rng.choice(TOWNS)} {postcode}"
    return f"PO Box {rng.randint(1, 99999)}"


def national_id(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{rng.randint(1, 665):03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
    first = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    if first + second in ("GB", "NK", "TN", "ZZ", "BG", "KN", "NT"):
        first, second = "A", "B"
    digits = f"{rng.randint(0, 999999):06d}"
    spaced = rng.random() < 0.5
    return (
        " ".join([first + second, digits[:2], digits[2:4], digits[4:], rng.choice("ABCD")])
        if spaced
        else (first + second + digits + rng.choice("ABCD"))
    )


def card_separated(rng: random.Random) -> str:
    """Forms issue 19 found getting through: dots, underscores, a leading hyphen, glued to a word."""
    digits = re.sub(r"\D", "", card(rng))
    groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    style = rng.choice(["dot", "underscore", "leading-dash", "glued"])
    if style == "dot":
        return ".".join(groups)
    if style == "underscore":
        return "_".join(groups)
    if style == "leading-dash":
        return "-" + "-".join(groups)
    return "card-" + digits


def iban_lowercase(rng: random.Random) -> str:
    value = iban(rng).replace(" ", "")
    return value.lower() if rng.random() < 0.5 else " ".join(value[i : i + 4] for i in range(0, len(value), 4)).lower()


def iban_hyphenated(rng: random.Random) -> str:
    value = iban(rng).replace(" ", "")
    joined = "-".join(value[i : i + 4] for i in range(0, len(value), 4))
    return joined if rng.random() < 0.5 else joined.lower()


IDN_LOCAL = ["jörg", "zoë", "françois", "søren", "ana.lópez", "山田", "δημήτρης"]
IDN_DOMAINS = ["bücher.de", "exämple.com", "correo.españa.es", "例え.jp", "почта.рф", "müller.example"]


def email_idn(rng: random.Random) -> str:
    local = rng.choice(IDN_LOCAL + FIRST)
    return f"{local}{rng.randint(1, 99) if rng.random() < 0.5 else ''}@{rng.choice(IDN_DOMAINS)}"


GENERATORS: dict[str, tuple[str, str, Callable[[random.Random], str]]] = {
    "email": ("email", "[EMAIL]", email),
    "phone": ("phone number", "[PHONE]", phone),
    "card": ("card number", "[CARD]", card),
    "iban": ("IBAN", "[IBAN]", iban),
    "address": ("address", "[ADDRESS]", address),
    "national_id": ("ID number", "[NATIONAL_ID]", national_id),
    # The forms of issue 19, one generator each.
    "card_separators": ("card number", "[CARD]", card_separated),
    "iban_lowercase": ("IBAN", "[IBAN]", iban_lowercase),
    "iban_hyphenated": ("IBAN", "[IBAN]", iban_hyphenated),
    "email_idn": ("email", "[EMAIL]", email_idn),
}

CLEAN = [
    "My order number is {n} and it still hasn't shipped.",
    "I paid ${a}.99 on {d} but got charged twice.",
    "The Thermo is on firmware {v} and drops the Wi-Fi at {t}.",
    "I've been waiting {m} minutes, ticket {n}.",
    "Box {n} arrived on {d} with 3 meals missing.",
    "The promo code SAVE{m} didn't work for {a} pounds off.",
    "I've been a customer since {y} and have ordered {m} boxes.",
]


def leaked(value: str, redacted: str) -> bool:
    tokens = [t for t in re.split(r"[\s,.()+_-]+", value) if t]
    digit_runs = [t for t in tokens if sum(c.isdigit() for c in t) >= 3]
    words = [t for t in tokens if "@" in t]
    return any(t in redacted for t in digit_runs + words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-type", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    result: dict[str, object] = {"per_type": {}, "seed": args.seed}
    per_type: dict[str, object] = {}
    started = time.perf_counter()
    total = 0
    for name, (label, placeholder, generate) in GENERATORS.items():
        hits = 0
        typed = 0
        misses: list[str] = []
        for _ in range(args.per_type):
            value = generate(rng)
            text = rng.choice(TEMPLATES).format(label=label, value=value)
            out = redact(text)
            total += 1
            if not leaked(value, out):
                hits += 1
                typed += placeholder in out
            elif len(misses) < 5:
                misses.append(text)
        per_type[name] = {
            "n": args.per_type,
            "recall": round(hits / args.per_type, 4),
            "typed_placeholder_rate": round(typed / args.per_type, 4),
            "examples_missed": misses,
        }
    changed = 0
    clean_n = args.per_type * 2
    false_positives: list[str] = []
    for _ in range(clean_n):
        text = rng.choice(CLEAN).format(
            n=rng.randint(10000, 99999999),
            a=rng.randint(1, 500),
            d=f"{rng.randint(2020, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            v=f"{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}",
            t=f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
            m=rng.randint(2, 90),
            y=rng.randint(2010, 2025),
        )
        out = redact(text)
        total += 1
        if out != text:
            changed += 1
            if len(false_positives) < 10:
                false_positives.append(f"{text} -> {out}")
    elapsed = time.perf_counter() - started
    result["per_type"] = per_type
    result["clean"] = {
        "n": clean_n,
        "false_positive_rate": round(changed / clean_n, 4),
        "examples": false_positives,
    }
    result["texts_per_second"] = round(total / elapsed, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v["recall"] for k, v in per_type.items()}, indent=2))  # type: ignore[index]
    print("false positive rate:", result["clean"])


if __name__ == "__main__":
    main()
