"""Erasing a patient: identity and media destroyed, evidence kept.

Crypto-shredding: everything identifying is sealed with the patient's data key, so destroying
that key (its wrapped copy is the ``patient_keys`` row) makes every sealed column unreadable at
once, wherever copies of the ciphertext may lie. The sealed columns are emptied as well, the
encrypted paper scans are deleted, and the record-number look-up is replaced.

A media item may show several people (consent.media.subjects). Its bytes are under a key of its
own, of which each subject holds a copy sealed with their patient key: erasing one subject
destroys their copy only, and the item's bytes stay readable for the others, whose receipts bind
them; the bytes are deleted with the last subject who is erased.

What stays: media fingerprints (so that verify keeps answering for those files), consent and
withdrawal receipts (pseudonymous), and the log. Every use still granted is withdrawn by a
signed withdrawal receipt, so verify answers ``withdrawn`` and publishers get consent.withdrawn;
then one signed erasure receipt, naming what was ended, is appended to the log. All in one
transaction: either the patient is erased and the log says so, or nothing changed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.engine import Engine

from consent import clock
from consent.accounts.scope import Scope
from consent.consents.models import (
    Consent,
    ConsentRequest,
    ExternalEvidence,
    PaperScan,
    PendingDecision,
)
from consent.consents.signing import revoke_open_links
from consent.consents.stage import refresh_patient
from consent.crypto.keyring import Keyring
from consent.db import AnySession
from consent.db.files import MediaStore
from consent.db.transactions import after_commit
from consent.db.types import new_id
from consent.errors import Gone, NotFound
from consent.media.masked import masked_id
from consent.media.models import MediaItem, MediaSubject
from consent.media.screen import screen_id
from consent.patients.models import Patient, PatientErasure, PatientKey
from consent.records.log import sign_and_log
from consent.records.receipts import Recorder, erasure_receipt
from consent.workflows.withdraw import withdraw_and_notify

log = logging.getLogger("consent.patients.erasure")


def erase_patient(
    session: AnySession,
    keyring: Keyring,
    files: MediaStore,
    patient_id: str,
    *,
    scope: Scope,
    recorded_by: Recorder,
) -> PatientErasure:
    """Erase the patient in the caller's transaction; their files go once it is committed.

    Raises NotFound (no such patient in the caller's teams), or Gone when already erased.
    """
    patient = session.get(Patient, patient_id, with_for_update=True)
    if patient is None or not scope.allows(patient.team_id):
        raise NotFound(f"No patient {patient_id}.")
    if patient.erased_at is not None:
        raise Gone(f"Patient {patient_id} was already erased.")
    now = clock.now()
    consents = session.scalars(
        select(Consent).where(Consent.patient_id == patient_id).order_by(Consent.issued_at)
    ).all()
    withdrawals = [
        withdraw_and_notify(session, keyring, consent, None, recorded_by=recorded_by)
        for consent in consents
    ]
    media = session.scalars(
        select(MediaItem)
        .join(MediaSubject, MediaSubject.media_id == MediaItem.id)
        .where(MediaSubject.patient_id == patient_id)
        .order_by(MediaItem.id)
    ).all()
    erasure_id = new_id("er")
    logged = sign_and_log(
        session,
        keyring,
        kind="erasure",
        record_id=erasure_id,
        body=erasure_receipt(
            erasure_id=erasure_id,
            issued_at=now,
            team=patient.team_id,
            subject=patient_id,
            consents=[consent.id for consent in consents],
            withdrawals=[withdrawal.id for withdrawal in withdrawals if withdrawal is not None],
            media_sha256=sorted({item.sha256 for item in media}),
            recorded_by=recorded_by,
        ),
    )
    erasure = PatientErasure(id=erasure_id, patient_id=patient_id, issued_at=now)
    erasure.sealed_by(logged)
    session.add(erasure)
    shown_to_others = _shown_to_others(session, patient_id, media)
    _destroy_identity(session, patient, consents, media, shown_to_others, now)
    consent_ids = [c.id for c in consents]
    scans = [
        *session.scalars(select(PaperScan.id).where(PaperScan.consent_id.in_(consent_ids))),
        *session.scalars(
            select(ExternalEvidence.id).where(ExternalEvidence.consent_id.in_(consent_ids))
        ),
    ]
    session.flush()
    # The files go once the commit holds: a failed erasure must leave the media readable.
    # Their content is unreadable already (the key is gone); a crash between the commit and
    # the deletion leaves only ciphertext nobody can open.
    shredded = [item.id for item in media if item.id not in shown_to_others]
    # Made on first view or in the background, if any: the screen and face-masked copies.
    screen_copies = [screen_id(media_id) for media_id in shredded]
    screen_copies += [masked_id(media_id) for media_id in shredded]
    for media_id in shredded + screen_copies + list(scans):
        files.delete_after_commit(session, media_id)
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    after_commit(session, lambda: _compact(engine))
    after_commit(
        session, lambda: log.info("patient erased", extra={"fields": {"erasure_id": erasure_id}})
    )
    return erasure


def _destroy_identity(
    session: AnySession,
    patient: Patient,
    consents: Sequence[Consent],
    media: Sequence[MediaItem],
    shown_to_others: set[str],
    now: datetime,
) -> None:
    patient_id = patient.id
    session.execute(delete(PatientKey).where(PatientKey.patient_id == patient_id))
    patient.identity_sealed = None
    patient.record_lookup = f"erased:{patient_id}"
    patient.erased_at = now
    # Their copy of each media key: unreadable already (their key is gone), emptied too.
    for subject in session.scalars(
        select(MediaSubject).where(MediaSubject.patient_id == patient_id)
    ):
        subject.key_sealed = None
    for item in media:
        if item.patient_id == patient_id:
            item.description_sealed = b""  # sealed with the erased patient's key
        if item.id not in shown_to_others:
            item.bytes_erased_at = now
    for consent in consents:
        consent.signer_sealed = None
        consent.signature_strokes_sealed = None
        consent.signature_svg_sealed = None
        consent.withdrawal_code_sealed = None
    requests = select(ConsentRequest.id).where(ConsentRequest.patient_id == patient_id)
    session.execute(delete(PendingDecision).where(PendingDecision.request_id.in_(requests)))
    revoke_open_links(session, requests, now)
    refresh_patient(session, patient_id)


def _shown_to_others(session: AnySession, patient_id: str, media: Sequence[MediaItem]) -> set[str]:
    """The media items that also show a subject not erased: their bytes stay."""
    if not media:
        return set()
    return set(
        session.scalars(
            select(MediaSubject.media_id)
            .join(Patient, Patient.id == MediaSubject.patient_id)
            .where(
                MediaSubject.media_id.in_([item.id for item in media]),
                MediaSubject.patient_id != patient_id,
                Patient.erased_at.is_(None),
            )
        )
    )


# Tables whose rows held the patient's sealed data before the erasure rewrote them.
_TOUCHED = (
    "patient_keys",
    "patients",
    "media_items",
    "media_subjects",
    "consents",
    "pending_decisions",
)


def _compact(engine: Engine) -> None:
    """Push the old row versions out of reach.

    SQLite overwrites deleted content (secure_delete, see consent/db/engines.py) once the WAL is
    checkpointed into the file; PostgreSQL's VACUUM frees the dead row versions. Copies in
    backups and in PostgreSQL's WAL archive age out with their retention (see README).
    """
    dialect = engine.dialect.name
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if dialect == "sqlite":
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        elif dialect == "postgresql":
            for table in _TOUCHED:
                connection.execute(text(f"VACUUM {table}"))
