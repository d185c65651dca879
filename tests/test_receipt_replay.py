"""Receipts are byte-identical for the same inputs and clock.

A fixed scenario (patient, media, request, decisions on the tablet, collected elsewhere and
sent through the API with its evidence, and on paper, a patient's own withdrawal, a withdrawal
through the API, a publishable copy, an erasure) is replayed with a fixed signing key, a fixed
clock and predictable identifiers; every log entry
(the signed receipt envelopes, byte for byte) and the checkpoint are compared with the copy in
tests/assets/receipt-replay.json, recorded before the refactoring of issue 15 and again for
receipts of version 2 (issue 16: teams, recorders, evidence), and for version 2 of the forms
(issue 21: the French wording fixes and the glossary's names need a new form version, so the
receipts name form v2 and its text hash), on purpose. Form version 3 (issue 21: the text a
patient reads names only the requested uses, and the receipt's form block says which) was
recorded in a new file, on purpose; the file of form version 2 is replayed too, unchanged, with
version 3 taken out of the catalogue, so that receipts of version 2 forms keep their bytes.

A change that alters what a receipt says on purpose records the file again, with
``CONSENT_TEST_RECORD_REPLAY=1 pytest tests/test_receipt_replay.py``, and says why in its commit.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import delete
from werkzeug.security import generate_password_hash

from consent import clock
from consent.db import db
from consent.forms.models import FormVersion
from tests.conftest import dispose, make_app
from tests.factories import (
    Flow,
    auth,
    comprehension_answers,
    csrf,
    issue_key,
    member,
    photo,
    scan_pdf,
    tablet_answers,
)

GOLDEN = Path(__file__).parent / "assets" / "receipt-replay.json"
# Recorded with form version 2, before version 3 (issue 21); never recorded again.
GOLDEN_FORM_V2 = Path(__file__).parent / "assets" / "receipt-replay-form-v2.json"
SEED = base64.b64encode(bytes(range(32))).decode()
NOW = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


def predictable_uuid4() -> uuid.UUID:
    """uuid4 for new_id, counted per id prefix (``pt``, ``cs``...) so that an identifier does
    not depend on how many identifiers of other kinds were made before it."""
    prefix = str(sys._getframe(1).f_locals.get("prefix", "?"))
    _counts[prefix] += 1
    high = int.from_bytes(prefix.encode().ljust(8, b"\0")[:8], "big")
    return uuid.UUID(int=(high << 64) | _counts[prefix])


_counts: collections.Counter[str] = collections.Counter()


@pytest.fixture
def replay_app(
    app: Flask, instance_dir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    """An app over the emptied test database, signing with a fixed key at a fixed time."""
    _counts.clear()
    monkeypatch.setattr(uuid, "uuid4", predictable_uuid4)
    monkeypatch.setattr(clock, "now", lambda: NOW)
    fixed = make_app(
        instance_dir,
        database_url,
        CONSENT_SIGNING_KEYS=SEED,
        CONSENT_KEY_NAME="consent.test/consent-log",
        WTF_CSRF_ENABLED=True,
    )

    def fresh_globals() -> None:
        for name in list(vars(g)):
            delattr(g, name)

    fixed.before_request_funcs.setdefault(None, []).insert(0, fresh_globals)
    with fixed.app_context():
        yield fixed
    dispose(fixed)


def clinician(app: Flask) -> dict[str, str]:
    account = member(email="dr.house@hospital.test", display_name="Dr House")
    account.password_hash = generate_password_hash(PASSWORD)
    key = issue_key(name="ehr", scopes=["verify", "consents:write"], days=30, account=account)
    admin = member(email="admin@hospital.test", display_name="Admin", role="admin")
    admin_key = issue_key(name="admin", scopes=["consents:write"], days=30, account=admin)
    db.session.commit()
    return {"key": key.secret, "admin_key": admin_key.secret}


def strokes() -> str:
    return json.dumps(
        [
            {
                "penColor": "#000",
                "points": [
                    {
                        "x": 10 + 200 * i / 40,
                        "y": 50 + 20 * ((i % 6) - 3),
                        "pressure": 0.5,
                        "time": 1_700_000_000_000 + 1200 * i / 40,
                    }
                    for i in range(40)
                ],
            }
        ]
    )


def sign_on_tablet(app: Flask, path: str) -> FlaskClient:
    tablet = app.test_client()
    assert tablet.get(path).status_code == 302
    tablet.get("/tablet/start")
    for number in range(1, 6):
        assert tablet.get(f"/tablet/read/{number}").status_code == 200
    check = tablet.get("/tablet/check").get_data(as_text=True)
    answers = comprehension_answers()
    assert (
        tablet.post("/tablet/check", data={"csrf_token": csrf(check), **answers}).status_code == 302
    )
    tablet_answers(tablet, {"teaching": "yes", "public_social_network": "no"})
    who = tablet.get("/tablet/who").get_data(as_text=True)
    assert (
        tablet.post("/tablet/who", data={"csrf_token": csrf(who), "role": "patient"}).status_code
        == 302
    )
    sign = tablet.get("/tablet/sign").get_data(as_text=True)
    signed = tablet.post("/tablet/sign", data={"csrf_token": csrf(sign), "signature": strokes()})
    assert signed.status_code == 302
    return tablet


def confirm_as_clinician(app: Flask, request_id: str) -> None:
    doctor = app.test_client()
    login = doctor.get("/clinician/login").get_data(as_text=True)
    form = {"csrf_token": csrf(login), "email": "dr.house@hospital.test", "password": PASSWORD}
    assert doctor.post("/clinician/login", data=form).status_code == 302
    page = doctor.get(f"/clinician/requests/{request_id}").get_data(as_text=True)
    confirmed = doctor.post(
        f"/clinician/requests/{request_id}/confirm", data={"csrf_token": csrf(page)}
    )
    assert confirmed.status_code == 302


def withdraw_as_patient(app: Flask, code: str) -> None:
    patient = app.test_client()
    page = patient.get("/withdraw").get_data(as_text=True)
    assert (
        patient.post("/withdraw", data={"csrf_token": csrf(page), "code": code}).status_code == 302
    )
    page = patient.get("/withdraw/consent").get_data(as_text=True)
    chosen = patient.post(
        "/withdraw/consent", data={"csrf_token": csrf(page), "purpose": "teaching", "scope": "some"}
    )
    assert chosen.status_code == 302
    page = patient.get("/withdraw/confirm").get_data(as_text=True)
    assert patient.post("/withdraw/confirm", data={"csrf_token": csrf(page)}).status_code == 302


def play(app: Flask) -> dict[str, Any]:
    keys = clinician(app)
    api = Flow(app.test_client(), keys["key"])
    uses = [
        {"purpose": "teaching"},
        {"purpose": "public_social_network", "channels": ["instagram"]},
    ]
    patient = api.patient("MRN-REPLAY-1")
    first = api.media(patient, photo(11))
    second = api.media(patient, photo(12))

    # On the tablet, confirmed by the clinician.
    opened = api.open_request(patient, [first["id"]], uses, expires_at="2031-01-01T00:00:00Z")
    path = opened["signing_url"].removeprefix("http://consent.test")
    sign_on_tablet(app, path)
    confirm_as_clinician(app, opened["id"])

    # Collected by another system (its evidence sent through the API), then withdrawn by the
    # patient with the code.
    by_api = api.request(
        patient, [first["id"], second["id"]], uses, expires_at="2030-06-30T00:00:00Z"
    )
    decided = api.decide(by_api, {"teaching": True, "public_social_network": True})
    withdraw_as_patient(app, decided["withdrawal_url"].split("#code=", 1)[1])

    # On paper, then withdrawn through the API.
    on_paper = api.request(patient, [second["id"]], uses, expires_at="2029-03-01T00:00:00Z")
    response = api.paper(
        on_paper,
        {"teaching": "granted", "public_social_network": "refused"},
        scan_pdf(),
        signer_role="patient",
        entered_by="dr.house@hospital.test",
    )
    assert response.status_code == 201, response.json
    withdrawn = api.client.post(
        f"/api/v1/consents/{response.json['consent_id']}/withdrawal",
        json={"purposes": ["teaching"]},
        headers=api.headers,
    )
    assert withdrawn.status_code == 201, withdrawn.json

    # A publishable copy, then the patient's erasure.
    copy = api.client.post(f"/api/v1/media/{first['id']}/publishable", headers=api.headers)
    assert copy.status_code == 200
    erased = api.client.post(f"/api/v1/patients/{patient}/erasure", headers=auth(keys["admin_key"]))
    assert erased.status_code == 201, erased.json

    entries = []
    index = 0
    while True:
        entry = api.client.get(f"/api/v1/log/entries/{index}", headers=api.headers)
        if entry.status_code == 404:
            break
        assert entry.status_code == 200
        entries.append(entry.get_data(as_text=True))
        index += 1
    checkpoint = api.client.get("/api/v1/log/checkpoint", headers=api.headers)
    assert checkpoint.status_code == 200
    return {"entries": entries, "checkpoint": checkpoint.get_data(as_text=True)}


@pytest.mark.parametrize("form_version", [3, 2])
def test_receipts_replay_byte_for_byte(replay_app: Flask, form_version: int) -> None:
    """Form version 3 (issue 21: the text names only the requested uses) is what new requests
    use; with version 3 taken out of the catalogue, requests use version 2 again and its
    receipts keep the exact bytes recorded before version 3 existed."""
    golden = GOLDEN if form_version == 3 else GOLDEN_FORM_V2
    if form_version == 2:
        db.session.execute(delete(FormVersion).where(FormVersion.version > 2))
        db.session.commit()
    played = play(replay_app)
    # consent x3, withdrawal x2, rendition, erasure (with the withdrawals it issues)
    assert len(played["entries"]) >= 7
    if os.environ.get("CONSENT_TEST_RECORD_REPLAY") == "1" and golden is GOLDEN:
        golden.write_text(json.dumps(played, indent=1) + "\n")
    recorded = json.loads(golden.read_text())
    assert len(played["entries"]) == len(recorded["entries"])
    for index, (now, then) in enumerate(zip(played["entries"], recorded["entries"], strict=True)):
        assert now == then, f"log entry {index} differs from the recorded receipt"
    assert played["checkpoint"] == recorded["checkpoint"]
