"""The form each person of a group reads (issue 19).

Everyone seen in a photo decides for themselves, on a request of their own. A request opened
for a baby held by her mother uses the form written for a representative ("Photos and videos
of your child"); the mother, asked about her own image, must not read that one, and a child
seen beside an adult patient must not be addressed as "you decide". So each other person of the
group reads the chosen form's counterpart written for them: a minor's decision is their legal
representative's (the forms' own words: "if you are under 18 ... your legal representative
decides"), an adult's is their own. The clinician's choice stands for the patient the request
was opened for, and for anyone when the catalogue holds no counterpart.

An adult under guardianship is not known to the service: their request is opened on the form
written to the patient, and the signer states at signing that they are the representative.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select

from consent.accounts.scope import Scope
from consent.crypto.vault import Vault
from consent.db import AnySession
from consent.forms.models import FormVersion
from consent.patients.service import identity

# The forms' own threshold (schemas/forms/*: "If you are under 18").
AGE_OF_MAJORITY = 18
PATIENT = "patient"
REPRESENTATIVE = "legal_representative"


def age_on(birth: date, today: date) -> int:
    """Whole years between ``birth`` and ``today``."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def audience_of(
    session: AnySession, vault: Vault, patient_id: str, *, scope: Scope, today: date
) -> str:
    """Who reads the form for this patient: their legal representative while they are a minor,
    else the patient themselves."""
    birth = date.fromisoformat(identity(session, vault, patient_id, scope=scope)["birth_date"])
    return REPRESENTATIVE if age_on(birth, today) < AGE_OF_MAJORITY else PATIENT


def fitted_form(
    session: AnySession, chosen: FormVersion, audience: str, purposes: Sequence[str]
) -> FormVersion:
    """``chosen``, or its counterpart for ``audience``: the newest version, in the same
    language, of a form written for that audience that offers every requested purpose; among
    several, the one whose id shares the longest beginning with the chosen one's."""
    if json.loads(chosen.definition).get("audience") == audience:
        return chosen
    newest: dict[str, FormVersion] = {}
    for version in session.scalars(
        select(FormVersion)
        .where(FormVersion.language == chosen.language)
        .order_by(FormVersion.version)
    ):
        newest[version.form_id] = version
    fitting = [
        version
        for version in newest.values()
        if (definition := json.loads(version.definition)).get("audience") == audience
        and set(purposes) <= set(definition.get("purposes", {}))
    ]
    if not fitting:
        return chosen
    return max(
        fitting,
        key=lambda version: (_shared_prefix(version.form_id, chosen.form_id), version.form_id),
    )


def _shared_prefix(first: str, second: str) -> int:
    length = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        length += 1
    return length
