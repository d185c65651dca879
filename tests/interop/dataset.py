"""A realistic data set built through the service's own code, for the schema and backup tests:
patients with consents that grant and refuse, a partial withdrawal, a consent signed on the
tablet with a drawn signature, one by a legal representative that expires, a paper consent with
its scan, an erased patient, a media item without consent, and a webhook endpoint that hears
every event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.factories import (
    Flow,
    admin_key,
    auth,
    in_days,
    photo,
    scan_png,
    tablet_consent,
    tagged_image,
)
from tests.webhooks.conftest import Clock, register


@dataclass
class Dataset:
    media: dict[str, str] = field(default_factory=dict)  # name -> sha256
    consents: dict[str, str] = field(default_factory=dict)  # name -> consent id
    patients: dict[str, str] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)  # API answers, as returned
    rendition: str = ""  # the SHA-256 of the publishable copy of the paper consent's photo


def build(flow: Flow, webhook_key: str, clock: Clock) -> Dataset:
    """Everything above; ``clock`` is moved 11 days on, so that one consent has expired and
    `expire` has recorded it. ``webhook_key`` needs the webhooks:manage scope."""
    data = Dataset()
    data.answers["endpoint"] = register(
        flow.client,
        webhook_key,
        "http://127.0.0.1:9/hooks",
        ["consent.created", "consent.withdrawn", "consent.expired"],
    )
    # An adult: three uses, one refused, one later withdrawn.
    adult = data.patients["adult"] = flow.patient()
    given = flow.consent(
        photo(501),
        {"teaching": True, "public_social_network": True, "survey": False},
        channels={"public_social_network": ["linkedin"]},
        patient_id=adult,
    )
    data.answers["decision"] = given
    data.media["adult"] = given["media"]["sha256"]
    data.consents["adult"] = given["consent_id"]
    withdrawal = flow.client.post(
        f"/api/v1/consents/{given['consent_id']}/withdrawal",
        json={"purposes": ["public_social_network"]},
        headers=flow.headers,
    )
    assert withdrawal.status_code == 201, withdrawal.json
    data.answers["withdrawal"] = withdrawal.json
    # The same adult signs on the tablet (drawn signature, confirmed by the clinician).
    media = flow.media(adult, photo(502))
    request_id = flow.request(
        adult, [media["id"]], [{"purpose": "care_record"}, {"purpose": "journal_publication"}]
    )
    tablet = tablet_consent(request_id, {"care_record": True, "journal_publication": True})
    data.media["tablet"] = media["sha256"]
    data.consents["tablet"] = tablet.id
    # A minor's parent consents, for ten days only.
    minor = data.patients["minor"] = flow.patient(birth_date="2015-06-01")
    media = flow.media(minor, photo(503))
    request_id = flow.request(
        minor,
        [media["id"]],
        [{"purpose": "teaching"}],
        form="media-publication-representative",
        expires_at=in_days(10),
    )
    signer = {"role": "legal_representative", "name": "Ann Parent", "relationship": "parent"}
    data.consents["minor"] = flow.decide(request_id, {"teaching": True}, signer=signer)[
        "consent_id"
    ]
    data.media["minor"] = media["sha256"]
    # Paper: the form signed by hand, and its scan.
    paper_patient = data.patients["paper"] = flow.patient()
    # A photo carrying EXIF (with GPS), XMP and a comment: its publishable copy differs.
    media = flow.media(paper_patient, tagged_image(seed=504))
    request_id = flow.request(
        paper_patient,
        [media["id"]],
        [{"purpose": "teaching"}, {"purpose": "professional_network", "channels": ["doximity"]}],
    )
    paper = flow.paper(
        request_id, {"teaching": "granted", "professional_network": "refused"}, scan_png(), "s.png"
    )
    assert paper.status_code == 201, paper.json
    data.answers["paper"] = paper.json
    data.consents["paper"] = paper.json["consent_id"]
    data.media["paper"] = media["sha256"]
    # A publishable copy of it: a rendition receipt in the log.
    copy = flow.client.post(f"/api/v1/media/{media['id']}/publishable", headers=flow.headers)
    assert copy.status_code == 200, copy.json
    data.rendition = copy.headers["ETag"].strip('"')
    assert data.rendition != media["sha256"]
    # Erased: their consent stays verifiable, withdrawn by the erasure.
    erased = data.patients["erased"] = flow.patient()
    gone = flow.consent(photo(505), {"teaching": True, "survey": True}, patient_id=erased)
    data.consents["erased"] = gone["consent_id"]
    data.media["erased"] = gone["media"]["sha256"]
    erasure = flow.client.post(f"/api/v1/patients/{erased}/erasure", headers=auth(admin_key()))
    assert erasure.status_code == 201, erasure.json
    data.answers["erasure"] = erasure.json
    # A photo uploaded but never consented to.
    loose = flow.media(flow.patient(), photo(506))
    data.media["loose"] = loose["sha256"]
    clock.advance(days=11)
    from consent.cli.expiry import expire_due

    assert [row.consent_id for row in expire_due()] == [data.consents["minor"]]
    return data
