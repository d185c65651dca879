"""The interface language: French or English, chosen by the person, else by the browser."""

from __future__ import annotations

from flask import request, session

LANGUAGES = ("en", "fr")


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES) or "en"
