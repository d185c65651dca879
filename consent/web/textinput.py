"""Text the service takes in is text: no lone surrogate, no control character, at every entry
point (JSON bodies, forms, multipart fields, file names, query strings), checked before any
view runs.

A lone surrogate (``"\\ud800"``, which JSON may spell) is no character at all: stored, it cannot be
encoded again, and every page that shows it failed with a 500. Control characters are refused
for the same reason, and CR/LF above all where a value may reach a header (a ``next`` address
becomes a ``Location``). Values may hold tabs and line breaks (case texts, notes span lines);
names (JSON keys, form field names, file names) and query strings may not.

Refused with 422 in the one documented error shape, before anything is read into the
database: nothing is stored.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, request

from consent.errors import InvalidInput
from consent.web.context import settings

# C0 controls, DEL, C1 controls and the surrogate block (never a character on its own).
_NOT_IN_A_NAME = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same, less the tab and line breaks that text spanning lines holds.
_NOT_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Form fields that become a header (the address a page sends the browser back to).
SINGLE_LINE_FIELDS = frozenset({"next"})
# JSON nested deeper than this is refused outright (no field of the API comes close).
MAX_DEPTH = 32
PROBLEM = (
    "Text may not hold control characters or unpaired surrogates (\\ud800-\\udfff); "
    "names and query values may not hold line breaks either."
)


def text_problems(value: Any, where: str, found: dict[str, list[str]], depth: int = 0) -> None:
    """Add to ``found`` each place in a parsed JSON value that holds a refused character."""
    if depth > MAX_DEPTH:
        found[where or "$"] = ["The document is nested too deeply."]
    elif isinstance(value, str):
        if _NOT_IN_TEXT.search(value):
            found[where or "$"] = [PROBLEM]
    elif isinstance(value, dict):
        for key, item in value.items():
            place = f"{where}.{key}" if where else str(key)
            if _NOT_IN_A_NAME.search(str(key)):
                found[_printable(place)] = [PROBLEM]
            else:
                text_problems(item, place, found, depth + 1)
    elif isinstance(value, list):
        for number, item in enumerate(value):
            text_problems(item, f"{where}[{number}]", found, depth + 1)


def _printable(place: str) -> str:
    """A place name safe to send back (the refused characters escaped)."""
    return _NOT_IN_A_NAME.sub(lambda match: f"\\u{ord(match.group()):04x}", place)


def refuse_unreadable_text() -> None:
    """Before every view: raise InvalidInput (422) when any text of the request is refused."""
    found: dict[str, list[str]] = {}
    if request.query_string:
        for name, value in request.args.items(multi=True):
            if _NOT_IN_A_NAME.search(name) or _NOT_IN_A_NAME.search(value):
                found[f"query.{_printable(name)}"] = [PROBLEM]
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for name, value in request.form.items(multi=True):
            refused = _NOT_IN_A_NAME if name in SINGLE_LINE_FIELDS else _NOT_IN_TEXT
            if _NOT_IN_A_NAME.search(name) or refused.search(value):
                found[f"form.{_printable(name)}"] = [PROBLEM]
        for name, upload in request.files.items(multi=True):
            if _NOT_IN_A_NAME.search(name) or _NOT_IN_A_NAME.search(upload.filename or ""):
                found[f"files.{_printable(name)}"] = [PROBLEM]
    elif request.is_json and 0 < (request.content_length or 0) <= settings().max_json_bytes:
        found.update(_json_problems())
    if found:
        raise InvalidInput(_REFUSED, errors=found)


def refuse_unreadable_json() -> None:
    """The JSON part of ``refuse_unreadable_text``, for the views that take a larger body
    (consent.web.guards calls it once it has set the body's limit). Raises InvalidInput."""
    found = _json_problems()
    if found:
        raise InvalidInput(_REFUSED, errors=found)


_REFUSED = "The request holds text that is not acceptable; see errors."


def _json_problems() -> dict[str, list[str]]:
    # silent: a body that is not JSON is the view's to refuse, in its own words. A body over
    # the request's limit raises 413 here as it would in the view.
    document = request.get_json(silent=True)
    found: dict[str, list[str]] = {}
    if document is not None:
        text_problems(document, "", found)
    return {f"json.{place}": problems for place, problems in found.items()}


def local_address(target: str, *, prefix: str) -> str | None:
    """``target`` when it is a plain path of this service under ``prefix`` (a page's ``next``),
    else None: no other host (``//``, ``\\``), no control character that a header would carry."""
    if not target.startswith(prefix) or "//" in target or "\\" in target:
        return None
    return None if _NOT_IN_A_NAME.search(target) else target


def init_app(app: Flask) -> None:
    app.before_request(refuse_unreadable_text)
