"""A media file the database names but the media directory lacks (a database restored without
its media, a share not mounted): every reader of its bytes answers a clear error naming the
item and how to restore it, never an unhandled 500, and the log says which file is missing."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consent.web.context import runtime
from tests.factories import Flow, api_key, photo


def _lose_file(media_id: str) -> None:
    runtime().files.path(media_id).unlink()


def test_receipt_pdf_of_a_consent_whose_photo_file_is_missing_says_so(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    flow = Flow(client, api_key())
    decision = flow.consent(photo(71), {"teaching": True})
    _lose_file(decision["media"]["id"])
    caplog.set_level(logging.INFO, logger="consent")
    response = client.get(
        f"/api/v1/consents/{decision['consent_id']}/receipt.pdf", headers=flow.headers
    )
    assert response.status_code == 500
    body = response.json
    assert body["code"] == 500
    assert decision["media"]["id"] in body["message"]
    assert "missing" in body["message"] and "restore" in body["message"]
    missing = [r for r in caplog.records if r.getMessage() == "media file missing"]
    assert missing and missing[0].fields == {"media_id": decision["media"]["id"]}  # type: ignore[attr-defined]
    assert not any(r.getMessage().startswith("unhandled") for r in caplog.records)


def test_the_stored_photo_missing_does_not_change_a_verify_answer(
    app: Flask, client: FlaskClient
) -> None:
    flow = Flow(client, api_key())
    decision = flow.consent(photo(72), {"teaching": True})
    _lose_file(decision["media"]["id"])
    answer = flow.verify(decision["media"]["sha256"], "teaching")
    assert answer["answer"]["decision"] == "allowed"
