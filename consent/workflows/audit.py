"""The audit: recompute the log from the stored receipts and check every link.

It reads everything and trusts nothing: each leaf is recomputed from its bytes, each envelope's
signature checked, the tree rebuilt from the leaves and compared with the stored subtree hashes
and the head, and every consent, withdrawal, erasure and rendition matched to its leaf and to its
own receipt.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import select

from consent.crypto.keyring import Keyring
from consent.crypto.receipts import (
    canonical,
    verify_envelope,
)
from consent.db import AnySession
from consent.errors import VerificationError
from consent.ledger.checkpoint import Checkpoint
from consent.ledger.merkle import EMPTY_ROOT, leaf_hash, node_hash
from consent.ledger.models import LogHead, LogLeaf, LogNode
from consent.workflows.audit_erasures import check_erasures, check_renditions
from consent.workflows.audit_records import (
    BATCH,
    AuditReport,
    Finding,
    check_consents,
    check_withdrawals,
    stream,
)


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
    for leaf in stream(session, select(LogLeaf).order_by(LogLeaf.index)):
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
    withdrawn = check_withdrawals(session, report, keyring, leaves_by_record)
    check_consents(session, report, keyring, leaves_by_record, withdrawn)
    check_erasures(session, report, keyring, leaves_by_record, withdrawn)
    check_renditions(session, report, keyring, leaves_by_record)
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


__all__ = ["AuditReport", "Finding", "audit"]
