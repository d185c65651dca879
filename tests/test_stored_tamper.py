"""Someone with database access edits stored evidence: the service must notice and never
answer ``allowed`` on altered records (invariant 4)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from consent.consents.models import Consent, ConsentUse, Withdrawal
from consent.db import db
from tests.factories import Flow, api_key, photo


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


def _flip(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


def test_flipped_byte_in_stored_receipt_is_never_allowed(flow: Flow) -> None:
    given = flow.consent(photo(1), {"teaching": True})
    consent = db.session.get_one(Consent, given["consent_id"])
    db.session.execute(
        update(Consent).where(Consent.id == consent.id).values(receipt=_flip(consent.receipt, 20))
    )
    db.session.commit()
    response = flow.client.get(
        "/api/v1/verify",
        query_string={"sha256": given["media"]["sha256"], "purpose": "teaching"},
        headers=flow.headers,
    )
    assert response.status_code == 500
    assert "does not verify" in response.json["message"]
    receipt = flow.client.get(f"/api/v1/consents/{consent.id}/receipt", headers=flow.headers)
    assert receipt.status_code == 500


def test_refusal_edited_into_grant_in_table_does_not_allow(flow: Flow) -> None:
    # The columns beside the receipt are for listing; the decision comes from the signed receipt.
    given = flow.consent(photo(2), {"teaching": False})
    db.session.execute(update(ConsentUse).values(granted=True))
    db.session.commit()
    answer = flow.verify(given["media"]["sha256"], "teaching")
    assert answer["answer"]["decision"] == "not_covered"


def test_withdrawal_receipt_deleted_by_edit_is_detected(flow: Flow) -> None:
    given = flow.consent(photo(3), {"teaching": True})
    flow.client.post(
        f"/api/v1/consents/{given['consent_id']}/withdrawal", json={}, headers=flow.headers
    )
    withdrawal = db.session.query(Withdrawal).one()
    db.session.execute(
        update(Withdrawal)
        .where(Withdrawal.id == withdrawal.id)
        .values(receipt=withdrawal.receipt.replace(b"teaching", b"survey__"))
    )
    db.session.commit()
    response = flow.client.get(
        "/api/v1/verify",
        query_string={"sha256": given["media"]["sha256"], "purpose": "teaching"},
        headers=flow.headers,
    )
    assert response.status_code == 500  # never silently "allowed" again
