"""The clinician checks the face boxes of a request's photos (issue 19): drawn on the photo,
changed through a form until the patient opens the request, then fixed."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask

from consent.db import db
from consent.media.faces import parse_faces
from consent.media.models import MediaItem
from tests.factories import csrf, evidence
from tests.media.test_faces import astronaut
from tests.pages.test_tablet_flow import PASSWORD, clinician  # noqa: F401 (fixtures)


def _logged_in(app: Flask, email: str) -> Any:
    doctor = app.test_client()
    login = doctor.get("/clinician/login").get_data(as_text=True)
    answer = doctor.post(
        "/clinician/login", data={"csrf_token": csrf(login), "email": email, "password": PASSWORD}
    )
    assert answer.status_code == 302
    return doctor


def _faces(app: Flask, media_id: str) -> list[Any]:
    with app.app_context():
        return parse_faces(db.session.get(MediaItem, media_id).faces) or []


def test_the_clinician_sees_adds_and_removes_boxes_until_the_patient_opens(
    app: Flask,
    clinician: dict[str, Any],  # noqa: F811
) -> None:
    from tests.factories import Flow

    api = Flow(app.test_client(), clinician["key"])
    patient = api.patient()
    media = api.media(patient, astronaut())
    created = api.open_request(patient, [media["id"]], [{"purpose": "teaching"}])
    found = _faces(app, media["id"])
    assert found
    doctor = _logged_in(app, clinician["email"])
    page = doctor.get(f"/clinician/requests/{created['id']}").get_data(as_text=True)
    assert f'id="faces-{media["id"]}"' in page
    assert 'name="box-1-x"' in page
    drawn = doctor.get(f"/clinician/media/{media['id']}/faces")
    assert drawn.status_code == 200 and drawn.mimetype.startswith("image/")

    # Remove every box found, add one of the clinician's own.
    form = {"csrf_token": csrf(page)}
    for number in range(1, len(found) + 1):
        form[f"box-{number}-remove"] = "1"
        for part, value in zip("xywh", (1, 1, 1, 1), strict=True):
            form[f"box-{number}-{part}"] = str(value)
    new = len(found) + 1
    form.update({f"box-{new}-x": "300", f"box-{new}-y": "100", f"box-{new}-w": "250"})
    form[f"box-{new}-h"] = "260"
    saved = doctor.post(f"/clinician/requests/{created['id']}/media/{media['id']}/faces", data=form)
    assert saved.status_code == 302
    boxes = _faces(app, media["id"])
    assert [(b.x, b.y, b.w, b.h, b.by) for b in boxes] == [(300, 100, 250, 260, "clinician")]

    # A box that is not a rectangle is refused, and nothing changes.
    bad = {"csrf_token": csrf(page), "box-1-x": "a", "box-1-y": "1", "box-1-w": "1", "box-1-h": "1"}
    doctor.post(f"/clinician/requests/{created['id']}/media/{media['id']}/faces", data=bad)
    assert len(_faces(app, media["id"])) == 1
    # A mistyped box (beyond the 1024 x 1024 photo) would hide nothing: refused, with the size.
    for x, y, w, h in ((3000, 100, 250, 260), (300, 100, 250, 0), (-1, 100, 250, 260)):
        wide = {"csrf_token": csrf(page), "box-1-x": x, "box-1-y": y, "box-1-w": w, "box-1-h": h}
        refused = doctor.post(
            f"/clinician/requests/{created['id']}/media/{media['id']}/faces",
            data=wide,
            follow_redirects=True,
        ).get_data(as_text=True)
        assert "Box 1" in refused, (x, y, w, h)
        assert [(b.x, b.w, b.h) for b in _faces(app, media["id"])] == [(300, 250, 260)]
    assert "1024 pixels wide" in doctor.post(
        f"/clinician/requests/{created['id']}/media/{media['id']}/faces",
        data={**wide, "box-1-x": "3000", "box-1-h": "260", "box-1-y": "100"},
        follow_redirects=True,
    ).get_data(as_text=True)

    # Once the patient opened the link, the boxes are what the patient saw: fixed.
    tablet = app.test_client()
    tablet.get(created["signing_url"][len("http://consent.test") :])
    tablet.get("/tablet/start")
    later = doctor.post(
        f"/clinician/requests/{created['id']}/media/{media['id']}/faces",
        data={"csrf_token": csrf(page), "box-1-remove": "1", "box-1-x": "300"},
    )
    assert later.status_code == 302
    assert len(_faces(app, media["id"])) == 1
    page = doctor.get(f"/clinician/requests/{created['id']}").get_data(as_text=True)
    assert 'name="box-1-x"' not in page


def test_a_face_hidden_grant_reads_as_such_on_every_page_that_shows_the_consent(
    app: Flask,
    clinician: dict[str, Any],  # noqa: F811
) -> None:
    """Walking issue 19 found the clinician's request page, the public page publishers open
    and the patient's withdrawal page all saying plainly "Allowed" (or listing the use) for a
    use the patient granted only with their face hidden."""
    from tests.factories import Flow

    api = Flow(app.test_client(), clinician["key"])
    patient = api.patient()
    media = api.media(patient, astronaut())
    created = api.open_request(
        patient, [media["id"]], [{"purpose": "teaching"}, {"purpose": "survey"}]
    )
    body = {
        "signer": {"role": "patient"},
        "choices": [
            {"purpose": "teaching", "granted": True, "face": "hidden"},
            {"purpose": "survey", "granted": True},
        ],
        "method": "external",
        "evidence": evidence(),
    }
    answer = api.client.post(
        f"/api/v1/requests/{created['id']}/decision", json=body, headers=api.headers
    )
    assert answer.status_code == 201, answer.json
    decision = answer.json
    doctor = _logged_in(app, clinician["email"])
    page = doctor.get(f"/clinician/requests/{created['id']}").get_data(as_text=True)
    assert page.count("Allowed with the face hidden only") == 1  # teaching, not the survey
    # The clinician can take the face-hidden copy to publish: the bytes verify allows.
    assert "Download photo 1 with the face hidden" in page
    copy = doctor.get(f"/clinician/media/{media['id']}/masked")
    assert copy.status_code == 200 and copy.headers["Cache-Control"] == "no-store"
    answer = api.verify(media["sha256"], "teaching")["answer"]
    assert answer["decision"] == "masked_only"
    assert hashlib.sha256(copy.get_data()).hexdigest() == answer["masked_sha256"]
    assert api.verify(answer["masked_sha256"], "teaching")["answer"]["decision"] == "allowed"
    assert app.test_client().get(f"/clinician/media/{media['id']}/masked").status_code in (302, 401)
    public = app.test_client().get(f"/v/{decision['consent_id']}").get_data(as_text=True)
    assert public.count("Allowed with the face hidden only") == 1

    patient_browser = app.test_client()
    code = decision["withdrawal_url"].split("#code=", 1)[1]
    form = patient_browser.get("/withdraw").get_data(as_text=True)
    opened = patient_browser.post("/withdraw", data={"csrf_token": csrf(form), "code": code})
    assert opened.status_code == 302
    shown = patient_browser.get("/withdraw/consent").get_data(as_text=True)
    assert shown.count("only with your face hidden") == 1
