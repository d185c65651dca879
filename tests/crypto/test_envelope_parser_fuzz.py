"""The receipt parser under arbitrary input (hypothesis): it answers VerificationError, never
crashes, and never accepts anything but the exact envelope that was signed."""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from consent.crypto.keyring import Keyring
from consent.crypto.receipts import sign_body, verify_envelope
from consent.errors import VerificationError

KEYRING = Keyring(name="hospital.example/consent-log", seeds=[os.urandom(32)])
RECEIPT = {
    "type": "consent",
    "receipt_id": "cs_1",
    "media": [{"sha256": "a" * 64}],
    "uses": [{"purpose": "teaching", "channels": ["linkedin"], "granted": True}],
    "expires_at": "2031-01-01T00:00:00Z",
}
SIGNED = sign_body(body=RECEIPT, body_key="receipt", keyring=KEYRING)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _outcome(envelope: Any) -> str:
    try:
        verify_envelope(envelope=envelope, body_key="receipt", keys=KEYRING)
    except VerificationError:
        return "refused"
    return "accepted"


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_arbitrary_values_are_refused_cleanly(value: Any) -> None:
    assert _outcome(value) == "refused"


@settings(max_examples=400, deadline=None)
@given(
    path=st.lists(
        st.sampled_from(["receipt", "uses", 0, "granted", "channels", "key_id"]), max_size=4
    ),
    replacement=json_values,
)
def test_any_change_to_a_signed_envelope_is_refused(path: list[Any], replacement: Any) -> None:
    envelope = copy.deepcopy(SIGNED)
    target: Any = envelope
    for step in path[:-1]:
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            return
    if not path:
        envelope = replacement
    else:
        try:
            original = target[path[-1]]
        except (KeyError, IndexError, TypeError):
            original = object()
        if original == replacement and type(original) is type(replacement):
            return  # no change made
        try:
            target[path[-1]] = replacement
        except (IndexError, TypeError):
            return
    if envelope == SIGNED:
        return
    assert _outcome(envelope) == "refused"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_bytes_parsed_as_json_never_crash_it(raw: bytes) -> None:
    try:
        value = json.loads(raw)
    except ValueError:
        return
    assert _outcome(value) == "refused"


def test_the_signed_envelope_itself_is_accepted() -> None:
    assert _outcome(copy.deepcopy(SIGNED)) == "accepted"
    assert _outcome(json.loads(json.dumps(SIGNED))) == "accepted"
