"""Registering patients: their identity goes into the vault, never into a column in the clear."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from consent.crypto.vault import Vault, open_sealed, seal
from consent.db import AnySession
from consent.db.types import new_id
from consent.errors import Conflict, Gone, NotFound
from consent.patients.models import Patient, PatientKey


def register_patient(
    session: AnySession, vault: Vault, *, record_number: str, name: str, birth_date: date
) -> Patient:
    """Add a patient. Raises Conflict when the record number is already registered."""
    lookup = vault.record_lookup(record_number)
    existing = session.scalar(select(Patient.id).where(Patient.record_lookup == lookup))
    if existing is not None:
        raise Conflict(
            "A patient with this record number is already registered.", errors={"id": existing}
        )
    data_key, wrapped = vault.new_data_key()
    identity = {
        "record_number": record_number.strip(),
        "name": name.strip(),
        "birth_date": birth_date.isoformat(),
    }
    patient = Patient(
        id=new_id("pt"),
        record_lookup=lookup,
        identity_sealed=seal(data_key, json.dumps(identity).encode()),
    )
    session.add(patient)
    session.flush()
    session.add(PatientKey(patient_id=patient.id, wrapped_key=wrapped))
    session.flush()
    return patient


def get_patient(session: AnySession, patient_id: str) -> Patient:
    """The patient. Raises NotFound, or Gone once the patient was erased."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient {patient_id}.")
    if patient.erased_at is not None:
        raise Gone(f"Patient {patient_id} was erased.")
    return patient


def data_key(session: AnySession, vault: Vault, patient_id: str) -> bytes:
    """The patient's unwrapped data key. Raises Gone once it was destroyed."""
    row = session.get(PatientKey, patient_id)
    if row is None:
        raise Gone(f"Patient {patient_id} was erased.")
    return vault.unwrap(row.wrapped_key)


def identity(session: AnySession, vault: Vault, patient_id: str) -> dict[str, str]:
    """The patient's identity fields, decrypted. For clinician pages only.

    Raises NotFound, or Gone once the patient was erased.
    """
    patient = get_patient(session, patient_id)
    assert patient.identity_sealed is not None
    sealed = patient.identity_sealed
    decoded: dict[str, str] = json.loads(open_sealed(data_key(session, vault, patient_id), sealed))
    return decoded
