"""Fixtures shared by the verify tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
from flask import Flask

from consent.web.fastpath import VerifyFastPath


@pytest.fixture
def flask_calls(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths that reached Flask's own dispatch (through the fast path's fall-back)."""
    fast = app.wsgi_app.wsgi_app.wsgi_app  # type: ignore[attr-defined]  # log, headers, fast
    assert isinstance(fast, VerifyFastPath)
    calls: list[str] = []
    inner = fast.flask_wsgi_app

    def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        calls.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    monkeypatch.setattr(fast, "flask_wsgi_app", counted)
    return calls
