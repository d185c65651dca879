"""Erasing a patient: identity and media gone for good, evidence intact.

After `erase-patient` (or the admin API): the audit passes, verify answers withdrawn for the
patient's media, and no identifying byte is left in the raw database (the SQLite file and its
WAL, or a pg_dump) or in the media store; the wrapped data key is gone too."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from consent.db import db
from consent.patients.models import Patient, PatientKey
from consent.web.context import runtime
from consent.workflows.audit import audit
from tests.factories import Flow, api_key, auth, issue_key, member, photo, scan_png

NAME, BIRTH, RECORD = "Ermengarde Quillfeather", "1937-05-21", "MRN-ERASE-5150"


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


@pytest.fixture
def patient(flow: Flow) -> dict[str, Any]:
    """A patient with a tablet-style consent, a paper consent with a scan, and a withdrawal."""
    files_before = _store_files()
    patient_id = flow.patient(RECORD, name=NAME, birth_date=BIRTH)
    flow.patient()  # a neighbour: the erased rows share their pages with rows that stay
    given = flow.consent(
        photo(11), {"teaching": True, "public_social_network": True}, patient_id=patient_id
    )
    media = flow.media(patient_id, photo(12))
    request_id = flow.request(patient_id, [media["id"]], [{"purpose": "teaching", "channels": []}])
    paper = flow.client.post(
        f"/api/v1/requests/{request_id}/paper",
        data={"scan": (io.BytesIO(scan_png()), "scan.png"), "teaching": "granted"},
        headers=flow.headers,
    )
    assert paper.status_code == 201, paper.json
    flow.client.post(
        f"/api/v1/consents/{given['consent_id']}/withdrawal",
        json={"purposes": ["public_social_network"]},
        headers=flow.headers,
    )
    wrapped = db.session.scalar(
        select(PatientKey.wrapped_key).where(PatientKey.patient_id == patient_id)
    )
    return {
        "id": patient_id,
        "files": _store_files() - files_before,
        "sha256": [given["media"]["sha256"], media["sha256"]],
        "wrapped_key": bytes(wrapped),
    }


def _raw_database(app: Flask) -> bytes:
    url = str(db.engine.url)
    if db.engine.dialect.name == "sqlite":
        path = Path(db.engine.url.database or "")
        return b"".join(
            candidate.read_bytes()
            for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-journal"))
            if candidate.exists()
        )
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is needed to read the PostgreSQL database raw")
    plain = url.replace("postgresql+psycopg://", "postgresql://").replace("***", "")
    return subprocess.run(
        ["pg_dump", "--data-only", "--inserts", plain], capture_output=True, check=True
    ).stdout


def _found(needle: bytes, raw: bytes) -> bool:
    """Whether the bytes are in the raw dump, as themselves or as pg_dump writes a bytea (hex)."""
    return needle in raw or needle.hex().encode() in raw


def _store_files() -> set[Path]:
    return {path for path in runtime().files.root.rglob("*") if path.is_file()}


def _media_store_bytes() -> bytes:
    return b"".join(path.read_bytes() for path in sorted(_store_files()))


def test_erasure_destroys_identity_and_media_and_keeps_the_evidence(
    app: Flask, flow: Flow, runner: FlaskCliRunner, patient: dict[str, Any]
) -> None:
    assert flow.verify(patient["sha256"][0], "teaching")["answer"]["decision"] == "allowed"
    assert flow.verify(patient["sha256"][1], "teaching")["answer"]["decision"] == "allowed"
    # Two photos and their screen copies for the tablet, the scan, the evidence, encrypted.
    assert len(patient["files"]) == 6
    assert _found(patient["wrapped_key"], _raw_database(app))  # so the search below can find it

    result = runner.invoke(args=["erase-patient", patient["id"], "--yes"])
    assert result.exit_code == 0, result.output
    assert "erased" in result.output

    # Evidence: the audit passes with the erasure receipt in the log; verify says withdrawn.
    db.session.expire_all()
    report = audit(db.session, runtime().keyring)
    assert report.ok, report.findings
    for sha in patient["sha256"]:
        answer = flow.verify(sha, "teaching")["answer"]
        assert answer["decision"] == "withdrawn" and answer["consent_id"]
    entry = flow.client.get(f"/api/v1/log/entries/{report.leaves - 1}", headers=flow.headers).json
    assert entry["kind"] == "erasure"
    body = entry["envelope"]["receipt"]
    assert body["type"] == "erasure" and body["subject"] == patient["id"]
    assert sorted(body["media_sha256"]) == sorted(patient["sha256"])

    # Destruction: no key, no sealed identity, no media files, nothing readable anywhere.
    assert db.session.get(PatientKey, patient["id"]) is None
    assert db.session.get_one(Patient, patient["id"]).identity_sealed is None
    assert not any(path.exists() for path in patient["files"])
    raw = _raw_database(app) + _media_store_bytes()
    for secret in (NAME, "Quillfeather", BIRTH, "21/05/1937", RECORD):
        assert not _found(secret.encode(), raw), secret
    assert not _found(patient["wrapped_key"], raw)
    # The clinician-facing doors are closed: 410 for the patient's documents and scans.
    assert (
        flow.client.get(
            f"/api/v1/consents/{entry['envelope']['receipt']['consents'][0]}/receipt.pdf",
            headers=flow.headers,
        ).status_code
        == 410
    )

    again = runner.invoke(args=["erase-patient", patient["id"], "--yes"])
    assert again.exit_code != 0 and "already erased" in again.output


def test_only_an_administrators_key_may_erase_through_the_api(
    app: Flask, flow: Flow, patient: dict[str, Any]
) -> None:
    refused = flow.client.post(f"/api/v1/patients/{patient['id']}/erasure", headers=flow.headers)
    assert refused.status_code == 403
    admin = member(email="admin@hospital.test", display_name="Admin", role="admin")
    key = issue_key(name="dpo", scopes=["consents:write"], days=1, account=admin)
    db.session.commit()
    done = flow.client.post(f"/api/v1/patients/{patient['id']}/erasure", headers=auth(key.secret))
    assert done.status_code == 201, done.json
    assert done.json["receipt"]["receipt"]["type"] == "erasure"
    assert (
        flow.client.post(
            f"/api/v1/patients/{patient['id']}/erasure", headers=auth(key.secret)
        ).status_code
        == 410
    )
    assert (
        flow.client.post("/api/v1/patients/pt_nobody/erasure", headers=auth(key.secret)).status_code
        == 404
    )


def test_an_erasure_without_its_receipt_is_caught_by_the_audit(
    app: Flask, runner: FlaskCliRunner, patient: dict[str, Any]
) -> None:
    from consent.patients.models import PatientErasure

    assert runner.invoke(args=["erase-patient", patient["id"], "--yes"]).exit_code == 0
    db.session.execute(PatientErasure.__table__.delete())
    db.session.commit()
    findings = [str(finding) for finding in audit(db.session, runtime().keyring).findings]
    assert any("without an erasure receipt" in finding for finding in findings)
    assert any("(erasure) has no record" in finding for finding in findings)


def test_a_publishable_copy_outlives_the_patient_only_as_a_hash(
    app: Flask, flow: Flow, runner: FlaskCliRunner
) -> None:
    """After erasure the copy verifies as withdrawn, cannot be made again (410), and nothing it
    was made from (the planted EXIF, XMP, IPTC and comment strings) is left anywhere."""
    from tests.factories import PLANTED, tagged_image

    patient_id = flow.patient("MRN-COPY-77", name=NAME, birth_date=BIRTH)
    given = flow.consent(tagged_image("jpeg"), {"teaching": True}, patient_id=patient_id)
    media_id = given["media"]["id"]
    made = flow.client.post(f"/api/v1/media/{media_id}/publishable", headers=flow.headers)
    assert made.status_code == 200, made.json
    copy_sha = made.headers["ETag"].strip('"')
    assert flow.verify(copy_sha, "teaching")["answer"]["decision"] == "allowed"

    assert runner.invoke(args=["erase-patient", patient_id, "--yes"]).exit_code == 0
    db.session.expire_all()
    answer = flow.verify(copy_sha, "teaching")["answer"]
    assert answer["decision"] == "withdrawn"
    assert answer["match"]["rendition_of"] == given["media"]["sha256"]
    again = flow.client.post(f"/api/v1/media/{media_id}/publishable", headers=flow.headers)
    assert again.status_code == 410
    report = audit(db.session, runtime().keyring)
    assert report.ok, report.findings
    raw = _raw_database(app) + _media_store_bytes()
    for planted in PLANTED.values():
        assert not _found(planted, raw), planted
    for secret in (NAME, BIRTH, "MRN-COPY-77"):
        assert not _found(secret.encode(), raw), secret
