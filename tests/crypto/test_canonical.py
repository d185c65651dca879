"""Our canonical JSON must equal RFC 8785's, byte for byte, on every value."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from consent.crypto.receipts import canonical

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=800)
@given(json_values)
def test_canonical_equals_rfc8785(value: object) -> None:
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, ValueError, UnicodeEncodeError):
        return  # both sides refuse; canonical's refusal is tested below
    assert canonical(value) == expected


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    # U+10000 is D800 DC00 in UTF-16 and sorts before U+FFFF there, after it by code point.
    value = {"\uffff": 1, "\U00010000": 2}
    assert canonical(value) == rfc8785.dumps(value)
    assert canonical(value).index("\U00010000".encode()) < canonical(value).index("\uffff".encode())


def test_control_characters_escape_as_ecmascript_does() -> None:
    value = {"s": '\x00\x08\t\n\x0c\r\x1f"\\\u2028\x7f é'}
    assert canonical(value) == rfc8785.dumps(value)
