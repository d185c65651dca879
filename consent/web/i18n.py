"""The interface language, chosen by the person, else by the browser.

Patients read English, French or Arabic (the tablet, the withdrawal pages, the public page, the
phone's receipt page and the PDFs); the staff pages (clinician, administration, the paper path's
pages) are in English or French only, with their own language switch, so an Arabic-speaking
patient's choice on a shared tablet never turns the clinician's pages into Arabic.
"""

from __future__ import annotations

from flask import request, session

LANGUAGES = ("en", "fr", "ar")
STAFF_LANGUAGES = ("en", "fr")
# Written right to left: the page's html element carries dir="rtl".
RIGHT_TO_LEFT = frozenset({"ar"})
# The pages of the hospital's staff: only STAFF_LANGUAGES.
STAFF_BLUEPRINTS = frozenset({"clinician", "admin", "admin_operations", "paper"})
# Each language named in itself, for the language switch.
NATIVE_NAMES = {"en": "English", "fr": "Français", "ar": "العربية"}


def page_languages() -> tuple[str, ...]:
    """The languages the current page can be shown in."""
    blueprint = request.blueprint if request else None
    return STAFF_LANGUAGES if blueprint in STAFF_BLUEPRINTS else LANGUAGES


def select_locale() -> str:
    languages = page_languages()
    chosen = session.get("lang")
    if chosen in languages:
        return str(chosen)
    return request.accept_languages.best_match(languages) or "en"


def direction(language: object) -> str:
    """ "rtl" for a language written right to left, else "ltr"."""
    return "rtl" if str(language) in RIGHT_TO_LEFT else "ltr"
