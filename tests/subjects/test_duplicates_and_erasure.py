"""The same photo twice (issue 19): 409 naming the team's stored item, then each of the three
answers; another team's match refused without a word on it. Erasing one subject of a photo
keeps the bytes and the receipts the other subject relies on."""

from __future__ import annotations

import hashlib
import io

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from consent.crypto.receipts import verify_envelope
from consent.db import db
from consent.errors import IntegrityFailure
from consent.media.models import MediaItem, MediaSubject
from consent.media.screen import screen_id
from consent.media.subjects import media_key
from consent.patients.service import data_key
from consent.web.context import runtime
from consent.workflows.audit import audit
from tests.factories import Flow, api_key, photo


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


def _count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(MediaItem)) or 0)


@pytest.mark.parametrize("reencode", [False, True], ids=["exact", "perceptual"])
def test_a_file_the_team_holds_gets_409_and_each_answer_works(flow: Flow, reencode: bool) -> None:
    a, b = flow.patient(), flow.patient()
    stored = flow.media(a, photo(1910))
    again = photo(1910, quality=70) if reencode else photo(1910)
    before = _count()

    # No answer: nothing stored, the stored item named.
    refused = flow.media(b, again, status=409)
    assert refused["errors"]["duplicate"]["media_id"] == stored["id"]
    assert refused["errors"]["duplicate"]["match"] == ("perceptual" if reencode else "exact")
    assert _count() == before

    # The same person: the stored item. Not for another patient, though.
    reused = flow.media(a, again, resolution="reuse")
    assert reused["id"] == stored["id"] and reused["subjects"] == [a]
    wrong = flow.media(b, again, resolution="reuse", status=409)
    assert "resolution" in wrong["errors"]

    # Another person in the same picture: one more subject of the stored item.
    added = flow.media(b, again, resolution="add_subject")
    assert added["id"] == stored["id"] and added["subjects"] == [a, b]
    assert _count() == before
    # B's own request for it is accepted, and A's now asks B too.
    assert flow.open_request(b, [stored["id"]], [{"purpose": "teaching", "channels": []}])


def test_a_file_of_another_team_is_refused_without_naming_it(flow: Flow) -> None:
    stored = flow.media(flow.patient(), photo(1911))
    other = Flow(flow.client, api_key(team="oncology"))
    for resolution in (None, "reuse", "add_subject"):
        refused = other.media(other.patient(), photo(1911), resolution=resolution, status=409)
        assert refused["errors"] == {}
        assert stored["id"] not in str(refused) and stored["sha256"] not in str(refused)


def _bytes(item_id: str) -> bytes:
    item = db.session.get_one(MediaItem, item_id)
    key = media_key(db.session, runtime().vault, item)
    return b"".join(runtime().files.read(media_id=item_id, data_key=key))


def test_erasing_one_subject_keeps_the_other_subjects_evidence(
    flow: Flow, runner: FlaskCliRunner
) -> None:
    data = photo(1912)
    a, b = flow.patient(), flow.patient()
    media = flow.media(a, data)
    flow.media(b, data, resolution="add_subject")
    opened = flow.open_request(a, [media["id"]], [{"purpose": "teaching", "channels": []}])
    given_a = flow.decide(opened["id"], {"teaching": True})
    given_b = flow.decide(opened["group"][0]["id"], {"teaching": True})
    assert flow.verify(media["sha256"], "teaching")["answer"]["decision"] == "allowed"

    erased = runner.invoke(args=["erase-patient", a, "--yes"])
    assert erased.exit_code == 0, erased.output
    db.session.expire_all()

    # A's consent is withdrawn: the photo of A is no longer allowed, though B still agrees.
    answer = flow.verify(media["sha256"], "teaching")["answer"]
    assert answer["decision"] == "withdrawn" and answer["consent_id"] == given_a["consent_id"]
    # The bytes B's receipt binds are still there, readable with B's copy of the key.
    assert hashlib.sha256(_bytes(media["id"])).hexdigest() == media["sha256"]
    assert db.session.get_one(MediaItem, media["id"]).bytes_erased_at is None
    shown = flow.client.get(
        f"/api/v1/consents/{given_b['consent_id']}/receipt", headers=flow.headers
    )
    assert shown.status_code == 200
    checked = verify_envelope(envelope=shown.json, body_key="receipt", keys=runtime().keyring)
    assert checked.body["media"][0]["sha256"] == media["sha256"]
    report = audit(db.session, runtime().keyring)
    assert report.ok, report.findings

    # The last subject's erasure takes the bytes with it.
    erased = runner.invoke(args=["erase-patient", b, "--yes"])
    assert erased.exit_code == 0, erased.output
    db.session.expire_all()
    assert db.session.get_one(MediaItem, media["id"]).bytes_erased_at is not None
    assert not runtime().files.holds(media["id"])
    report = audit(db.session, runtime().keyring)
    assert report.ok, report.findings


def test_an_item_stored_before_subjects_gets_its_own_key_when_a_second_person_is_added(
    flow: Flow, runner: FlaskCliRunner
) -> None:
    """Migration 0021 leaves old items under their patient's own key; that key also opens the
    patient's identity, so a second subject never gets a copy of it: the bytes move under a
    key of their own first, and erasing the first patient leaves them to the second."""
    data = photo(1913)
    a, b = flow.patient(), flow.patient()
    media = flow.media(a, data)
    rt = runtime()
    # As 0021 leaves an item stored before it: bytes under A's key, no sealed copy.
    row = db.session.get_one(MediaSubject, (media["id"], a))
    row.key_sealed = None
    rt.files.put(
        media_id=media["id"], data_key=data_key(db.session, rt.vault, a), source=io.BytesIO(data)
    )
    rt.files.delete(screen_id(media["id"]))
    db.session.commit()
    assert _bytes(media["id"]) == data

    added = flow.client.post(
        f"/api/v1/media/{media['id']}/subjects", json={"patient_id": b}, headers=flow.headers
    )
    assert added.status_code == 201, added.json
    db.session.expire_all()
    assert db.session.get_one(MediaSubject, (media["id"], a)).key_sealed is not None
    with pytest.raises(IntegrityFailure):  # no longer under A's own key
        b"".join(rt.files.read(media_id=media["id"], data_key=data_key(db.session, rt.vault, a)))
    assert _bytes(media["id"]) == data
    assert not any(path.name.endswith(".previous") for path in rt.files.root.rglob("*"))

    assert runner.invoke(args=["erase-patient", a, "--yes"]).exit_code == 0
    db.session.expire_all()
    assert _bytes(media["id"]) == data  # B's copy of the key opens it
