"""The log as a third party sees it: checkpoints, proofs and entries over the API, and the
offline consent-verify tool."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from consent.crypto.receipts import canonical, verify_envelope
from consent.ledger.checkpoint import parse_vkey, verify_checkpoint
from consent.ledger.merkle import MemoryTree, leaf_hash
from consent.ledger.merkle_verify import verify_consistency, verify_inclusion
from tests.factories import Flow, api_key, auth, photo


@pytest.fixture
def history(client: FlaskClient) -> dict[str, Any]:
    flow = Flow(client, api_key())
    verify_only = auth(api_key(("verify",)))
    auditor = auth(api_key(("audit",)))
    checkpoints = []
    consents = []
    for seed in range(3):
        consents.append(flow.consent(photo(seed), {"teaching": True, "survey": seed == 1}))
        checkpoints.append(client.get("/api/v1/log/checkpoint", headers=verify_only).text)
    withdrawal = client.post(
        f"/api/v1/consents/{consents[0]['consent_id']}/withdrawal", json={}, headers=flow.headers
    ).json
    checkpoints.append(client.get("/api/v1/log/checkpoint", headers=verify_only).text)
    keys = [parse_vkey(k["vkey"]) for k in client.get("/.well-known/consent-keys").json["keys"]]
    return {
        "flow": flow,
        # The log's entries and the receipts' proofs are for auditors (and clinicians).
        "headers": auditor,
        "verify_only": verify_only,
        "consents": consents,
        "withdrawal": withdrawal,
        "checkpoints": checkpoints,
        "keys": keys,
    }


def test_receipts_carry_their_log_index_in_order(history: dict[str, Any]) -> None:
    indices = [c["receipt"]["receipt"]["log_index"] for c in history["consents"]]
    assert indices == [0, 1, 2]
    assert history["withdrawal"]["receipt"]["receipt"]["log_index"] == 3


def test_entries_are_the_canonical_envelopes(client: FlaskClient, history: dict[str, Any]) -> None:
    envelopes = [c["receipt"] for c in history["consents"]] + [history["withdrawal"]["receipt"]]
    tree = MemoryTree()
    for index, envelope in enumerate(envelopes):
        entry = client.get(f"/api/v1/log/entries/{index}", headers=history["headers"]).json
        data = base64.b64decode(entry["data"])
        assert data == canonical(envelope)
        assert base64.b64decode(entry["leaf_hash"]) == leaf_hash(data)
        assert entry["envelope"] == envelope
        verify_envelope(
            envelope=entry["envelope"],
            body_key="receipt",
            keys={key.key_id: key for key in history["keys"]},
        )
        tree.append(leaf_hash(data))
    checkpoint = verify_checkpoint(note=history["checkpoints"][-1], keys=history["keys"])
    assert checkpoint.size == 4 and checkpoint.root == tree.root()
    missing = client.get("/api/v1/log/entries/4", headers=history["headers"])
    assert missing.status_code == 404


def test_inclusion_proofs_verify_for_every_entry_and_size(
    client: FlaskClient, history: dict[str, Any]
) -> None:
    for note in history["checkpoints"]:
        checkpoint = verify_checkpoint(note=note, keys=history["keys"])
        for index in range(checkpoint.size):
            entry = client.get(f"/api/v1/log/entries/{index}", headers=history["headers"]).json
            proof = client.get(
                "/api/v1/log/proof/inclusion",
                query_string={"index": index, "size": checkpoint.size},
                headers=history["headers"],
            ).json
            assert proof["index"] == index and proof["size"] == checkpoint.size
            verify_inclusion(
                leaf_hash=base64.b64decode(entry["leaf_hash"]),
                index=index,
                size=checkpoint.size,
                proof=[base64.b64decode(h) for h in proof["hashes"]],
                root=checkpoint.root,
            )


def test_consistency_proofs_link_every_pair_of_checkpoints(
    client: FlaskClient, history: dict[str, Any]
) -> None:
    checkpoints = [verify_checkpoint(note=n, keys=history["keys"]) for n in history["checkpoints"]]
    for first in checkpoints:
        for second in checkpoints:
            if first.size > second.size:
                continue
            proof = client.get(
                "/api/v1/log/proof/consistency",
                query_string={"first": first.size, "second": second.size},
                headers=history["headers"],
            ).json
            verify_consistency(
                first=first.size,
                second=second.size,
                first_root=first.root,
                second_root=second.root,
                proof=[base64.b64decode(h) for h in proof["hashes"]],
            )


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        ("inclusion", {"index": 4, "size": 4}, 422),
        ("inclusion", {"index": 0, "size": 5}, 404),
        ("inclusion", {"index": -1, "size": 2}, 422),
        ("inclusion", {"index": "x", "size": 2}, 422),
        ("consistency", {"first": 3, "second": 2}, 422),
        ("consistency", {"first": 0, "second": 2}, 422),
        ("consistency", {"first": 1, "second": 9}, 404),
    ],
)
def test_bad_proof_requests_are_refused(
    client: FlaskClient, history: dict[str, Any], path: str, query: dict[str, Any], status: int
) -> None:
    response = client.get(
        f"/api/v1/log/proof/{path}", query_string=query, headers=history["headers"]
    )
    assert response.status_code == status
    assert set(response.json) == {"code", "status", "message", "errors"}


def test_log_needs_a_valid_key(client: FlaskClient, history: dict[str, Any]) -> None:
    assert client.get("/api/v1/log/checkpoint").status_code == 401
    assert client.get("/api/v1/log/entries/0", headers=auth("csk_wrong")).status_code == 401


def test_verify_answer_names_log_index_and_checkpoint(history: dict[str, Any]) -> None:
    given = history["consents"][1]
    answer = history["flow"].verify(given["media"]["sha256"], "survey")["answer"]
    assert answer["decision"] == "allowed"
    assert answer["log_index"] == given["receipt"]["receipt"]["log_index"] == 1
    latest = verify_checkpoint(note=history["checkpoints"][-1], keys=history["keys"])
    assert answer["checkpoint"] == {
        "size": latest.size,
        "root": base64.b64encode(latest.root).decode(),
    }


# --- consent-verify, the offline tool a third party runs -------------------------------------


def run_verify(
    tmp_path: Path, envelope: Any, bundle: str, *keys: str
) -> subprocess.CompletedProcess[str]:
    receipt_file = tmp_path / "receipt.json"
    receipt_file.write_text(envelope if isinstance(envelope, str) else json.dumps(envelope))
    proof_file = tmp_path / "receipt.tlog-proof"
    proof_file.write_text(bundle)
    command = [
        sys.executable,
        "-m",
        "consent.cli.verify_tool",
        str(receipt_file),
        str(proof_file),
    ]
    for key in keys:
        command += ["--key", key]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.fixture
def offline(client: FlaskClient, history: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    given = history["consents"][2]
    bundle = client.get(
        f"/api/v1/consents/{given['consent_id']}/proof", headers=history["headers"]
    ).text
    keys_file = tmp_path / "consent-keys.json"
    keys_file.write_text(json.dumps(client.get("/.well-known/consent-keys").json))
    return {
        "envelope": given["receipt"],
        "bundle": bundle,
        "keys_file": str(keys_file),
        "vkey": history["keys"][0].vkey,
    }


def test_consent_verify_accepts_a_genuine_receipt(tmp_path: Path, offline: dict[str, Any]) -> None:
    assert offline["bundle"].startswith("c2sp.org/tlog-proof@v1\nindex 2\n")
    for key in (offline["vkey"], offline["keys_file"]):
        result = run_verify(tmp_path, offline["envelope"], offline["bundle"], key)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("OK: consent receipt")


def test_consent_verify_rejects_an_altered_receipt(tmp_path: Path, offline: dict[str, Any]) -> None:
    forged = json.loads(json.dumps(offline["envelope"]))
    forged["receipt"]["uses"][0]["granted"] = not forged["receipt"]["uses"][0]["granted"]
    result = run_verify(tmp_path, forged, offline["bundle"], offline["vkey"])
    assert result.returncode == 1 and "FAILED" in result.stderr


def test_consent_verify_rejects_another_services_key(
    tmp_path: Path, offline: dict[str, Any]
) -> None:
    import os

    from consent.crypto.keyring import Keyring

    other = Keyring(name=offline["vkey"].split("+")[0], seeds=[os.urandom(32)])
    result = run_verify(tmp_path, offline["envelope"], offline["bundle"], other.active.vkey)
    assert result.returncode == 1 and "unknown key id" in result.stderr


def test_consent_verify_rejects_a_proof_with_a_flipped_hash(
    tmp_path: Path, offline: dict[str, Any]
) -> None:
    lines = offline["bundle"].split("\n")
    raw = bytearray(base64.b64decode(lines[2]))
    raw[0] ^= 1
    lines[2] = base64.b64encode(bytes(raw)).decode()
    result = run_verify(tmp_path, offline["envelope"], "\n".join(lines), offline["vkey"])
    assert result.returncode == 1


def test_consent_verify_rejects_a_receipt_moved_to_another_index(
    tmp_path: Path, offline: dict[str, Any]
) -> None:
    moved = offline["bundle"].replace("index 2\n", "index 1\n", 1)
    result = run_verify(tmp_path, offline["envelope"], moved, offline["vkey"])
    assert result.returncode == 1 and "log index" in result.stderr


def test_consent_verify_rejects_a_forged_checkpoint(
    tmp_path: Path, offline: dict[str, Any]
) -> None:
    body, _, signature = offline["bundle"].rpartition("\n\n")
    forged_signature = signature[:-10] + ("A" if signature[-10] != "A" else "B") + signature[-9:]
    result = run_verify(
        tmp_path, offline["envelope"], body + "\n\n" + forged_signature, offline["vkey"]
    )
    assert result.returncode == 1


def test_consent_verify_needs_a_key(tmp_path: Path, offline: dict[str, Any]) -> None:
    result = run_verify(tmp_path, offline["envelope"], offline["bundle"])
    assert result.returncode == 2


def test_a_publisher_reads_checkpoints_and_proofs_but_not_entries(
    client: FlaskClient, history: dict[str, Any]
) -> None:
    """Entries link a pseudonymous patient to all their media: a verify-only key never sees them."""
    publisher = history["verify_only"]
    assert client.get("/api/v1/log/checkpoint", headers=publisher).status_code == 200
    proof = client.get("/api/v1/log/proof/inclusion?index=0&size=2", headers=publisher)
    assert proof.status_code == 200
    assert client.get("/api/v1/log/entries/0", headers=publisher).status_code == 403
    consent_id = history["consents"][0]["consent_id"]
    assert client.get(f"/api/v1/consents/{consent_id}/proof", headers=publisher).status_code == 403
    assert client.get("/api/v1/log/entries/0", headers=history["headers"]).status_code == 200
