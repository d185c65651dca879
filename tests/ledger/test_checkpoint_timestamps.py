"""Trusted timestamps of checkpoints, from a real RFC 3161 authority (`openssl ts`, tests/tsa):
each new checkpoint is timestamped after its consent's commit; the token is checked by the
service, by consent-verify and by `openssl ts -verify`; an authority that is down never blocks
a consent, and the delay shows in /metrics and in `flask timestamp-checkpoints --status`."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from consent.cli.verify_tool import main as consent_verify
from consent.crypto.timestamps import decode_proof_extra, verify_timestamp
from consent.db import db
from consent.errors import VerificationError
from consent.ledger.checkpoint import parse_proof_bundle
from consent.ledger.models import CheckpointTimestamp
from consent.records.timestamps import timestamp_status
from consent.web.context import runtime
from consent.workflows.timestamps import timestamp_due
from tests.factories import Flow, auth, issue_key, member
from tests.pdf.readback import attachments
from tests.pdf.test_documents import decided, receipt_pdf


def stamp_all() -> list[int]:
    return timestamp_due(db.session, runtime()).stamped


def metric(client: Any, name: str, key: str) -> float:
    text = client.get("/metrics", headers=auth(key)).get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    raise AssertionError(f"{name} not in /metrics")


@pytest.fixture
def flow(app: Flask) -> Flow:
    account = member(email="dr.tsa@hospital.test", display_name="Dr Tsa", role="clinician")
    key = issue_key(name="ehr", scopes=["verify", "consents:write"], days=30, account=account)
    db.session.commit()
    return Flow(app.test_client(), key.secret)


@pytest.fixture
def admin_key(app: Flask) -> str:
    admin = member(email="admin.tsa@hospital.test", display_name="Ada", role="admin")
    key = issue_key(name="ops", scopes=["consents:write"], days=30, account=admin)
    db.session.commit()
    return key.secret


def test_each_new_checkpoint_is_timestamped_and_openssl_agrees(
    flow: Flow, timestamping: Any
) -> None:
    consent = decided(flow)
    index = consent["envelope"]["receipt"]["log_index"]
    assert db.session.get(CheckpointTimestamp, index + 1) is None  # not in the consent's commit
    assert stamp_all() == [index + 1]
    row = db.session.get(CheckpointTimestamp, index + 1)
    assert row is not None and row.note_sha256 == hashlib.sha256(row.note.encode()).digest()
    assert row.note.startswith(f"{runtime().log_origin}\n{index + 1}\n")
    # Checked by the service's own verifier, and independently by OpenSSL.
    stamp = verify_timestamp(
        response=row.response, message=row.note.encode(), roots=runtime().timestamping.roots
    )
    assert stamp.authority == "CN=Test TSA (throw-away)"
    openssl = timestamping.openssl_verify(data=row.note.encode(), reply=row.response)
    assert openssl.returncode == 0 and b"Verification: OK" in openssl.stdout
    forged_note = row.note.replace(f"\n{index + 1}\n", f"\n{index + 2}\n").encode()
    assert timestamping.openssl_verify(data=forged_note, reply=row.response).returncode != 0
    with pytest.raises(VerificationError):
        verify_timestamp(
            response=row.response, message=forged_note, roots=runtime().timestamping.roots
        )
    assert stamp_all() == []  # once only


def test_token_is_served_with_the_checkpoint(flow: Flow, timestamping: Any) -> None:
    consent = decided(flow)
    size = consent["envelope"]["receipt"]["log_index"] + 1
    missing = flow.client.get(f"/api/v1/log/checkpoints/{size}/timestamp", headers=flow.headers)
    assert missing.status_code == 404 and "no timestamp" in missing.json["message"]
    stamp_all()
    served = flow.client.get(f"/api/v1/log/checkpoints/{size}/timestamp", headers=flow.headers)
    assert served.status_code == 200
    body = served.json
    reply = base64.b64decode(body["reply"])
    assert body["tree_size"] == size and body["tsa"] == timestamping.url
    assert hashlib.sha256(body["note"].encode()).hexdigest() == body["note_sha256"]
    assert timestamping.openssl_verify(data=body["note"].encode(), reply=reply).returncode == 0


def test_receipt_pdf_proof_carries_the_token_and_consent_verify_checks_it(
    flow: Flow, timestamping: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    consent = decided(flow)
    before = attachments(receipt_pdf(flow, consent["consent_id"]))
    assert parse_proof_bundle(before["receipt.tlog-proof"].decode()).extra is None
    stamp_all()
    files = attachments(receipt_pdf(flow, consent["consent_id"]))
    bundle = parse_proof_bundle(files["receipt.tlog-proof"].decode())
    ((url, reply),) = decode_proof_extra(bundle.extra)
    assert url == timestamping.url
    assert (
        timestamping.openssl_verify(data=bundle.checkpoint_note.encode(), reply=reply).returncode
        == 0
    )
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    args = [str(tmp_path / "receipt.json"), str(tmp_path / "receipt.tlog-proof")]
    args += ["--key", str(tmp_path / "consent-keys.vkey")]
    assert consent_verify([*args, "--tsa-root", str(timestamping.ca_path)]) == 0
    out = capsys.readouterr().out
    assert "Timestamp: CN=Test TSA (throw-away)" in out and "existed no later than" in out
    # Without the authority's root the token is named, not trusted, unless required.
    assert consent_verify(args) == 0
    assert "NOT CHECKED" in capsys.readouterr().out
    assert consent_verify([*args, "--require-timestamp"]) == 1
    # Checked against another authority's root, it fails.
    other = tmp_path / "other-root.pem"
    other.write_bytes(runtime().sealer.identity.chain_pem[0])
    assert consent_verify([*args, "--tsa-root", str(other)]) == 1
    assert "timestamp does not verify" in capsys.readouterr().err


def test_consent_verify_refuses_a_token_moved_to_another_checkpoint(
    flow: Flow, timestamping: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = decided(flow), decided(flow, seed=10)  # another patient, other photos
    stamp_all()
    one = attachments(receipt_pdf(flow, first["consent_id"]))
    two = attachments(receipt_pdf(flow, second["consent_id"]))
    bundle_one = one["receipt.tlog-proof"].decode()
    extra_two = parse_proof_bundle(two["receipt.tlog-proof"].decode()).extra
    # The first receipt's bundle with the second checkpoint's token swapped in.
    head, rest = bundle_one.split("\n", 1)
    lines = rest.split("\n")
    lines[0] = "extra " + base64.b64encode(extra_two).decode()
    (tmp_path / "receipt.json").write_bytes(one["receipt.json"])
    (tmp_path / "p").write_text(head + "\n" + "\n".join(lines))
    (tmp_path / "k").write_bytes(one["consent-keys.vkey"])
    args = [str(tmp_path / "receipt.json"), str(tmp_path / "p"), "--key", str(tmp_path / "k")]
    assert consent_verify([*args, "--tsa-root", str(timestamping.ca_path)]) == 1
    assert "Mismatch between messages" in capsys.readouterr().err


def test_authority_down_never_blocks_a_consent_and_the_delay_shows(
    flow: Flow, timestamping: Any, admin_key: str, runner: Any
) -> None:
    timestamping.down = True
    consent = decided(flow)  # the consent is recorded while the authority is down
    assert consent["consent_id"]
    report = timestamp_due(db.session, runtime())
    assert report.authority_down and report.stamped == []
    assert timestamp_status(db.session).pending == 1
    assert metric(flow.client, "consent_checkpoints_untimestamped", admin_key) == 1
    assert metric(flow.client, "consent_checkpoint_timestamp_delay_seconds", admin_key) >= 0
    status = runner.invoke(args=["timestamp-checkpoints", "--status"])
    assert status.exit_code == 0 and "1 checkpoints wait for a timestamp" in status.output
    # Back up: the next round timestamps what waited.
    timestamping.down = False
    done = runner.invoke(args=["timestamp-checkpoints"])
    assert done.exit_code == 0, done.output
    assert "1 checkpoints timestamped" in done.output and "0 checkpoints wait" in done.output
    assert metric(flow.client, "consent_checkpoints_untimestamped", admin_key) == 0
    assert metric(flow.client, "consent_checkpoint_timestamp_delay_seconds", admin_key) == 0


def test_a_second_authority_answers_when_the_first_is_unreachable(
    app: Flask, flow: Flow, timestamping: Any
) -> None:
    import dataclasses

    from consent.web.context import EXTENSION

    rt = runtime()
    tsa = dataclasses.replace(rt.timestamping, urls=("http://127.0.0.1:9/down", timestamping.url))
    app.extensions[EXTENSION] = dataclasses.replace(rt, timestamping=tsa)
    consent = decided(flow)
    assert stamp_all() == [consent["envelope"]["receipt"]["log_index"] + 1]
    assert db.session.get(CheckpointTimestamp, 1).tsa_url == timestamping.url


def test_timestamp_checkpoints_needs_an_authority(runner: Any) -> None:
    result = runner.invoke(args=["timestamp-checkpoints"])
    assert result.exit_code != 0 and "CONSENT_TSA_URLS" in result.output


def test_proof_extra_that_is_not_ours_is_refused() -> None:
    with pytest.raises(VerificationError):
        decode_proof_extra(json.dumps({"kind": "other"}).encode())
    with pytest.raises(VerificationError):
        decode_proof_extra(b"\xff")
