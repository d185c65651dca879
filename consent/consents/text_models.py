"""Case texts of a request and their near-match index (imported by consent.consents.models)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from consent.db import db
from consent.db.types import UTCDateTime, utcnow


class CaseText(db.Model):  # type: ignore[name-defined,misc]
    """A text the clinician will publish about the case, shown in full to the patient.

    Immutable: a changed text is a new request. The text itself is sealed with the patient's
    data key (erasure destroys it); its normalised SHA-256 (consent.consents.text_norm) is what
    the receipt binds and what verify looks up.
    """

    __tablename__ = "case_texts"
    __table_args__ = (
        UniqueConstraint("request_id", "ordinal"),
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        CheckConstraint("characters > 0", name="not_empty"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("consent_requests.id"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    characters: Mapped[int] = mapped_column(Integer)
    text_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # MinHash signature (consent.consents.text_norm.pack): hashes only, never words.
    minhash: Mapped[bytes] = mapped_column(LargeBinary)
    # The clinician confirmed publishing a text in which screening found a subject's own name
    # or record number, for a public use (consent.consents.screening); by whom and when.
    identifiers_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseTextBand(db.Model):  # type: ignore[name-defined,misc]
    """One locality-sensitive band of a case text's MinHash, indexed: near texts share one."""

    __tablename__ = "case_text_bands"

    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    text_id: Mapped[str] = mapped_column(
        ForeignKey("case_texts.id", ondelete="CASCADE"), primary_key=True
    )
