"""Form versions: the exact text shown to the patient, and its hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from consent.db import db
from consent.db.types import UTCDateTime, utcnow


class FormVersion(db.Model):  # type: ignore[name-defined,misc]
    """One form, one version, one language. Immutable once a request uses it."""

    __tablename__ = "form_versions"
    __table_args__ = (
        UniqueConstraint("form_id", "version", "language"),
        CheckConstraint("version > 0", name="version_positive"),
        CheckConstraint("length(text_sha256) = 64", name="sha256_hex"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    # The patient-facing text exactly as rendered; its SHA-256 goes into every receipt.
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    # The definition (sections, purposes, questions) as canonical JSON, for the tablet pages.
    definition: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
