"""The audit's checks of each signed record against its log entry: consents (and their uses
and paper scans), withdrawals, erasures, renditions. See consent.workflows.audit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from consent.consents.models import (
    Consent,
    ConsentUse,
    ExternalEvidence,
    PaperScan,
    Withdrawal,
)
from consent.crypto.keyring import Keyring
from consent.crypto.receipts import (
    canonical,
    envelope_from_parts,
    verify_stored,
)
from consent.db import AnySession
from consent.db.types import rfc3339
from consent.errors import IntegrityFailure, VerificationError
from consent.forms.binding import check_binding
from consent.forms.models import FormVersion
from consent.ledger.merkle import EMPTY_ROOT
from consent.records.mixin import SignedRecord

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


def stream(session: AnySession, statement: Any) -> Iterator[Any]:
    yield from session.execute(statement.execution_options(yield_per=BATCH)).scalars()


def pop_leaf(
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


def logged_receipt(
    report: AuditReport,
    keyring: Keyring,
    leaves: dict[str, tuple[int, str, bytes]],
    record: SignedRecord,
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
    pop_leaf(report, leaves, record.id, kind, record.log_index, envelope)
    return body


def check_consents(
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
    documents = {row.consent_id: row for row in session.scalars(select(ExternalEvidence))}
    forms = {
        (form.form_id, form.version, form.language): form
        for form in session.scalars(select(FormVersion))
    }
    for consent in stream(session, select(Consent).order_by(Consent.log_index)):
        report.consents += 1
        signed = logged_receipt(report, keyring, leaves, consent, "consent")
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
            or body.get("team", consent.team_id) != consent.team_id
        ):
            report.findings.append(Finding(consent.id, "columns differ from the signed receipt"))
        _check_form(report, consent.id, body, forms)
        _check_evidence_file(report, consent.id, body, "paper", scans.pop(consent.id, None))
        _check_evidence_file(report, consent.id, body, "external", documents.pop(consent.id, None))
        # Since version 2 the tablet method can only be written with its evidence.
        tablet_v2 = body["receipt_version"] >= 2 and body["method"] == "tablet"
        if tablet_v2 and not ("signature" in body and "signing_session" in body):
            report.findings.append(
                Finding(consent.id, "tablet consent without its signature and session")
            )
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
    orphans: list[tuple[str, PaperScan | ExternalEvidence]] = [
        *scans.items(),
        *documents.items(),
    ]
    for consent_id, row in orphans:
        report.findings.append(
            Finding(row.id, f"evidence recorded for consent {consent_id}, which is gone")
        )


# The receipt field that binds each method's evidence document, and how findings name it.
_EVIDENCE_FIELDS = {"paper": ("paper_scan", "scan"), "external": ("external_evidence", "evidence")}


def _check_evidence_file(
    report: AuditReport,
    consent_id: str,
    body: dict[str, Any],
    method: str,
    row: PaperScan | ExternalEvidence | None,
) -> None:
    """A consent recorded on paper (or collected elsewhere) has one evidence row, and it is
    the document its receipt binds."""
    field, name = _EVIDENCE_FIELDS[method]
    signed = body.get(field)
    if row is None:
        if signed is not None or body.get("method") == method:
            report.findings.append(Finding(consent_id, f"{method} consent has no {name} recorded"))
        return
    if signed is None:
        report.findings.append(
            Finding(consent_id, f"{name} {row.id} recorded, but the receipt binds none")
        )
    elif signed.get("sha256") != row.sha256 or signed.get("media_type") != row.media_type:
        report.findings.append(
            Finding(consent_id, f"{name} {row.id} differs from the signed receipt")
        )


def check_withdrawals(
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
        body = logged_receipt(report, keyring, leaves, withdrawal, "withdrawal")
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


def _check_form(
    report: AuditReport,
    consent_id: str,
    body: dict[str, Any],
    forms: dict[tuple[str, int, str], FormVersion],
) -> None:
    """The form text the receipt binds is the catalogued one, rendered again for its uses
    (consent.forms.binding), and names the uses in the receipt's order (issue 21)."""
    bound = body["form"]
    form = forms.get((bound.get("id"), bound.get("version"), bound.get("language")))
    if form is None:
        report.findings.append(Finding(consent_id, "the form version it names is not catalogued"))
        return
    try:
        check_binding(form, bound)
    except IntegrityFailure as exc:
        report.findings.append(Finding(consent_id, exc.message))
        return
    if "purposes" in bound and bound["purposes"] != [use["purpose"] for use in body["uses"]]:
        report.findings.append(Finding(consent_id, "the form text names other uses than it"))
