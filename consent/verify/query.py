"""The verify question as publishing tools send it in a query string, checked by hand.

This is the hot path of every publishing tool: the Flask route and the WSGI fast path
(consent.web.fastpath) both call ``parse_hash_query``; tests/verify/test_query_parsing.py holds
it to the same answers and messages as a marshmallow schema of the documented parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from consent.consents.uses import CHANNEL, PURPOSES
from consent.errors import InvalidInput

SHA256 = r"^[0-9a-f]{64}$"
MISSING = "Missing data for required field."
SHA256_ERROR = "64 lower-case hex digits."
CHANNEL_ERROR = "A lower-case channel name."
PURPOSE_ERROR = f"Must be one of: {', '.join(PURPOSES)}."

_SHA256 = re.compile(SHA256)
_PURPOSES = frozenset(PURPOSES)


def parse_hash_query(args: Mapping[str, str]) -> dict[str, str]:
    """The verify query: sha256, purpose and an optional channel.

    Raises InvalidInput with the errors per field under ``query``.
    """
    errors: dict[str, list[str]] = {}
    sha256, purpose, channel = args.get("sha256"), args.get("purpose"), args.get("channel")
    if sha256 is None:
        errors["sha256"] = [MISSING]
    elif not _SHA256.fullmatch(sha256):
        errors["sha256"] = [SHA256_ERROR]
    if purpose is None:
        errors["purpose"] = [MISSING]
    elif purpose not in _PURPOSES:
        errors["purpose"] = [PURPOSE_ERROR]
    if channel is not None and not CHANNEL.fullmatch(channel):
        errors["channel"] = [CHANNEL_ERROR]
    if errors or sha256 is None or purpose is None:
        raise InvalidInput(
            "The request does not follow the schema; see errors.", errors={"query": errors}
        )
    query = {"sha256": sha256, "purpose": purpose}
    if channel is not None:
        query["channel"] = channel
    return query
