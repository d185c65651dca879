"""Dates and numbers in the reader's language, kept on one line (issue 21).

"7 December 2026", "7 décembre 2026": the day, month and year are joined by non-breaking spaces,
so that no page or PDF splits a date across two lines. English uses the day-month-year order
that readers outside the United States expect (Babel's en_GB pattern).
"""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date
from babel.numbers import format_decimal
from flask_babel import get_locale

NBSP = "\u00a0"
_LONG = {"en": "d MMMM y"}


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def long_date(value: str | date | datetime, *, language: str | None = None) -> str:
    """The day of a date, a datetime or an RFC 3339 time, in words, unbreakable.

    In the reader's language, or in ``language`` for a text that holds several (the
    invitation's e-mail is English then French, and is written outside any request)."""
    if isinstance(value, str):
        day = date.fromisoformat(value[:10])
    elif isinstance(value, datetime):
        day = value.date()
    else:
        day = value
    language = language or _language()
    text = format_date(day, format=_LONG.get(language, "long"), locale=language)
    return text.replace(" ", NBSP)


def number(value: float | int) -> str:
    """A number with the locale's separators ("1,5" in French), unbreakable."""
    return format_decimal(value, locale=_language()).replace("\u202f", NBSP).replace(" ", NBSP)
