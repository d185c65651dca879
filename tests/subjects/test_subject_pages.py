"""The clinician's pages for several people in one photo (issue 19): naming the others seen in
the photos opens one request per person, shown on the request page; a photo already stored asks
who it shows, and each of the three answers does what it says."""

from __future__ import annotations

import io
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from consent.consents.models import ConsentRequest
from consent.db import db
from consent.media.models import MediaItem, MediaSubject
from tests.factories import Flow, csrf, photo
from tests.pages.test_worklist import _page, doctor

__all__ = ["doctor"]  # fixture


def _form(page: Any, **extra: Any) -> dict[str, Any]:
    return {
        "csrf_token": csrf(page),
        "purposes": "teaching",
        "form": "media-publication:en",
        "expires": "2030-01-01",
        "then": "page",
        **extra,
    }


def _requests() -> int:
    return int(db.session.scalar(select(func.count()).select_from(ConsentRequest)) or 0)


def test_other_people_named_get_their_own_request(doctor: tuple[FlaskClient, Flow]) -> None:
    client, flow = doctor
    a = flow.patient(name="Jeanne Martin")
    flow.patient("MRN-TWIN-2", name="Paul Martin")
    url = f"/clinician/patients/{a}/requests/new"
    page = _page(client, url)
    unknown = client.post(
        url,
        data={**_form(page, others="MRN-NOBODY"), "media": (io.BytesIO(photo(1920)), "a.jpg")},
        content_type="multipart/form-data",
    )
    assert unknown.status_code == 422
    assert "No patient of the team has the record number MRN-NOBODY" in unknown.get_data(
        as_text=True
    )
    sent = client.post(
        url,
        data={**_form(page, others="MRN-TWIN-2"), "media": (io.BytesIO(photo(1920)), "a.jpg")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)
    requests = db.session.scalars(select(ConsentRequest)).all()
    assert len(requests) == 2 and len({request.group_id for request in requests}) == 1
    mine = next(request for request in requests if request.patient_id == a)
    shown = client.get(f"/clinician/requests/{mine.id}").get_data(as_text=True)
    assert "Other people in these photos" in shown and "Paul Martin" in shown


def test_a_photo_already_stored_asks_who_it_shows(doctor: tuple[FlaskClient, Flow]) -> None:
    client, flow = doctor
    a, b = flow.patient(name="Jeanne Martin"), flow.patient(name="Paul Martin")
    stored = flow.media(a, photo(1921))
    url = f"/clinician/patients/{b}/requests/new"
    page = _page(client, url)
    asked = client.post(
        url,
        data={**_form(page), "media": (io.BytesIO(photo(1921)), "a.jpg")},
        content_type="multipart/form-data",
    )
    html = asked.get_data(as_text=True)
    assert asked.status_code == 422
    assert "This photo is already stored" in html and "Jeanne Martin" in html
    for words in ("It is the same person", "Another person in the same picture", "A mistake"):
        assert words in html
    before = (_requests(), db.session.scalar(select(func.count()).select_from(MediaItem)))

    # A mistake: nothing made (no other file chosen).
    cancelled = client.post(
        url, data=_form(page, duplicate_of=stored["id"], duplicate_choice="cancel")
    )
    assert cancelled.status_code == 422
    # The same person: refused, the stored photo is Jeanne's, not Paul's.
    same = client.post(url, data=_form(page, duplicate_of=stored["id"], duplicate_choice="reuse"))
    assert same.status_code == 422 and "of another patient" in same.get_data(as_text=True)
    assert (_requests(), db.session.scalar(select(func.count()).select_from(MediaItem))) == before

    # Another person in the same picture: Paul is added, and both are asked.
    added = client.post(
        url, data=_form(page, duplicate_of=stored["id"], duplicate_choice="add_subject")
    )
    assert added.status_code == 302, added.get_data(as_text=True)
    subjects = db.session.scalars(
        select(MediaSubject.patient_id).where(MediaSubject.media_id == stored["id"])
    ).all()
    assert sorted(subjects) == sorted([a, b])
    assert _requests() == before[0] + 2

    # Jeanne's own new request with her stored photo: the same person, reused.
    url_a = f"/clinician/patients/{a}/requests/new"
    page_a = _page(client, url_a)
    reused = client.post(
        url_a, data=_form(page_a, duplicate_of=stored["id"], duplicate_choice="reuse")
    )
    assert reused.status_code == 302, reused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(MediaItem)) == before[1]
