"""Interface names of the uses, relationships and states.

The uses are named by the glossary (schemas/glossary.yaml) in the language of the page being
rendered, the same words the patient reads in the forms (issue 21: one name for one thing).
"""

from __future__ import annotations

from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l

from consent.forms import glossary
from consent.forms.uses import PURPOSES


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else glossary.DEFAULT_LANGUAGE


def use_label(purpose: str) -> str:
    """The glossary's name of a use in the current language."""
    return glossary.use_label(purpose, _language())


def glossary_term(concept: str) -> str:
    """The glossary's word for a concept (``team``, ``consent``, ``log``) in the current
    language."""
    return glossary.term(concept, _language())


PURPOSE_LABELS = {purpose: LazyString(use_label, purpose) for purpose in PURPOSES}
RELATIONSHIP_LABELS = {
    "parent": _l("Parent"),
    "guardian": _l("Guardian"),
    "other_legal_representative": _l("Other legal representative"),
}
STATE_LABELS = {
    "granted": _l("Allowed"),
    "refused": _l("Refused"),
    "withdrawn": _l("Withdrawn"),
    "expired": _l("Expired"),
}
# Staff roles, as the admin pages show them.
ROLE_LABELS = {
    "clinician": _l("clinician"),
    "admin": _l("administrator"),
    "auditor": _l("auditor"),
}
