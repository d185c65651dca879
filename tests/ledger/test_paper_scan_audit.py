"""Someone with write access to the database swaps the record of a paper form's scan: the
audit must name the consent, and the scan is never handed out as the one signed for."""

from __future__ import annotations

import hashlib

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import delete, select, update

from consent.consents.models import Consent, PaperScan
from consent.db import db
from consent.web.context import runtime
from consent.workflows.audit import audit
from tests.factories import Flow, api_key, photo, scan_pdf


@pytest.fixture
def paper_consent(client: FlaskClient) -> tuple[Flow, str]:
    flow = Flow(client, api_key())
    patient = flow.patient()
    media = flow.media(patient, photo(21))
    request_id = flow.request(patient, [media["id"]], [{"purpose": "teaching"}])
    response = flow.paper(request_id, {"teaching": "granted"}, scan_pdf())
    assert response.status_code == 201, response.json
    assert audit(db.session, runtime().keyring).ok
    return flow, str(response.json["consent_id"])


def _assert_caught(runner: FlaskCliRunner, record: str, problem: str) -> None:
    report = audit(db.session, runtime().keyring)
    assert any(
        finding.record == record and problem in finding.problem for finding in report.findings
    ), [str(finding) for finding in report.findings]
    result = runner.invoke(args=["audit"])
    assert result.exit_code != 0, result.output
    assert f"MISMATCH {record}: " in result.output


def test_scan_row_with_swapped_sha256_is_caught(
    paper_consent: tuple[Flow, str], runner: FlaskCliRunner
) -> None:
    flow, consent_id = paper_consent
    forged = hashlib.sha256(b"another form, signed by nobody").hexdigest()
    db.session.execute(update(PaperScan).values(sha256=forged))
    db.session.commit()
    _assert_caught(runner, consent_id, "differs from the signed receipt")
    # Nor is the scan handed out as the signed one.
    response = flow.client.get(f"/api/v1/consents/{consent_id}/paper-scan", headers=flow.headers)
    assert response.status_code == 500


def test_deleted_scan_row_is_caught(
    paper_consent: tuple[Flow, str], runner: FlaskCliRunner
) -> None:
    _flow, consent_id = paper_consent
    db.session.execute(delete(PaperScan))
    db.session.commit()
    _assert_caught(runner, consent_id, "paper consent has no scan recorded")


def test_consent_method_edited_away_from_paper_is_caught(
    paper_consent: tuple[Flow, str], runner: FlaskCliRunner
) -> None:
    _flow, consent_id = paper_consent
    db.session.execute(update(Consent).values(method="tablet"))
    db.session.commit()
    _assert_caught(runner, consent_id, "columns differ from the signed receipt")


def test_scan_file_replaced_on_disk_is_never_handed_out(
    paper_consent: tuple[Flow, str],
) -> None:
    flow, consent_id = paper_consent
    scan_id = db.session.scalars(select(PaperScan.id)).one()
    stored = next(p for p in runtime().files.root.rglob(scan_id) if p.is_file())
    raw = bytearray(stored.read_bytes())
    raw[-10] ^= 0x01
    stored.write_bytes(bytes(raw))
    response = flow.client.get(f"/api/v1/consents/{consent_id}/paper-scan", headers=flow.headers)
    assert response.status_code == 500 and response.is_json
