"""The public verification page checks a dropped file against that consent: exact (SHA-256) or
perceptual (pHash) match, or not covered; hostile or oversized files get a clear 4xx; nothing is
stored and no identity is shown."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consent.db import db
from consent.media.models import MediaItem
from tests.conftest import LiveSettings
from tests.factories import Flow, api_key, photo, reencode, scan_pdf

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


@pytest.fixture
def consent_id(flow: Flow) -> str:
    return str(flow.consent(photo(21), {"teaching": True})["consent_id"])


def check(app: Flask, consent_id: str, data: bytes | None, name: str = "file.jpg") -> Any:
    visitor = app.test_client()
    page = visitor.get(f"/v/{consent_id}").get_data(as_text=True)
    token = CSRF.search(page)
    assert token, "the file form carries a CSRF token"
    form: dict[str, Any] = {"csrf_token": token.group(1)}
    if data is not None:
        form["file"] = (io.BytesIO(data), name)
    return visitor.post(f"/v/{consent_id}", data=form)


def test_the_page_offers_a_labelled_file_field(app: Flask, consent_id: str) -> None:
    page = app.test_client().get(f"/v/{consent_id}").get_data(as_text=True)
    assert '<label for="file">' in page and 'type="file" id="file"' in page
    assert 'enctype="multipart/form-data"' in page


def test_the_very_file_is_an_exact_match(app: Flask, consent_id: str) -> None:
    response = check(app, consent_id, photo(21))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Yes: this file is item 1 of the 1 this consent covers, byte for byte." in page
    assert "Jeanne" not in page and "Martin" not in page


def test_a_reencoded_copy_matches_perceptually(app: Flask, consent_id: str) -> None:
    copy = reencode(photo(21), quality=70, scale=0.5)
    page = check(app, consent_id, copy).get_data(as_text=True)
    assert "Very likely: this file looks like item 1 of the 1" in page
    assert re.search(r"\b\d of 64 fingerprint bits differ", page)


def test_another_photo_is_not_covered(app: Flask, consent_id: str) -> None:
    response = check(app, consent_id, photo(99))
    assert response.status_code == 200
    assert "No: this file is not one of the items" in response.get_data(as_text=True)


def test_nothing_is_stored(app: Flask, consent_id: str) -> None:
    before = db.session.query(MediaItem).count()
    check(app, consent_id, photo(22))
    assert db.session.query(MediaItem).count() == before


@pytest.mark.parametrize(
    ("data", "status", "says"),
    [
        (None, 422, "Please choose a file"),
        (b"", 415, "Only photos"),
        (b"%PDF-1.7 not a photo", 415, "Only photos"),
        (photo(21) + scan_pdf(), 422, "cannot be read"),  # a polyglot: a PDF after the JPEG
        (photo(21)[:5000], 422, "cannot be read"),  # truncated
    ],
)
def test_hostile_or_empty_files_get_a_clear_error(
    app: Flask, consent_id: str, data: bytes | None, status: int, says: str
) -> None:
    response = check(app, consent_id, data)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert says in page and 'role="alert"' in page


def test_a_file_over_the_limit_is_refused(
    app: Flask, consent_id: str, monkeypatch: pytest.MonkeyPatch, configure: LiveSettings
) -> None:
    configure["CONSENT_MAX_FILE_CHECK_BYTES"] = 10_000
    response = check(app, consent_id, photo(21))
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_an_unknown_consent_is_404(app: Flask, consent_id: str) -> None:
    other = "cs_" + "0" * 32
    visitor = app.test_client()
    page = visitor.get(f"/v/{consent_id}").get_data(as_text=True)
    token = CSRF.search(page).group(1)  # type: ignore[union-attr]
    response = visitor.post(
        f"/v/{other}", data={"csrf_token": token, "file": (io.BytesIO(photo(21)), "a.jpg")}
    )
    assert response.status_code == 404
    assert visitor.post("/v/nonsense", data={"csrf_token": token}).status_code == 404
