"""Undoing migrations 0021 (media subjects) and 0023 (faces) must never lose what was
recorded: once an item shows two people (its bytes under a media key held only in the subjects'
rows), or a photo has face boxes, the downgrade refuses and every row stays; the database is
then brought back to head."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from consent.db import db
from tests.factories import Flow, api_key, photo
from tests.media.test_faces import astronaut


def _rows() -> dict[str, list[tuple[Any, ...]]]:
    with db.engine.connect() as connection:
        return {
            table: [tuple(row) for row in connection.execute(text(select))]
            for table, select in (
                ("media_subjects", "SELECT * FROM media_subjects ORDER BY patient_id"),
                ("consent_requests", "SELECT * FROM consent_requests ORDER BY id"),
                # Not `faces`: a photo without a face (0023 undone) comes back "not looked at".
                ("media_items", "SELECT id, patient_id, sha256, phash FROM media_items"),
            )
        }


def _version() -> str | None:
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


@pytest.mark.parametrize(("image", "refused_by"), [("plain", "0021"), ("face", "0023")])
def test_undoing_subjects_or_faces_refuses_once_recorded(
    app: Flask, image: str, refused_by: str
) -> None:
    flow = Flow(app.test_client(), api_key())
    a, b = flow.patient(), flow.patient()
    media = flow.media(a, astronaut() if image == "face" else photo(45))
    added = flow.client.post(
        f"/api/v1/media/{media['id']}/subjects", json={"patient_id": b}, headers=flow.headers
    )
    assert added.status_code == 201, added.json
    if image == "plain":
        # This photo has no face: 0023 steps down, and 0021 is the one that must refuse.
        assert media["faces"] == []
    before = _rows()
    directory, head = app.extensions["migrate"].directory, _version()
    db.session.remove()
    try:
        # Flask-Migrate turns the migration's error into an exit; the error is its cause.
        with pytest.raises(SystemExit) as refused:
            downgrade(directory=directory, revision="0020")
        assert f"{refused_by} cannot be undone" in str(refused.value.__context__)
        assert _rows() == before
    finally:
        upgrade(directory=directory)
    assert _version() == head and _rows() == before
