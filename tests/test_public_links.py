"""Every address the service prints on paper, encodes in a QR code or hands out resolves to the
route it names: the links are built from the routes themselves (consent.runtime.PublicLinks), so
a renamed route cannot leave a dead link on a receipt a patient keeps for years."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from werkzeug.exceptions import NotFound

from consent.runtime import PublicLinks
from consent.web.context import runtime
from tests.factories import Flow, api_key, photo
from tests.pdf.readback import pdf_text, qr_codes

PUBLIC = "http://consent.test"
ADDRESS = re.compile(re.escape(PUBLIC) + r"/[^\s\"'<>]*")
USES = [{"purpose": "teaching"}, {"purpose": "public_social_network", "channels": ["linkedin"]}]


def route(app: Flask, url: str) -> tuple[str, dict[str, Any]]:
    """The endpoint a public address opens. Fails when it opens none."""
    assert url.startswith(PUBLIC + "/"), url
    path = url[len(PUBLIC) :].split("#", 1)[0].split("?", 1)[0]
    try:
        endpoint, values = app.url_map.bind("consent.test").match(path, method="GET")
    except NotFound:
        pytest.fail(f"{url} is printed or handed out, but no route answers it")
    return str(endpoint), dict(values)


def addresses(pdf: bytes) -> set[str]:
    """Every public address in a PDF: printed in its text or encoded in its QR codes."""
    printed = {match.rstrip(".,;)") for match in ADDRESS.findall(pdf_text(pdf))}
    encoded = {url for page in qr_codes(pdf) for url in page}
    return printed | encoded


@pytest.fixture
def flow(app: Flask) -> Flow:
    return Flow(app.test_client(), api_key(("verify", "consents:write", "audit")))


def test_every_link_endpoint_is_a_route_of_the_app(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    named = {
        value
        for name, value in vars(PublicLinks).items()
        if name.isupper() and isinstance(value, str)
    }
    assert named and named <= endpoints


def test_every_address_in_the_documents_and_answers_resolves_to_its_route(
    app: Flask, flow: Flow
) -> None:
    found: dict[str, set[str]] = {}

    def note(url: str) -> None:
        endpoint, _ = route(app, url)
        found.setdefault(endpoint, set()).add(url)

    patient = flow.patient()
    media = flow.media(patient, photo(7))
    opened = flow.open_request(patient, [media["id"]], USES)
    note(opened["signing_url"])
    form = flow.client.get(f"/api/v1/requests/{opened['id']}/form.pdf", headers=flow.headers)
    for url in addresses(form.get_data()):
        note(url)

    decision = flow.decide(opened["id"], {"teaching": True, "public_social_network": True})
    note(decision["withdrawal_url"])
    consent_id = decision["consent_id"]
    receipt = flow.client.get(f"/api/v1/consents/{consent_id}/receipt.pdf", headers=flow.headers)
    for url in addresses(receipt.get_data()):
        note(url)

    withdrawn = flow.client.post(
        f"/api/v1/consents/{consent_id}/withdrawal",
        json={"purposes": ["teaching"]},
        headers=flow.headers,
    )
    withdrawal_id = withdrawn.json["withdrawal_id"]
    withdrawal_pdf = flow.client.get(
        f"/api/v1/withdrawals/{withdrawal_id}/withdrawal-receipt.pdf", headers=flow.headers
    )
    for url in addresses(withdrawal_pdf.get_data()):
        note(url)

    fhir = flow.client.get(f"/api/v1/consents/{consent_id}/fhir?version=R5", headers=flow.headers)
    for url in ADDRESS.findall(fhir.get_data(as_text=True)):
        if "/fhir/" not in url:  # FHIR code systems are identifiers, not pages
            note(url.rstrip('",'))
    record = flow.client.get(
        f"/api/v1/consents/{consent_id}/record?format=iso27560", headers=flow.headers
    )
    for url in ADDRESS.findall(record.get_data(as_text=True)):
        note(url.rstrip('",'))

    links = runtime().links
    assert found == {
        PublicLinks.SIGNING: {opened["signing_url"]},
        PublicLinks.PAPER_UPLOAD: {links.paper_upload(opened["id"])},
        PublicLinks.WITHDRAW: found[PublicLinks.WITHDRAW],
        PublicLinks.CONSENT_PAGE: {links.consent_page(consent_id)},
        PublicLinks.RECEIPT_PDF: {links.receipt_pdf(consent_id)},
        PublicLinks.FORMS: {links.forms()},
    }
    # The withdrawal page, with the patient's code in the fragment (on the receipt, in the
    # API's answer) and without (printed beside it, in the ISO record).
    assert decision["withdrawal_url"] in found[PublicLinks.WITHDRAW]
    assert links.withdraw_page() in found[PublicLinks.WITHDRAW]
    # Each page answers at that address: a log-in or a key where one is needed, 410 for the
    # signing link the decision spent; never 404.
    for endpoint, urls in found.items():
        for url in urls:
            status = app.test_client().get(url[len(PUBLIC) :].split("#", 1)[0]).status_code
            assert status in (200, 302, 401, 410), (endpoint, url, status)


def test_every_address_in_an_invitation_email_resolves_to_its_route(
    app: Flask, configure: Any
) -> None:
    from consent.accounts import invitations
    from consent.db import db
    from consent.workflows.invitation_mail import invitation_body
    from tests.factories import care_team, member

    configure["CONSENT_PUBLIC_URL"] = PUBLIC
    admin = member(email="ada.links@hospital.test", display_name="Ada", role="admin")
    invitation, token = invitations.invite(
        db.session,
        email="noa.links@hospital.test",
        display_name="Noa",
        role="clinician",
        team=care_team(),
        created_by=admin.id,
        hours=72,
    )
    for body, endpoint in (
        (invitation_body(runtime(), invitation, token), "invitation.invitation_page"),
        (invitation_body(runtime(), invitation, None), "clinician.login"),
    ):
        urls = {match.rstrip(".,;)") for match in ADDRESS.findall(body)}
        assert urls and {route(app, url)[0] for url in urls} == {endpoint}
