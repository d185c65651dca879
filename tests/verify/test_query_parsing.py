"""The verify query parser (hand-written, for speed) answers exactly as a marshmallow schema of
the documented query (the form fields of POST /verify, plus the hash)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, fields

from consent.api.schemas import FullMatch
from consent.api.verify import UseQuery
from consent.consents.uses import PURPOSES
from consent.errors import InvalidInput
from consent.verify.query import SHA256, SHA256_ERROR, parse_hash_query


class HashQuery(UseQuery):
    sha256 = fields.String(required=True, validate=FullMatch(SHA256, error=SHA256_ERROR))


values = st.one_of(
    st.none(),
    st.sampled_from(["a" * 64, "A" * 64, "a" * 63, "g" * 64, "", "linkedin", "Linked In", "x"]),
    st.sampled_from(PURPOSES),
    st.text(max_size=70),
    st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    st.from_regex(r"[a-z0-9][a-z0-9._-]{0,39}\n?", fullmatch=True),
)


def _schema(args: dict[str, str]) -> tuple[str, Any]:
    try:
        return "ok", HashQuery().load(args, unknown="exclude")
    except ValidationError as exc:
        return "error", exc.messages


def _fast(args: dict[str, str]) -> tuple[str, Any]:
    try:
        return "ok", parse_hash_query(args)
    except InvalidInput as exc:
        return "error", exc.errors["query"]


@settings(max_examples=600)
@given(sha256=values, purpose=values, channel=values, other=values)
def test_fast_parser_agrees_with_schema(
    sha256: Any, purpose: Any, channel: Any, other: Any
) -> None:
    args = {
        name: value
        for name, value in (
            ("sha256", sha256),
            ("purpose", purpose),
            ("channel", channel),
            ("extra", other),
        )
        if value is not None
    }
    assert _fast(args) == _schema(args)


@pytest.mark.parametrize("channel", ["linkedin\n", "x\n"])
def test_trailing_newline_is_refused_by_both(channel: str) -> None:
    args = {"sha256": "a" * 64, "purpose": "teaching", "channel": channel}
    assert _fast(args)[0] == _schema(args)[0] == "error"
