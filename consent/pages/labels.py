"""Interface names of the uses (the forms carry their own, per language, for the patient)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

PURPOSE_LABELS = {
    "care_record": _l("Medical record"),
    "teaching": _l("Teaching"),
    "professional_network": _l("Professional network"),
    "public_social_network": _l("Public social media"),
    "journal_publication": _l("Medical journal"),
    "survey": _l("Health study"),
}
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
