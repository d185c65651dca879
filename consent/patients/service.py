"""Registering patients: their identity goes into the vault, never into a column in the clear."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from consent.accounts.scope import Scope
from consent.crypto.vault import Vault, open_sealed, seal
from consent.db import AnySession
from consent.db.types import new_id
from consent.errors import Conflict, Gone, NotFound
from consent.patients.models import Patient, PatientKey


def register_patient(
    session: AnySession,
    vault: Vault,
    *,
    team_id: str,
    record_number: str,
    name: str,
    birth_date: date,
) -> Patient:
    """Add a patient to the team. Raises Conflict when the record number is registered in
    that team already (another team's patients are not looked at)."""
    lookup = vault.record_lookup(record_number)
    existing = session.scalar(
        select(Patient.id).where(Patient.team_id == team_id, Patient.record_lookup == lookup)
    )
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
        team_id=team_id,
        record_lookup=lookup,
        identity_sealed=seal(data_key, json.dumps(identity).encode()),
    )
    session.add(patient)
    session.flush()
    session.add(PatientKey(patient_id=patient.id, wrapped_key=wrapped))
    session.flush()
    return patient


def get_patient(session: AnySession, patient_id: str, *, scope: Scope) -> Patient:
    """The patient, if of the caller's teams. Raises NotFound, or Gone once erased."""
    patient = session.get(Patient, patient_id)
    if patient is None or not scope.allows(patient.team_id):
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


def identity(session: AnySession, vault: Vault, patient_id: str, *, scope: Scope) -> dict[str, str]:
    """The patient's identity fields, decrypted. For clinician pages only.

    Raises NotFound (no such patient in the caller's teams), or Gone once erased.
    """
    patient = get_patient(session, patient_id, scope=scope)
    assert patient.identity_sealed is not None
    sealed = patient.identity_sealed
    decoded: dict[str, str] = json.loads(open_sealed(data_key(session, vault, patient_id), sealed))
    return decoded
