"""Patients and their wrapped data keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from consent.db import db
from consent.db.types import UTCDateTime, utcnow
from consent.records.mixin import SignedRecord


class Patient(db.Model):  # type: ignore[name-defined,misc]
    """A patient known by a random id; name, birth date and record number are sealed."""

    __tablename__ = "patients"

    # A record number is looked up within the team: another team's patient is not "already
    # registered" (that answer would confirm someone is a patient elsewhere in the hospital).
    __table_args__ = (UniqueConstraint("team_id", "record_lookup"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    # Keyed hash of the record number (consent.crypto.vault.Vault.record_lookup).
    record_lookup: Mapped[str] = mapped_column(String(64))
    identity_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PatientKey(db.Model):  # type: ignore[name-defined,misc]
    """The patient's data key, wrapped by the master key. Deleting this row erases the patient."""

    __tablename__ = "patient_keys"

    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)


class PatientErasure(SignedRecord, db.Model):  # type: ignore[name-defined,misc]
    """The signed, logged record that a patient's identity and media were destroyed.

    It names the pseudonymous patient id and what was ended, never who the patient was: the
    evidence that consents existed (and were withdrawn by the erasure) stays verifiable.
    """

    __tablename__ = "patient_erasures"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
