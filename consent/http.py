"""Request guards shared by the JSON API: content types and body sizes, checked before parsing."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, request

from consent.errors import UnsupportedMediaType

F = TypeVar("F", bound=Callable[..., Any])


def accepts_json(view: F) -> F:
    """Refuse a body that is not ``application/json`` (415) or is too large (413)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        request.max_content_length = current_app.config["CONSENT_MAX_JSON_BYTES"]
        if request.mimetype != "application/json":
            raise UnsupportedMediaType(
                f"Send JSON with Content-Type: application/json (got {request.mimetype or 'none'})."
            )
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def accepts_multipart(view: F) -> F:
    """Refuse a body that is not ``multipart/form-data`` (415)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if request.mimetype != "multipart/form-data":
            raise UnsupportedMediaType(
                f"Send the file as multipart/form-data (got {request.mimetype or 'none'})."
            )
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]
