"""Each recogniser finds its kind and rejects look-alikes that fail the checksum."""

from __future__ import annotations

import pytest

from unitcost.guard.pii import find_pii, iban_valid, luhn_valid, redact_pii


def kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.value) for f in find_pii(text)]


@pytest.mark.parametrize(
    "text, kind, value",
    [
        ("pay with 4111 1111 1111 1111 today", "card", "4111 1111 1111 1111"),
        ("card 4111-1111-1111-1111.", "card", "4111-1111-1111-1111"),
        ("amex 378282246310005", "card", "378282246310005"),
        ("IBAN GB82 WEST 1234 5698 7654 32 please", "iban", "GB82 WEST 1234 5698 7654 32"),
        ("iban de89370400440532013000", "iban", "de89370400440532013000"),
        ("mail ana.lima+x@mail.example.org now", "email", "ana.lima+x@mail.example.org"),
        ("ssn 123-45-6789", "us_ssn", "123-45-6789"),
        ("from 192.168.10.20 and", "ip", "192.168.10.20"),
        ("v6 2001:db8::8a2e:370:7334 here", "ip", "2001:db8::8a2e:370:7334"),
        ("call +1-984-182-0190", "phone", "+1-984-182-0190"),
        ("ring 07700 063 966", "phone", "07700 063 966"),
    ],
)
def test_each_recogniser_finds_its_kind(text: str, kind: str, value: str) -> None:
    assert (kind, value) in kinds(text)


@pytest.mark.parametrize(
    "text, kind",
    [
        ("pay with 4111 1111 1111 1112 today", "card"),  # Luhn fails
        ("IBAN GB83 WEST 1234 5698 7654 32", "iban"),  # check digits wrong
        ("IBAN GB82 WEST 1234 5698 7654 3", "iban"),  # one character short for GB
        ("ssn 000-45-6789", "us_ssn"),
        ("ssn 666-45-6789", "us_ssn"),
        ("ssn 912-45-6789", "us_ssn"),
        ("ssn 123-00-6789", "us_ssn"),
        ("ssn 123-45-0000", "us_ssn"),
        ("ssn 123-45 6789", "us_ssn"),  # mixed separators
        ("host 999.168.10.20", "ip"),
        ("version 1.2.3", "ip"),
        ("on 2024-01-05 at noon", "phone"),
        ("costs 12.50 or 300", "phone"),
    ],
)
def test_checksum_and_shape_failures_are_not_findings(text: str, kind: str) -> None:
    assert kind not in [k for k, _ in kinds(text)]


def test_checksums() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82WEST12345698765432") and not iban_valid("GB82WEST12345698765433")
    assert not iban_valid("XX82WEST12345698765432")  # no such country


def test_an_iban_is_not_also_read_as_a_card_or_phone() -> None:
    found = find_pii("IBAN DE89 3704 0044 0532 0130 00")
    assert [f.kind for f in found] == ["iban"]


def test_redact_replaces_each_finding_with_its_kind() -> None:
    text = "ana@example.org paid with 4111 1111 1111 1111 from 10.1.2.3"
    assert redact_pii(text) == "<EMAIL> paid with <CARD> from <IP>"


def test_text_without_digits_or_at_sign_is_skipped_and_kinds_filter() -> None:
    assert find_pii("nothing to see here") == []
    assert kinds("ana@example.org 123-45-6789") == [
        ("email", "ana@example.org"),
        ("us_ssn", "123-45-6789"),
    ]
    assert [f.kind for f in find_pii("ana@example.org 123-45-6789", kinds=["us_ssn"])] == ["us_ssn"]
