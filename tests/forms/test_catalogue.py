"""The form catalogue: the hashed text is what the patient reads; a used version is frozen."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from consent.db import db
from consent.errors import ConfigurationError
from consent.forms.catalogue import FORMS_DIR
from consent.forms.models import FormVersion
from consent.web.context import settings
from consent.workflows.catalogue import form_placeholders, sync_catalogue
from tests.factories import Flow, api_key, photo


def test_forms_endpoint_lists_both_languages_with_text_hashes(client: FlaskClient) -> None:
    flow = Flow(client, api_key())
    forms = client.get("/api/v1/forms", headers=flow.headers).json["forms"]
    # Version 2 (issue 21) speaks the glossary's words, version 3 (issue 21) writes each use's
    # paragraphs apart; the older versions stay for the requests that used them. Arabic came
    # with version 2.
    assert {(f["form"], f["version"], f["language"]) for f in forms} == {
        (form, version, language)
        for form in ("media-publication", "media-publication-representative")
        for version in (1, 2, 3)
        for language in (("en", "fr") if version == 1 else ("en", "fr", "ar"))
    }
    for form in forms:
        row = db.session.scalar(
            select(FormVersion).filter_by(
                form_id=form["form"], version=form["version"], language=form["language"]
            )
        )
        assert form["text_sha256"] == hashlib.sha256(row.text.encode()).hexdigest()


def test_form_text_names_controller_and_no_placeholder_is_left(app: Flask) -> None:
    for row in db.session.scalars(select(FormVersion)):
        assert "{" not in row.text
        assert settings(app).controller in row.text
        assert settings(app).dpo_contact in row.text


def test_changing_text_of_a_used_version_is_refused(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    Flow(client, api_key()).consent(photo(1), {"teaching": True})
    copy = tmp_path / "forms"
    shutil.copytree(FORMS_DIR, copy)
    path = copy / "media-publication-v3.yaml"  # the newest version, which new requests use
    path.write_text(path.read_text().replace("Your care team took photos", "We took photos"))
    with pytest.raises(ConfigurationError, match="already used"):
        sync_catalogue(db.session, copy, form_placeholders(settings(app)))
    db.session.rollback()
    # Unchanged definitions sync again without complaint.
    sync_catalogue(db.session, FORMS_DIR, form_placeholders(settings(app)))
