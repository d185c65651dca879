"""Request guards shared by the JSON API: content types and body sizes, checked before parsing."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import request

from consent.errors import InvalidInput, UnsupportedMediaType
from consent.web.context import settings
from consent.web.textinput import refuse_unreadable_json

MAX_FILE_NAME = 255
_NAME_PROBLEM = (
    "A file name must be a plain name: no folders ('/', '\\' or '..'), no control characters, "
    f"at most {MAX_FILE_NAME} characters."
)


def plain_file_name(name: str) -> bool:
    """A name without folders or control characters, short enough to show."""
    return not (
        len(name) > MAX_FILE_NAME
        or "/" in name
        or "\\" in name
        or ".." in name
        or any(ord(character) < 32 or ord(character) == 127 for character in name)
    )


def check_upload_names() -> None:
    """Refuse files whose names try to reach other folders (422).

    Names are never used to store anything (files are stored by id), but a client sending
    ``../../etc/passwd`` is misbehaving or probing, and gets told so rather than a quiet success.
    """
    errors: dict[str, list[str]] = {}
    for field, upload in request.files.items(multi=True):
        if not plain_file_name(upload.filename or ""):
            errors[field] = [_NAME_PROBLEM]
    if errors:
        raise InvalidInput("A file name is not acceptable; see errors.", errors={"files": errors})


F = TypeVar("F", bound=Callable[..., Any])


def accepts_json(view: F) -> F:
    """Refuse a body that is not ``application/json`` (415) or is too large (413)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        request.max_content_length = settings().max_json_bytes
        if request.mimetype != "application/json":
            raise UnsupportedMediaType(
                f"Send JSON with Content-Type: application/json (got {request.mimetype or 'none'})."
            )
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def accepts_json_with_document(view: F) -> F:
    """``accepts_json`` for a body that carries a document in base64 (the evidence of a
    decision collected elsewhere): up to the scan limit, and a third more for base64."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        current = settings()
        request.max_content_length = current.max_json_bytes + current.max_scan_bytes * 4 // 3
        if request.mimetype != "application/json":
            raise UnsupportedMediaType(
                f"Send JSON with Content-Type: application/json (got {request.mimetype or 'none'})."
            )
        # Larger than the hook before every view parses (consent.web.textinput): checked here.
        refuse_unreadable_json()
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def accepts_multipart(view: F) -> F:
    """Refuse a body that is not ``multipart/form-data`` (415), or hostile file names (422)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if request.mimetype != "multipart/form-data":
            raise UnsupportedMediaType(
                f"Send the file as multipart/form-data (got {request.mimetype or 'none'})."
            )
        check_upload_names()
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]
