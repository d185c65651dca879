"""The audit: recompute the log from the stored receipts and check every link.

It reads everything and trusts nothing: each leaf is recomputed from its bytes, each envelope's
signature checked, the tree rebuilt from the leaves and compared with the stored subtree hashes
and the head, and every consent, withdrawal, erasure and rendition matched to its leaf and to its
own receipt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from consent.consents.models import Consent, ConsentUse, PaperScan, Withdrawal
from consent.crypto.keyring import Keyring
from consent.crypto.receipts import (
    canonical,
    envelope_from_parts,
    verify_envelope,
    verify_stored,
)
from consent.db.types import rfc3339
from consent.errors import VerificationError
from consent.ledger.checkpoint import Checkpoint
from consent.ledger.merkle import EMPTY_ROOT, leaf_hash, node_hash
from consent.ledger.models import LogHead, LogLeaf, LogNode
from consent.ledger.store import AnySession
from consent.media.models import MediaItem, MediaRendition
from consent.patients.models import Patient, PatientErasure, PatientKey

BATCH = 5000


@dataclass(frozen=True)
class Finding:
    """One mismatch, named by the record (or log position) it concerns."""

    record: str
    problem: str

    def __str__(self) -> str:
        return f"{self.record}: {self.problem}"


@dataclass
class AuditReport:
    leaves: int = 0
    consents: int = 0
    withdrawals: int = 0
    renditions: int = 0
    root: bytes = EMPTY_ROOT
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def _stream(session: AnySession, statement: Any) -> Iterator[Any]:
    yield from session.execute(statement.execution_options(yield_per=BATCH)).scalars()


def audit(
    session: AnySession, keyring: Keyring, *, published: Iterable[Checkpoint] = ()
) -> AuditReport:
    """Check the whole log and every record. Returns every finding; raises nothing.

    ``published`` are checkpoints handed out earlier (already signature-checked): the log must
    still extend each of them. Without them, an audit of the database against itself cannot
    see the newest entries cut off together with the head.
    """
    report = AuditReport()
    leaves_by_record: dict[str, tuple[int, str, bytes]] = {}
    levels: list[list[bytes]] = [[]]
    expected_index = 0
    for leaf in _stream(session, select(LogLeaf).order_by(LogLeaf.index)):
        where = f"log entry {leaf.index}"
        if leaf.index != expected_index:
            report.findings.append(Finding(where, f"expected index {expected_index} (gap)"))
            expected_index = leaf.index
        expected_index += 1
        data = bytes(leaf.data)
        hashed = leaf_hash(data)
        if bytes(leaf.leaf_hash) != hashed:
            report.findings.append(Finding(where, "stored leaf hash is not the hash of its data"))
        levels[0].append(hashed)
        _check_envelope(report, where, leaf, data, keyring)
        leaves_by_record[leaf.record_id] = (leaf.index, leaf.kind, data)
    # The tree is rebuilt from the leaves that exist; a gap is a finding above, and the head
    # then disagrees as well.
    report.leaves = len(levels[0])
    _check_tree(session, report, levels)
    for checkpoint in published:
        if checkpoint.size > report.leaves:
            report.findings.append(
                Finding(
                    f"checkpoint of size {checkpoint.size}",
                    f"published, but the log now holds {report.leaves} entries (truncated)",
                )
            )
        elif _root(levels, checkpoint.size) != checkpoint.root:
            report.findings.append(
                Finding(
                    f"checkpoint of size {checkpoint.size}",
                    "published with another root: the log was rewritten since",
                )
            )
    withdrawn = _check_withdrawals(session, report, keyring, leaves_by_record)
    _check_consents(session, report, keyring, leaves_by_record, withdrawn)
    _check_erasures(session, report, keyring, leaves_by_record, withdrawn)
    _check_renditions(session, report, keyring, leaves_by_record)
    for record_id, (index, kind, _) in leaves_by_record.items():
        report.findings.append(
            Finding(record_id, f"log entry {index} ({kind}) has no record in the database")
        )
    return report


def _check_envelope(
    report: AuditReport, where: str, leaf: LogLeaf, data: bytes, keyring: Keyring
) -> None:
    try:
        envelope = json.loads(data)
        verified = verify_envelope(envelope=envelope, body_key="receipt", keys=keyring)
    except (ValueError, VerificationError) as exc:
        report.findings.append(Finding(where, f"envelope does not verify: {exc}"))
        return
    if canonical(envelope) != data:
        report.findings.append(Finding(where, "leaf data is not the canonical envelope"))
    body = verified.body
    if body.get("log_index") != leaf.index:
        report.findings.append(
            Finding(where, f"signed receipt says log index {body.get('log_index')} (reordered)")
        )
    if body.get("receipt_id") != leaf.record_id or body.get("type") != leaf.kind:
        report.findings.append(Finding(where, "leaf names another record than its receipt"))


def _check_tree(session: AnySession, report: AuditReport, levels: list[list[bytes]]) -> None:
    # Every complete aligned subtree, level by level, as the append wrote them.
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    # Merge the recomputed nodes with the stored ones, both in (level, index) order: one pass,
    # no second copy of the tree in memory.
    expected = (
        (level, index, value)
        for level, hashes in enumerate(levels)
        for index, value in enumerate(hashes)
    )
    stored = session.execute(
        select(LogNode.level, LogNode.index, LogNode.hash)
        .order_by(LogNode.level, LogNode.index)
        .execution_options(yield_per=BATCH)
    )
    want, have = next(expected, None), next(stored, None)
    while want is not None or have is not None:
        if have is None or (want is not None and (want[0], want[1]) < (have[0], have[1])):
            assert want is not None
            report.findings.append(Finding(f"log node ({want[0]}, {want[1]})", "missing"))
            want = next(expected, None)
        elif want is None or (have[0], have[1]) < (want[0], want[1]):
            report.findings.append(
                Finding(f"log node ({have[0]}, {have[1]})", "beyond the log's leaves")
            )
            have = next(stored, None)
        else:
            if bytes(have[2]) != want[2]:
                report.findings.append(
                    Finding(f"log node ({want[0]}, {want[1]})", "not the recomputed hash")
                )
            want, have = next(expected, None), next(stored, None)
    root = _root(levels, report.leaves)
    report.root = root
    head = session.execute(select(LogHead.size, LogHead.root).where(LogHead.id == 1)).first()
    if head is None:
        report.findings.append(Finding("log head", "missing"))
    elif head.size != report.leaves or bytes(head.root) != root:
        report.findings.append(
            Finding(
                "log head",
                f"says size {head.size}; the leaves give {report.leaves} and another root",
            )
        )


def _root(levels: list[list[bytes]], size: int) -> bytes:
    """MTH of ``size`` leaves from the complete subtrees: fold the size's binary digits."""
    if size == 0:
        return EMPTY_ROOT
    parts, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size & (1 << level):
            parts.append(levels[level][start >> level])
            start += 1 << level
    root = parts[-1]
    for part in reversed(parts[:-1]):
        root = node_hash(part, root)
    return root


def _pop_leaf(
    report: AuditReport,
    leaves: dict[str, tuple[int, str, bytes]],
    record_id: str,
    kind: str,
    log_index: int,
    envelope: dict[str, Any],
) -> None:
    leaf = leaves.pop(record_id, None)
    if leaf is None:
        report.findings.append(Finding(record_id, f"{kind} has no log entry"))
        return
    index, leaf_kind, data = leaf
    if index != log_index or leaf_kind != kind:
        report.findings.append(Finding(record_id, f"logged at {index}, record says {log_index}"))
    if canonical(envelope) != data:
        report.findings.append(Finding(record_id, f"stored receipt differs from log entry {index}"))


def _logged_receipt(
    report: AuditReport,
    keyring: Keyring,
    leaves: dict[str, tuple[int, str, bytes]],
    record: Consent | Withdrawal | PatientErasure | MediaRendition,
    kind: str,
) -> dict[str, Any] | None:
    """A record's verified receipt, matched to its log entry; None (and a finding) if it fails."""
    try:
        body = verify_stored(
            body_bytes=record.receipt,
            signature=record.signature,
            key_id=record.key_id,
            keys=keyring,
        )
    except VerificationError as exc:
        report.findings.append(Finding(record.id, f"receipt does not verify: {exc}"))
        return None
    envelope = envelope_from_parts(
        body_bytes=record.receipt,
        signature=record.signature,
        key_id=record.key_id,
        body_key="receipt",
    )
    _pop_leaf(report, leaves, record.id, kind, record.log_index, envelope)
    return body


def _check_consents(
    session: AnySession,
    report: AuditReport,
    keyring: Keyring,
    leaves: dict[str, tuple[int, str, bytes]],
    withdrawn: dict[tuple[str, str], str],
) -> None:
    """Check each consent's receipt, its leaf, its columns, and its uses against the
    withdrawals that verified (``withdrawn``: (consent id, purpose) -> withdrawal id)."""
    uses: dict[str, dict[str, ConsentUse]] = {}
    for use in session.scalars(select(ConsentUse)):
        uses.setdefault(use.consent_id, {})[use.purpose] = use
    scans = {scan.consent_id: scan for scan in session.scalars(select(PaperScan))}
    for consent in _stream(session, select(Consent).order_by(Consent.log_index)):
        report.consents += 1
        signed = _logged_receipt(report, keyring, leaves, consent, "consent")
        if signed is None:
            continue
        body = signed
        if (
            body["receipt_id"] != consent.id
            or body["request_id"] != consent.request_id
            or body["subject"] != consent.patient_id
            or body["expires_at"] != rfc3339(consent.expires_at)
            or body.get("log_index") != consent.log_index
            or body["method"] != consent.method
        ):
            report.findings.append(Finding(consent.id, "columns differ from the signed receipt"))
        _check_paper_scan(report, consent.id, body, scans.pop(consent.id, None))
        stored_uses = uses.pop(consent.id, {})
        signed_uses = {use["purpose"]: use for use in body["uses"]}
        if set(stored_uses) != set(signed_uses):
            report.findings.append(Finding(consent.id, "uses differ from the signed receipt"))
        for purpose, use in stored_uses.items():
            signed = signed_uses.get(purpose)
            if signed and (
                use.granted != signed["granted"] or json.loads(use.channels) != signed["channels"]
            ):
                report.findings.append(
                    Finding(consent.id, f"use {purpose} differs from the signed receipt")
                )
            if use.withdrawal_id != withdrawn.get((consent.id, purpose)):
                report.findings.append(
                    Finding(
                        consent.id,
                        f"use {purpose} is marked withdrawn={use.withdrawal_id!r} but the "
                        f"withdrawal receipts say {withdrawn.get((consent.id, purpose))!r}",
                    )
                )
    for consent_id in uses:
        report.findings.append(Finding(consent_id, "uses recorded for a consent that is gone"))
    for consent_id, scan in scans.items():
        report.findings.append(
            Finding(scan.id, f"paper scan recorded for consent {consent_id}, which is gone")
        )


def _check_paper_scan(
    report: AuditReport, consent_id: str, body: dict[str, Any], scan: PaperScan | None
) -> None:
    """A consent recorded on paper has one scan row, and it is the scan its receipt binds."""
    signed = body.get("paper_scan")
    if scan is None:
        if signed is not None or body.get("method") == "paper":
            report.findings.append(Finding(consent_id, "paper consent has no scan recorded"))
        return
    if signed is None:
        report.findings.append(
            Finding(consent_id, f"scan {scan.id} recorded, but the receipt binds no scan")
        )
    elif signed.get("sha256") != scan.sha256 or signed.get("media_type") != scan.media_type:
        report.findings.append(
            Finding(consent_id, f"scan {scan.id} differs from the signed receipt")
        )


def _check_withdrawals(
    session: AnySession,
    report: AuditReport,
    keyring: Keyring,
    leaves: dict[str, tuple[int, str, bytes]],
) -> dict[tuple[str, str], str]:
    """Check each withdrawal's receipt, its leaf and its binding to the consent it ends.

    Returns, from the withdrawal receipts that verify, (consent id, purpose) -> withdrawal id.
    """
    withdrawn: dict[tuple[str, str], str] = {}
    receipts = {
        consent_id: bytes(receipt)
        for consent_id, receipt in session.execute(select(Consent.id, Consent.receipt))
    }
    for withdrawal in session.scalars(select(Withdrawal).order_by(Withdrawal.log_index)):
        report.withdrawals += 1
        body = _logged_receipt(report, keyring, leaves, withdrawal, "withdrawal")
        if body is None:
            continue
        for purpose in body.get("purposes", []):
            withdrawn[(withdrawal.consent_id, purpose)] = withdrawal.id
        consent_receipt = receipts.get(withdrawal.consent_id)
        if (
            consent_receipt is None
            or body["consent_id"] != withdrawal.consent_id
            or body["consent_receipt_sha256"] != hashlib.sha256(consent_receipt).hexdigest()
        ):
            report.findings.append(
                Finding(withdrawal.id, "not bound to the consent receipt it names")
            )
    return withdrawn


def _check_erasures(
    session: AnySession,
    report: AuditReport,
    keyring: Keyring,
    leaves: dict[str, tuple[int, str, bytes]],
    withdrawn: dict[tuple[str, str], str],
) -> None:
    """Each erasure: its receipt and leaf; the patient marked erased with no key left; every
    consent it names withdrawn in full; and no patient marked erased without an erasure."""
    erased_by_record = {}
    for erasure in session.scalars(select(PatientErasure).order_by(PatientErasure.log_index)):
        body = _logged_receipt(report, keyring, leaves, erasure, "erasure")
        erased_by_record[erasure.patient_id] = erasure.id
        if body is None:
            continue
        if body.get("subject") != erasure.patient_id:
            report.findings.append(Finding(erasure.id, "names another patient than its row"))
        patient = session.get(Patient, erasure.patient_id)
        if patient is None or patient.erased_at is None:
            report.findings.append(Finding(erasure.id, "the patient is not marked erased"))
        if session.get(PatientKey, erasure.patient_id) is not None:
            report.findings.append(Finding(erasure.id, "the patient's data key still exists"))
        granted = session.execute(
            select(ConsentUse.consent_id, ConsentUse.purpose).where(
                ConsentUse.consent_id.in_(body.get("consents", [])), ConsentUse.granted.is_(True)
            )
        ).all()
        if any((consent_id, purpose) not in withdrawn for consent_id, purpose in granted):
            report.findings.append(Finding(erasure.id, "a consent it ended is not withdrawn"))
    for (patient_id,) in session.execute(select(Patient.id).where(Patient.erased_at.is_not(None))):
        if patient_id not in erased_by_record:
            report.findings.append(Finding(patient_id, "marked erased without an erasure receipt"))


def _check_renditions(
    session: AnySession,
    report: AuditReport,
    keyring: Keyring,
    leaves: dict[str, tuple[int, str, bytes]],
) -> None:
    """Each rendition: its receipt and leaf, and its columns as signed, bound to the hash of
    the media item it was made from (verify answers for the copy on that binding alone)."""
    originals = {
        media_id: sha for media_id, sha in session.execute(select(MediaItem.id, MediaItem.sha256))
    }
    for rendition in _stream(session, select(MediaRendition).order_by(MediaRendition.log_index)):
        report.renditions += 1
        body = _logged_receipt(report, keyring, leaves, rendition, "rendition")
        if body is None:
            continue
        if (
            body.get("receipt_id") != rendition.id
            or body.get("sha256") != rendition.sha256
            or body.get("kind") != rendition.kind
            or body.get("phash") != rendition.phash
            or body.get("size") != rendition.size_bytes
            or body.get("made_by") != rendition.made_by
            or body.get("log_index") != rendition.log_index
        ):
            report.findings.append(Finding(rendition.id, "columns differ from the signed receipt"))
        if body.get("media_sha256") != originals.get(rendition.media_id):
            report.findings.append(
                Finding(rendition.id, f"not bound to media item {rendition.media_id}'s hash")
            )
