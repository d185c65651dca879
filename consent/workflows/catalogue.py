"""The form catalogue loaded into the database: new versions added, used ones never changed."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import exists, select

from consent.consents.models import ConsentRequest
from consent.db import AnySession
from consent.errors import ConfigurationError
from consent.forms.catalogue import read_definitions
from consent.forms.models import FormVersion
from consent.settings import Settings


def form_placeholders(settings: Settings) -> dict[str, str]:
    """The values a form's text names in braces: the controller and the DPO's contact."""
    return {"controller": settings.controller, "dpo_contact": settings.dpo_contact}


def sync_catalogue(
    session: AnySession, forms_dir: Path, placeholders: dict[str, str]
) -> list[FormVersion]:
    """Insert new form versions; refuse to change one that a request has used.

    Raises ConfigurationError when a used version's text differs from its definition.
    """
    synced = []
    for form in read_definitions(forms_dir, placeholders):
        row = session.scalar(
            select(FormVersion).filter_by(
                form_id=form.form_id, version=form.version, language=form.language
            )
        )
        definition_json = json.dumps(form.definition, ensure_ascii=False, sort_keys=True)
        if row is None:
            row = FormVersion(
                form_id=form.form_id,
                version=form.version,
                language=form.language,
                title=form.title,
                text=form.text,
                text_sha256=form.sha256,
                definition=definition_json,
            )
            session.add(row)
        elif row.text_sha256 != form.sha256 or row.definition != definition_json:
            used = session.scalar(select(exists().where(ConsentRequest.form_version_id == row.id)))
            if used:
                raise ConfigurationError(
                    f"form {form.form_id} v{form.version} ({form.language}) is already used; "
                    "its text cannot change: add a new version"
                )
            row.title, row.text, row.text_sha256 = form.title, form.text, form.sha256
            row.definition = definition_json
        synced.append(row)
    session.flush()
    return synced
