"""Personal data found by shape and checked by checksum: cards, IBANs, e-mails, phones,
US SSNs and IP addresses.

    found = find_pii("card 4111 1111 1111 1111, mail ana@example.org")
    [(f.kind, f.value) for f in found]   # [("card", "4111 1111 1111 1111"), ("email", ...)]
    redact_pii(text)                      # "card <CARD>, mail <EMAIL>"

A candidate is only a finding when its checksum holds where one exists: a card number must
pass Luhn's check, an IBAN ISO 13616's mod-97 check and its country's length, an SSN the
SSA's rules (no area 000, 666 or 900-999, no group 00, no serial 0000), an IP address must
parse. E-mail and phone have no checksum; a phone needs 7 to 15 digits in a phone's layout.
Where two findings overlap, the one earlier in `KINDS` wins (an IBAN contains digits that
could read as a phone number).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import NamedTuple

__all__ = ["KINDS", "Finding", "find_pii", "iban_valid", "luhn_valid", "redact_pii", "ssn_valid"]

KINDS = ("email", "iban", "card", "us_ssn", "ip", "phone")

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,30}")
_CARD = re.compile(r"(?<![\d.+-])\d(?:[ -]?\d){11,18}(?![\d])")
_SSN = re.compile(r"(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])")
_DATE = re.compile(r"\d{4}([./-])\d{1,2}\1\d{1,2}|\d{1,2}([./-])\d{1,2}\2\d{4}")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,8}){1,4}"
    r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w])|(?<![\w+])\+?\d{10,13}(?![\w])"
)
# ISO 13616 lengths of the countries that issue IBANs
_IBAN_LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BR": 29,
    "BY": 28,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IQ": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LC": 32,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NL": 18,
    "NO": 15,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "SA": 24,
    "SC": 31,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "ST": 25,
    "SV": 28,
    "TL": 23,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VA": 22,
    "VG": 24,
    "XK": 20,
}


class Finding(NamedTuple):
    kind: str
    start: int
    end: int
    value: str


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_end(text: str, start: int, end: int) -> int | None:
    """Where the IBAN that starts at `start` ends: its country fixes how many characters it
    has, so a word that follows it (matched by the pattern too) is cut off; None if invalid."""
    length = _IBAN_LENGTHS.get(text[start : start + 2].upper())
    if length is None:
        return None
    seen, i = 0, start
    while i < end and seen < length:
        ch = text[i]
        if ch == " " and (i + 1 >= end or text[i + 1] == " "):
            return None  # one space between groups, never two
        if ch != " " and not ch.isalnum():
            return None
        seen += ch != " "
        i += 1
    if seen < length or (i < len(text) and text[i].isalnum()):
        return None
    return i if iban_valid(text[start:i]) else None


def iban_valid(candidate: str) -> bool:
    iban = candidate.replace(" ", "").upper()
    if _IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit():
        return False
    rotated = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rotated)) % 97 == 1


def ssn_valid(area: str, group: str, serial: str) -> bool:
    a = int(area)
    return 0 < a < 900 and a != 666 and group != "00" and serial != "0000"


def _ip_valid(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


# Where every numeric kind can be: a run of digits with the separators cards, SSNs, IPs and
# phones use. One scan for these runs, then the precise patterns only inside runs long enough
# (7+ characters) to hold one, is what keeps an 8 KB prompt well under a millisecond: each
# precise pattern over the whole text would cost about as much as all the runs together.
_RUN = re.compile(r"[+(]?\d[\d ().+/x-]*\d")
_NUMERIC = (("card", _CARD), ("us_ssn", _SSN), ("ip", _IPV4), ("phone", _PHONE))
_DIGIT = re.compile(r"\d")
_HEX_COLONS = re.compile(r"[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9._%+-]{1,64}$")
_EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def _emails(text: str) -> Iterable[Finding]:
    at = text.find("@")
    while at >= 0:
        local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        if local and domain:
            yield Finding("email", local.start(), domain.end(), text[local.start() : domain.end()])
        at = text.find("@", at + 1)


def _numeric(kind: str, m: re.Match[str]) -> Finding | None:
    value = m.group()
    if kind == "card":
        digits = value.replace(" ", "").replace("-", "")
        ok = 12 <= len(digits) <= 19 and luhn_valid(digits)
    elif kind == "us_ssn":
        ok = ssn_valid(m.group(1), m.group(3), m.group(4))
    elif kind == "ip":
        ok = _ip_valid(value)
    else:
        ok = 7 <= sum(ch.isdigit() for ch in value) <= 15 and not _DATE.match(value)
    return Finding(kind, m.start(), m.end(), value) if ok else None


def _candidates(text: str) -> Iterable[Finding]:
    if "@" in text:
        yield from _emails(text)
    for run in _RUN.finditer(text):
        # an IBAN's check digits are a run right after its two country letters
        start = run.start() - 2
        letters = text[max(start, 0) : run.start()]
        before = text[start - 1] if start > 0 else " "
        if (
            start >= 0
            and letters.isalpha()
            and letters.isascii()
            and not before.isalnum()
            and (end := _iban_end(text, start, min(len(text), start + 42))) is not None
        ):
            yield Finding("iban", start, end, text[start:end])
        if run.end() - run.start() < 7:
            continue
        for kind, pattern in _NUMERIC:
            for m in pattern.finditer(text, run.start(), run.end()):
                if (f := _numeric(kind, m)) is not None:
                    yield f
    if text.count(":") >= 2 and _HEX_COLONS.search(text):
        for m in _IPV6.finditer(text):
            if m.group().count(":") >= 2 and _ip_valid(m.group()):
                yield Finding("ip", m.start(), m.end(), m.group())


def find_pii(text: str, kinds: Iterable[str] = KINDS) -> list[Finding]:
    """Non-overlapping findings of the given kinds, in text order."""
    wanted = set(kinds)
    if "@" not in text and not _DIGIT.search(text):
        return []  # every kind needs a digit, except an e-mail, which needs an @
    rank = {k: i for i, k in enumerate(KINDS)}
    chosen: list[Finding] = []
    for f in sorted(_candidates(text), key=lambda f: (rank[f.kind], f.start)):
        if f.kind in wanted and not any(c.start < f.end and f.start < c.end for c in chosen):
            chosen.append(f)
    return sorted(chosen, key=lambda f: f.start)


def redact_pii(text: str, kinds: Iterable[str] = KINDS) -> str:
    """The text with each finding replaced by its kind: `<EMAIL>`, `<CARD>`, ..."""
    for f in reversed(find_pii(text, kinds)):
        text = f"{text[: f.start]}<{f.kind.upper()}>{text[f.end :]}"
    return text
