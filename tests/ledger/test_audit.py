"""Someone with write access to the database edits the log or the records beside it: the audit
(and ``flask audit``) must name the record or log position each edit concerns, and fail."""

from __future__ import annotations

import base64
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import delete, insert, select, update

from consent.consents.models import Consent, ConsentUse, Withdrawal
from consent.db import db
from consent.ledger.merkle import leaf_hash, node_hash, root_from_leaf_hashes
from consent.ledger.models import LogHead, LogLeaf, LogNode
from consent.web.context import runtime
from consent.workflows.audit import AuditReport, audit
from tests.factories import Flow, api_key, photo


@dataclass(frozen=True)
class History:
    """Seven log entries, a size that is not a power of two::

    0 consents[0]  teaching granted, survey refused
    1 consents[1]  teaching granted
    2 consents[2]  teaching and survey granted
    3 consents[3]  teaching refused
    4 withdrawals[0]  all of consents[0] (teaching)     <- earlier checkpoint: size 5
    5 consents[4]  care_record and teaching granted
    6 withdrawals[1]  survey of consents[2] (partial)
    """

    flow: Flow
    consents: list[str]
    withdrawals: list[str]
    earlier_size: int
    earlier_root: bytes


def _checkpoint(flow: Flow) -> tuple[int, bytes]:
    response = flow.client.get("/api/v1/log/checkpoint", headers=flow.headers)
    assert response.status_code == 200
    lines = response.get_data(as_text=True).split("\n")
    return int(lines[1]), base64.b64decode(lines[2], validate=True)


def _withdraw(flow: Flow, consent_id: str, body: dict[str, Any]) -> str:
    response = flow.client.post(
        f"/api/v1/consents/{consent_id}/withdrawal", json=body, headers=flow.headers
    )
    assert response.status_code == 201, response.json
    return str(response.json["withdrawal_id"])


@pytest.fixture
def history(client: FlaskClient) -> History:
    flow = Flow(client, api_key())
    choices: list[dict[str, bool]] = [
        {"teaching": True, "survey": False},
        {"teaching": True},
        {"teaching": True, "survey": True},
        {"teaching": False},
    ]
    consents = [
        flow.consent(photo(seed), chosen)["consent_id"] for seed, chosen in enumerate(choices)
    ]
    withdrawals = [_withdraw(flow, consents[0], {})]
    earlier_size, earlier_root = _checkpoint(flow)
    consents.append(flow.consent(photo(4), {"care_record": True, "teaching": True})["consent_id"])
    withdrawals.append(_withdraw(flow, consents[2], {"purposes": ["survey"]}))
    logged = db.session.scalars(select(LogLeaf.record_id).order_by(LogLeaf.index)).all()
    assert logged == [*consents[:4], withdrawals[0], consents[4], withdrawals[1]]
    assert earlier_size == 5
    return History(flow, consents, withdrawals, earlier_size, earlier_root)


def _run_audit() -> AuditReport:
    return audit(db.session, runtime().keyring)


def _assert_caught(runner: FlaskCliRunner, record: str, problem: str) -> AuditReport:
    """The audit fails with a finding on ``record`` whose problem contains ``problem``; the
    CLI prints it as a MISMATCH line and exits non-zero."""
    report = _run_audit()
    assert not report.ok
    assert any(
        finding.record == record and problem in finding.problem for finding in report.findings
    ), [str(finding) for finding in report.findings]
    result = runner.invoke(args=["audit"])
    assert result.exit_code != 0, result.output
    assert f"MISMATCH {record}: " in result.output
    assert "audit passed" not in result.output
    return report


def _flip(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


def _rehash_whole_log() -> None:
    """What a careful forger does after editing leaves: rewrite every subtree hash and the head
    from the stored leaf hashes, so the tree alone is consistent again."""
    leaf_hashes = [
        bytes(value)
        for value in db.session.scalars(select(LogLeaf.leaf_hash).order_by(LogLeaf.index))
    ]
    rows: list[dict[str, Any]] = []
    level, hashes = 0, leaf_hashes
    while hashes:
        rows.extend({"level": level, "index": i, "hash": value} for i, value in enumerate(hashes))
        hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes) - 1, 2)]
        level += 1
    db.session.execute(delete(LogNode))
    db.session.execute(insert(LogNode), rows)
    db.session.execute(
        update(LogHead)
        .where(LogHead.id == 1)
        .values(size=len(leaf_hashes), root=root_from_leaf_hashes(leaf_hashes))
    )


def test_clean_history_passes_audit(history: History, runner: FlaskCliRunner) -> None:
    report = _run_audit()
    assert report.ok, [str(finding) for finding in report.findings]
    assert (report.leaves, report.consents, report.withdrawals) == (7, 5, 2)
    assert _checkpoint(history.flow) == (7, report.root)
    result = runner.invoke(args=["audit"])
    assert result.exit_code == 0, result.output
    assert "audit passed" in result.output
    assert "MISMATCH" not in result.output


def test_audit_raises_no_deprecation_warning(history: History) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _run_audit()


def test_flipped_byte_in_consent_receipt_is_caught(
    history: History, runner: FlaskCliRunner
) -> None:
    target = history.consents[1]
    receipt = db.session.scalars(select(Consent.receipt).where(Consent.id == target)).one()
    db.session.execute(
        update(Consent)
        .where(Consent.id == target)
        .values(receipt=_flip(receipt, len(receipt) // 2))
    )
    db.session.commit()
    _assert_caught(runner, target, "receipt does not verify")


def test_flipped_byte_in_log_leaf_data_is_caught(history: History, runner: FlaskCliRunner) -> None:
    # The forger also rehashes the leaf, the tree and the head: only the signature is left.
    data = db.session.scalars(select(LogLeaf.data).where(LogLeaf.index == 3)).one()
    forged = _flip(data, len(data) // 2)
    db.session.execute(
        update(LogLeaf).where(LogLeaf.index == 3).values(data=forged, leaf_hash=leaf_hash(forged))
    )
    _rehash_whole_log()
    db.session.commit()
    report = _assert_caught(runner, "log entry 3", "envelope does not verify")
    assert any(
        finding.record == history.consents[3] and "differs from log entry 3" in finding.problem
        for finding in report.findings
    )


def test_rewritten_leaf_hash_is_caught(history: History, runner: FlaskCliRunner) -> None:
    # Leaf hash and its level-0 node agree with each other, but not with the leaf's bytes.
    forged = leaf_hash(b"a receipt that was never issued")
    db.session.execute(update(LogLeaf).where(LogLeaf.index == 5).values(leaf_hash=forged))
    db.session.execute(
        update(LogNode).where(LogNode.level == 0, LogNode.index == 5).values(hash=forged)
    )
    db.session.commit()
    _assert_caught(runner, "log entry 5", "stored leaf hash is not the hash of its data")


def test_consent_marked_withdrawn_without_withdrawal_receipt_is_caught(
    history: History, runner: FlaskCliRunner
) -> None:
    # A real withdrawal id (the foreign key holds), but its receipt names another consent.
    target = history.consents[1]
    db.session.execute(
        update(ConsentUse)
        .where(ConsentUse.consent_id == target, ConsentUse.purpose == "teaching")
        .values(withdrawal_id=history.withdrawals[0])
    )
    db.session.commit()
    _assert_caught(runner, target, "use teaching is marked withdrawn")


def test_withdrawal_cleared_from_uses_table_is_caught(
    history: History, runner: FlaskCliRunner
) -> None:
    target = history.consents[2]
    db.session.execute(
        update(ConsentUse)
        .where(ConsentUse.consent_id == target, ConsentUse.purpose == "survey")
        .values(withdrawal_id=None)
    )
    db.session.commit()
    _assert_caught(runner, target, "use survey is marked withdrawn=None")


def test_refusal_turned_into_grant_in_uses_table_is_caught(
    history: History, runner: FlaskCliRunner
) -> None:
    target = history.consents[3]
    db.session.execute(
        update(ConsentUse)
        .where(ConsentUse.consent_id == target, ConsentUse.purpose == "teaching")
        .values(granted=True)
    )
    db.session.commit()
    _assert_caught(runner, target, "use teaching differs from the signed receipt")


def test_deleted_withdrawal_row_is_caught(history: History, runner: FlaskCliRunner) -> None:
    # The uses' foreign key to the row is cleared first, as the forger must; the leaf stays.
    target = history.withdrawals[1]
    db.session.execute(
        update(ConsentUse).where(ConsentUse.withdrawal_id == target).values(withdrawal_id=None)
    )
    db.session.execute(delete(Withdrawal).where(Withdrawal.id == target))
    db.session.commit()
    _assert_caught(runner, target, "log entry 6 (withdrawal) has no record in the database")


@pytest.mark.parametrize(
    ("position", "withdrawal", "record", "problem"),
    [
        pytest.param(6, 1, "log head", "says size 7; the leaves give 6", id="last-entry"),
        pytest.param(
            4,
            0,
            "log entry 5",
            "expected index 4 (gap)",
            id="middle-entry",
        ),
    ],
)
def test_deleted_log_leaf_is_caught(
    history: History,
    runner: FlaskCliRunner,
    position: int,
    withdrawal: int,
    record: str,
    problem: str,
) -> None:
    # Foreign keys stay on: like a forger hiding a withdrawal for good, delete what points at
    # the leaf (the uses' marks, the withdrawal row) before the leaf and its level-0 node.
    target = history.withdrawals[withdrawal]
    db.session.execute(
        update(ConsentUse).where(ConsentUse.withdrawal_id == target).values(withdrawal_id=None)
    )
    db.session.execute(delete(Withdrawal).where(Withdrawal.id == target))
    db.session.execute(delete(LogNode).where(LogNode.level == 0, LogNode.index == position))
    db.session.execute(delete(LogLeaf).where(LogLeaf.index == position))
    db.session.commit()
    _assert_caught(runner, record, problem)


def test_reordered_leaves_are_caught(history: History, runner: FlaskCliRunner) -> None:
    # Swap entries 3 (a consent) and 4 (a withdrawal) completely: leaf columns, the records'
    # log_index columns, and a rehashed tree and head. Only the signed log index can tell.
    consent_id, withdrawal_id = history.consents[3], history.withdrawals[0]
    rows = {
        row.index: row
        for row in db.session.execute(
            select(LogLeaf.index, LogLeaf.data, LogLeaf.leaf_hash, LogLeaf.kind).where(
                LogLeaf.index.in_((3, 4))
            )
        )
    }
    # record_id is unique: park one leaf's id while the other takes it.
    db.session.execute(update(LogLeaf).where(LogLeaf.index == 3).values(record_id="parked"))
    for index, other, record_id in ((4, 3, consent_id), (3, 4, withdrawal_id)):
        db.session.execute(
            update(LogLeaf)
            .where(LogLeaf.index == index)
            .values(
                data=rows[other].data,
                leaf_hash=rows[other].leaf_hash,
                kind=rows[other].kind,
                record_id=record_id,
            )
        )
    db.session.execute(update(Consent).where(Consent.id == consent_id).values(log_index=4))
    db.session.execute(update(Withdrawal).where(Withdrawal.id == withdrawal_id).values(log_index=3))
    _rehash_whole_log()
    db.session.commit()
    report = _assert_caught(runner, "log entry 3", "signed receipt says log index 4 (reordered)")
    assert any(
        finding.record == "log entry 4" and "signed receipt says log index 3" in finding.problem
        for finding in report.findings
    )
    # The forgery was hash-consistent: nothing in the tree or head gave it away.
    assert not [
        finding
        for finding in report.findings
        if finding.record.startswith("log node") or finding.record == "log head"
    ]


def test_rewritten_tree_node_is_caught(history: History, runner: FlaskCliRunner) -> None:
    forged = node_hash(leaf_hash(b"forged left"), leaf_hash(b"forged right"))
    db.session.execute(
        update(LogNode).where(LogNode.level == 1, LogNode.index == 1).values(hash=forged)
    )
    db.session.commit()
    _assert_caught(runner, "log node (1, 1)", "not the recomputed hash")


def test_head_rolled_back_is_caught(history: History, runner: FlaskCliRunner) -> None:
    db.session.execute(
        update(LogHead)
        .where(LogHead.id == 1)
        .values(size=history.earlier_size, root=history.earlier_root)
    )
    db.session.commit()
    _assert_caught(runner, "log head", "says size 5; the leaves give 7")


def test_cut_off_end_is_caught_against_a_published_checkpoint(
    history: History, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    # Remove the last entry entirely and roll the head back to a consistent earlier state: the
    # database agrees with itself, so only a checkpoint handed out before can reveal the cut.
    published = tmp_path / "checkpoint.txt"
    published.write_text(
        history.flow.client.get("/api/v1/log/checkpoint", headers=history.flow.headers).text
    )
    assert runner.invoke(args=["audit", "--checkpoint", str(published)]).exit_code == 0
    target = history.withdrawals[1]
    db.session.execute(
        update(ConsentUse).where(ConsentUse.withdrawal_id == target).values(withdrawal_id=None)
    )
    db.session.execute(delete(Withdrawal).where(Withdrawal.id == target))
    db.session.execute(delete(LogNode).where(LogNode.index >= 3, LogNode.level == 1))
    db.session.execute(delete(LogNode).where(LogNode.index == 6, LogNode.level == 0))
    db.session.execute(delete(LogLeaf).where(LogLeaf.index == 6))
    from consent.ledger.store import root_at

    db.session.execute(update(LogHead).values(size=6))
    db.session.execute(update(LogHead).values(root=root_at(db.session, 6)))
    db.session.commit()
    assert runner.invoke(args=["audit"]).exit_code == 0  # self-consistent without it
    result = runner.invoke(args=["audit", "--checkpoint", str(published)])
    assert result.exit_code != 0
    assert "MISMATCH checkpoint of size 7: published, but the log now holds 6" in result.output
