"""The tablet link is made by a POST and shown once on the request's page after a redirect:
reloading the page never sends the form again (a second request, a second upload), and the
link is not shown a second time."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient
from sqlalchemy import func, select

from consent.consents.models import ConsentRequest, SigningLink
from consent.db import db
from tests.factories import Flow, csrf, photo
from tests.pages.test_worklist import _page, doctor

__all__ = ["doctor"]  # fixture

LINK = re.compile(r"/tablet/s/[A-Za-z0-9_-]{20,}")


def test_a_new_request_with_a_tablet_link_redirects_and_shows_the_link_once(
    doctor: tuple[FlaskClient, Flow],
) -> None:
    client, flow = doctor
    patient = flow.patient(name="Jeanne Martin")
    url = f"/clinician/patients/{patient}/requests/new"
    sent = client.post(
        url,
        data={
            "csrf_token": csrf(_page(client, url)),
            "purposes": ["teaching", "professional_network"],
            "form": "media-publication:en",
            "expires": "2030-01-01",
            "then": "tablet",
            "media": (io.BytesIO(photo(41)), "a.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code in (302, 303)
    request_id = db.session.scalars(select(ConsentRequest.id)).one()
    assert sent.headers["Location"].endswith(f"/clinician/requests/{request_id}")
    first = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert len(set(LINK.findall(first))) == 1
    # Reloading the page shows the request without the link (it was shown once).
    again = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert LINK.search(again) is None
    assert db.session.scalar(select(func.count()).select_from(ConsentRequest)) == 1


def test_a_new_tablet_link_is_shown_once_after_a_redirect(
    doctor: tuple[FlaskClient, Flow],
) -> None:
    client, flow = doctor
    request_id = _request(flow, 42)
    page = f"/clinician/requests/{request_id}"
    links = (
        select(func.count()).select_from(SigningLink).where(SigningLink.request_id == request_id)
    )
    before = db.session.scalar(links)
    made = client.post(f"{page}/link", data={"csrf_token": csrf(_page(client, page))})
    assert made.status_code in (302, 303) and made.headers["Location"].endswith(page)
    # Another request's page never shows this link, nor spends it.
    other = _request(flow, 43)
    assert LINK.search(client.get(f"/clinician/requests/{other}").get_data(as_text=True)) is None
    shown = client.get(page).get_data(as_text=True)
    assert len(set(LINK.findall(shown))) == 1
    assert LINK.search(client.get(page).get_data(as_text=True)) is None
    assert db.session.scalar(links) == before + 1


def _request(flow: Flow, seed: int) -> str:
    patient = flow.patient()
    media = flow.media(patient, photo(seed))
    return flow.request(patient, [media["id"]], [{"purpose": "teaching"}])
