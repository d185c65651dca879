"""The photo's face-masked copy is made once for its boxes and read back (issue 19): a second
view does not mask again, a box change makes a new copy, a recorded copy is read back (even
after the mask changed), boxes cannot change once a decision recorded the copy, and an erasure
removes the stored copy."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from flask import Flask

from consent.db import db
from consent.media.faces import MASK_SHAPES
from consent.media.masked import masked_id
from consent.media.models import MediaItem
from consent.web.context import runtime
from consent.workflows import face_mask
from tests.factories import Flow, csrf, evidence
from tests.media.test_faces import astronaut
from tests.pages.test_face_boxes import _faces, _logged_in
from tests.pages.test_tablet_flow import clinician  # noqa: F401 (fixture)

PUBLIC = "public_social_network"


@pytest.fixture
def masking(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the times a photo is masked."""
    calls: list[int] = []
    real = face_mask.masked_copy

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(face_mask, "masked_copy", counted)
    return calls


def _opened(app: Flask, key: str) -> tuple[Flow, str, dict[str, Any], dict[str, Any], Any]:
    api = Flow(app.test_client(), key)
    patient = api.patient()
    media = api.media(patient, astronaut())
    created = api.open_request(patient, [media["id"]], [{"purpose": PUBLIC}])
    tablet = app.test_client()
    tablet.get(created["signing_url"][len("http://consent.test") :])
    return api, patient, media, created, tablet


def _decide(api: Flow, request_id: str) -> Any:
    body = {
        "signer": {"role": "patient"},
        "choices": [{"purpose": PUBLIC, "granted": True, "face": "hidden"}],
        "method": "external",
        "evidence": evidence(),
    }
    return api.client.post(
        f"/api/v1/requests/{request_id}/decision", json=body, headers=api.headers
    )


def test_a_second_view_reads_the_stored_copy_and_the_decision_records_it(
    app: Flask,
    clinician: dict[str, Any],  # noqa: F811
    masking: list[int],
) -> None:
    api, _patient, media, created, tablet = _opened(app, clinician["key"])
    first = tablet.get(f"/tablet/media/{media['id']}/masked")
    second = tablet.get(f"/tablet/media/{media['id']}/masked")
    assert first.status_code == second.status_code == 200
    assert first.get_data() == second.get_data()
    assert len(masking) == 1
    decided = _decide(api, created["id"])
    assert decided.status_code == 201, decided.json
    fetched = api.client.get(f"/api/v1/media/{media['id']}/masked", headers=api.headers)
    assert fetched.status_code == 200
    recorded = decided.json["receipt"]["receipt"]["media"][0]["masked_sha256"]
    assert hashlib.sha256(fetched.get_data()).hexdigest() == recorded
    assert len(masking) == 1  # the decision and the download read the copy the patient saw


def test_changed_boxes_make_a_new_copy_and_are_fixed_once_a_copy_is_recorded(
    app: Flask,
    clinician: dict[str, Any],  # noqa: F811
    masking: list[int],
) -> None:
    api = Flow(app.test_client(), clinician["key"])
    patient = api.patient()
    media = api.media(patient, astronaut())
    one = api.open_request(patient, [media["id"]], [{"purpose": PUBLIC}])
    two = api.open_request(patient, [media["id"]], [{"purpose": "teaching"}])
    with app.app_context():
        item = db.session.get_one(MediaItem, media["id"])
        before = face_mask.masked_photo(db.session, runtime(), item)
    doctor = _logged_in(app, clinician["email"])
    page = doctor.get(f"/clinician/requests/{two['id']}").get_data(as_text=True)
    form = {"csrf_token": csrf(page), "box-1-x": "100", "box-1-y": "600", "box-1-w": "200"}
    form["box-1-h"] = "200"
    saved = doctor.post(f"/clinician/requests/{two['id']}/media/{media['id']}/faces", data=form)
    assert saved.status_code == 302
    with app.app_context():
        item = db.session.get_one(MediaItem, media["id"])
        after = face_mask.masked_photo(db.session, runtime(), item)
    assert len(masking) == 2 and after.sha256 != before.sha256 and after.key != before.key

    # Once a decision recorded the copy, its boxes are what a receipt binds: fixed.
    assert _decide(api, one["id"]).status_code == 201
    form["box-1-x"] = "300"
    refused = doctor.post(
        f"/clinician/requests/{two['id']}/media/{media['id']}/faces",
        data=form,
        follow_redirects=True,
    )
    assert "can no longer change" in refused.get_data(as_text=True)
    assert [b.x for b in _faces(app, media["id"])][:1] == [100]


def test_a_copy_recorded_with_an_earlier_mask_is_still_served_and_erasure_removes_it(
    app: Flask,
    clinician: dict[str, Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    runner: Any,
) -> None:
    # Recorded by the release whose mask was v1, which stored no copy.
    monkeypatch.setattr(face_mask, "MASK_SHAPE", MASK_SHAPES[1])
    api, patient, media, created, _tablet = _opened(app, clinician["key"])
    decided = _decide(api, created["id"])
    assert decided.status_code == 201, decided.json
    recorded = decided.json["receipt"]["receipt"]["media"][0]["masked_sha256"]
    monkeypatch.undo()
    with app.app_context():
        path = runtime().files.path(masked_id(media["id"]))
    path.unlink()
    fetched = api.client.get(f"/api/v1/media/{media['id']}/masked", headers=api.headers)
    assert fetched.status_code == 200, fetched.json
    assert hashlib.sha256(fetched.get_data()).hexdigest() == recorded
    assert path.is_file()  # stored again, read back from now on
    assert runner.invoke(args=["erase-patient", patient, "--yes"]).exit_code == 0
    assert not path.exists()
