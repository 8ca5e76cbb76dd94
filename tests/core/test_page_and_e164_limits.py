"""Two limits Schemathesis found: page numbers that overflow an offset, E.164 matched whole."""

from __future__ import annotations

import pytest

from dialcues_core.kernel.fields import MAX_PAGE, parse_page
from dialcues_core.kernel.phone import parse_phone_number


def test_the_largest_page_keeps_its_offset_within_64_bits() -> None:
    assert parse_page(str(MAX_PAGE)) == MAX_PAGE
    assert (MAX_PAGE - 1) * 100 < 2**63


@pytest.mark.parametrize("value", ["0", str(MAX_PAGE + 1), "1" * 30])
def test_a_page_out_of_range_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="from 1 to"):
        parse_page(value)


@pytest.mark.parametrize("value", ["+14155552671\n", "+١٤١٥٥٥٥٢٦٧١", "+14155552671 "])
def test_a_phone_number_must_match_the_e164_pattern_whole_in_ascii(value: str) -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        parse_phone_number(value)


def test_a_plain_e164_number_is_still_accepted() -> None:
    assert parse_phone_number("+14155552671") == "+14155552671"
