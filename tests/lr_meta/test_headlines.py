"""lr_meta.headlines' number formats, on values whose printed form is known."""

import pytest

from lr_meta.headlines import _digits, _two


@pytest.mark.parametrize("value, text", [(0.019330, "1.9e-2"), (0.67555, "0.68"), (10.4, "10"), (4.9e4, "4.9e4"),
                                         (9.83e-19, "9.8e-19"), (3.4e107, "3.4e107"), (2.559, "2.6")])
def test_two_significant_digits_with_an_exponent_outside_a_tenth_to_ten_thousand(value, text):
    assert _two(value) == text


@pytest.mark.parametrize("value, text", [(3787.36, "3787"), (1.0000000000000004, "1"), (0.069743, "0.0697"),
                                         (32.737, "32.7"), (0.0047174, "0.00472"), (321.87, "322")])
def test_three_significant_digits_and_whole_numbers_as_they_are(value, text):
    assert _digits(value) == text
