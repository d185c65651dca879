"""POST /api/v1/media/<id>/publishable: the image without metadata, recorded once as a rendition
that verify answers for exactly as for its original, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select, update

from consent import clock
from consent.cli.verify_tool import verify_offline
from consent.db import db
from consent.ledger.checkpoint import parse_vkey
from consent.media.models import MediaRendition
from consent.web.context import runtime
from consent.workflows.audit import audit
from tests.factories import PLANTED, Flow, api_key, auth, tagged_image
from tests.interop.test_api_schemas import RECEIPT, valid

LINKEDIN = {"public_social_network": ["linkedin"]}


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


def _publishable(flow: Flow, media_id: str, headers: dict[str, str] | None = None) -> Any:
    return flow.client.post(
        f"/api/v1/media/{media_id}/publishable",
        headers=flow.headers if headers is None else headers,
    )


def _consented(flow: Flow, data: bytes) -> dict[str, Any]:
    return flow.consent(data, {"public_social_network": True, "teaching": False}, channels=LINKEDIN)


@pytest.mark.parametrize(("kind", "media_type"), [("jpeg", "image/jpeg"), ("png", "image/png")])
def test_the_copy_has_no_metadata_and_the_same_pixels(
    flow: Flow, kind: str, media_type: str
) -> None:
    original = tagged_image(kind)
    given = _consented(flow, original)
    response = _publishable(flow, given["media"]["id"])
    assert response.status_code == 200, response.json
    copy = response.get_data()
    assert response.mimetype == media_type
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["ETag"] == f'"{hashlib.sha256(copy).hexdigest()}"'
    assert response.headers["X-Rendition-Of"] == given["media"]["sha256"]
    for planted in PLANTED.values():
        assert planted not in copy
    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(copy)) as after:
        assert before.tobytes() == after.tobytes()
        assert dict(after.getexif()) == {}


def test_verify_answers_for_the_copy_as_for_the_original(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = _consented(flow, tagged_image("jpeg"))
    copy = _publishable(flow, given["media"]["id"]).get_data()
    sha = hashlib.sha256(copy).hexdigest()
    moment = clock.now()
    monkeypatch.setattr(clock, "now", lambda: moment)  # one checked_at for every answer
    original = flow.verify(given["media"]["sha256"], "public_social_network", "linkedin")
    rendition = flow.verify(sha, "public_social_network", "linkedin")
    assert original["answer"]["decision"] == rendition["answer"]["decision"] == "allowed"
    assert rendition["answer"]["media_sha256"] == sha
    assert rendition["answer"]["match"] == {
        "kind": "exact",
        "rendition_of": given["media"]["sha256"],
        "rendition": "metadata-stripped",
    }
    differ = {"media_sha256", "match"}
    assert {k: v for k, v in rendition["answer"].items() if k not in differ} == {
        k: v for k, v in original["answer"].items() if k not in differ
    }
    refused = flow.verify(sha, "teaching")["answer"]
    assert refused["decision"] == "not_covered"
    # The fast path (a plain query) and Flask's route (a percent-escaped one, which the fast
    # path leaves to Flask) give the same bytes.
    fast = flow.client.get(
        f"/api/v1/verify?sha256={sha}&purpose=public_social_network&channel=linkedin",
        headers=flow.headers,
    )
    routed = flow.client.get(
        f"/api/v1/verify?sha256={sha}&purpose=public%5Fsocial%5Fnetwork&channel=linkedin",
        headers=flow.headers,
    )
    assert fast.status_code == routed.status_code == 200
    assert fast.get_data() == routed.get_data()


def test_withdrawing_the_original_withdraws_the_copy(flow: Flow) -> None:
    given = _consented(flow, tagged_image("png"))
    sha = hashlib.sha256(_publishable(flow, given["media"]["id"]).get_data()).hexdigest()
    assert flow.verify(sha, "public_social_network", "linkedin")["answer"]["decision"] == "allowed"
    withdrawn = flow.client.post(
        f"/api/v1/consents/{given['consent_id']}/withdrawal",
        json={"purposes": ["public_social_network"]},
        headers=flow.headers,
    )
    assert withdrawn.status_code == 201, withdrawn.json
    answer = flow.verify(sha, "public_social_network", "linkedin")["answer"]
    assert answer["decision"] == "withdrawn" and answer["match"]["rendition_of"]


def test_making_the_copy_twice_gives_the_same_bytes_and_one_logged_rendition(flow: Flow) -> None:
    given = _consented(flow, tagged_image("jpeg", orientation=6))
    first = _publishable(flow, given["media"]["id"])
    second = _publishable(flow, given["media"]["id"])
    assert first.status_code == second.status_code == 200
    assert first.get_data() == second.get_data()
    assert db.session.scalar(select(func.count()).select_from(MediaRendition)) == 1
    rendition = db.session.scalars(select(MediaRendition)).one()
    assert rendition.sha256 == hashlib.sha256(first.get_data()).hexdigest()
    assert rendition.made_by.startswith("api-key:") and rendition.phash
    report = audit(db.session, runtime().keyring)
    assert report.ok, report.findings
    assert report.renditions == 1 and report.leaves == 2  # the consent and the rendition
    entry = flow.client.get(f"/api/v1/log/entries/{rendition.log_index}", headers=flow.headers)
    body = entry.json["envelope"]["receipt"]
    assert entry.json["kind"] == "rendition"
    assert body["sha256"] == rendition.sha256 and body["media_sha256"] == given["media"]["sha256"]


def test_a_rendition_row_forged_in_the_database_never_verifies(flow: Flow) -> None:
    """Pointing a rendition at another file's hash, or at another original, fails closed."""
    given = _consented(flow, tagged_image("jpeg"))
    _publishable(flow, given["media"]["id"])
    forged = "ab" * 32
    db.session.execute(update(MediaRendition).values(sha256=forged))
    db.session.commit()
    response = flow.client.get(
        f"/api/v1/verify?sha256={forged}&purpose=public_social_network&channel=linkedin",
        headers=flow.headers,
    )
    assert response.status_code == 500
    assert "allowed" not in response.get_data(as_text=True)
    findings = audit(db.session, runtime().keyring).findings
    assert any("columns differ from the signed receipt" in str(f) for f in findings)


def test_only_a_clinicians_key_may_make_a_copy(flow: Flow) -> None:
    given = _consented(flow, tagged_image("jpeg"))
    assert _publishable(flow, given["media"]["id"], headers={}).status_code == 401
    verify_only = auth(api_key(("verify",)))
    assert _publishable(flow, given["media"]["id"], headers=verify_only).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(MediaRendition)) == 0


def test_a_video_or_an_unknown_item_is_refused(flow: Flow) -> None:
    patient = flow.patient()
    video = flow.media(patient, b"\x00\x00\x00\x18ftypmp42" + bytes(4000), name="clip.mp4")
    response = _publishable(flow, video["id"])
    assert response.status_code == 422
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert _publishable(flow, "md_" + "0" * 32).status_code == 404
    assert _publishable(flow, "x" * 41).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(MediaRendition)) == 0


def test_the_copys_receipt_and_proof_check_offline(flow: Flow) -> None:
    """An auditor proves, away from the hospital, that the service made this copy of that
    original: the receipt binds both hashes and is in the signed log (consent-verify)."""
    given = _consented(flow, tagged_image("jpeg"))
    media_id = given["media"]["id"]
    auditor = auth(api_key(("audit",)))
    for path in ("receipt", "proof"):
        missing = flow.client.get(f"/api/v1/media/{media_id}/publishable/{path}", headers=auditor)
        assert missing.status_code == 404 and "No publishable copy" in missing.json["message"]
    copy = _publishable(flow, media_id).get_data()
    envelope = flow.client.get(f"/api/v1/media/{media_id}/publishable/receipt", headers=auditor)
    proof = flow.client.get(f"/api/v1/media/{media_id}/publishable/proof", headers=auditor)
    assert envelope.status_code == 200 and proof.status_code == 200
    assert proof.mimetype == "text/plain"
    valid(RECEIPT, envelope.json)  # the published receipt schema
    body = envelope.json["receipt"]
    assert body["type"] == "rendition"
    assert body["sha256"] == hashlib.sha256(copy).hexdigest()
    assert body["media_sha256"] == given["media"]["sha256"]
    keys = flow.client.get("/.well-known/consent-keys").json["keys"]
    summary = verify_offline(
        envelope_text=envelope.get_data(as_text=True),
        bundle_text=proof.get_data(as_text=True),
        keys=[parse_vkey(key["vkey"]) for key in keys],
    )
    assert summary.startswith(f"OK: rendition receipt {body['receipt_id']}")
    # A publisher's key may not read records.
    publisher = auth(api_key(("verify",)))
    refused = flow.client.get(f"/api/v1/media/{media_id}/publishable/receipt", headers=publisher)
    assert refused.status_code == 403
