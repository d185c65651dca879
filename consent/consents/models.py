"""Consent requests, consents and withdrawals, and what the expiry run records beside them.

A consent's receipt is stored byte-exact with its signature; columns beside it exist for look-up
and listing. Decisions that matter (verify) are taken from the verified receipts themselves.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from consent.consents.uses import METHODS, PURPOSES, SIGNER_ROLES
from consent.db import db
from consent.db.types import UTCDateTime, utcnow
from consent.records.mixin import SignedRecord

REQUEST_STATES = ("open", "decided")


class ConsentRequest(db.Model):  # type: ignore[name-defined,misc]
    """What a clinician asks: these media, this form, these uses, until this date."""

    __tablename__ = "consent_requests"
    __table_args__ = (
        CheckConstraint(f"status IN {REQUEST_STATES!r}", name="status_known"),
        # The worklist's counts and state filter (stage, then end date) and its pages (newest
        # first), per team, from the index (0016).
        Index("ix_consent_requests_team_stage", "team_id", "stage", "expires_at"),
        Index("ix_consent_requests_team_created", "team_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    # What the records say apart from the date (consents/stage.py keeps it, event by event).
    stage: Mapped[str] = mapped_column(
        String(24), default="waiting_patient", server_default="waiting_patient"
    )
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The clinician who gives the information: an account, member of the team (receipts name
    # the account; the name is resolved when shown). Requests from before teams kept only the
    # name as typed, in clinician_name.
    clinician_name: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Requests made together for the several subjects of the same media (one per subject,
    # each decided on its own): the id they share; None for a request of one subject.
    group_id: Mapped[str | None] = mapped_column(String(40), index=True)


class RequestMedia(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "request_media"

    request_id: Mapped[str] = mapped_column(ForeignKey("consent_requests.id"), primary_key=True)
    media_id: Mapped[str] = mapped_column(ForeignKey("media_items.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)

    # The requests that include a media item, from the index alone (verify's join; 0008).
    __table_args__ = (Index("ix_request_media_media_id_request_id", "media_id", "request_id"),)


class RequestUse(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "request_uses"
    __table_args__ = (CheckConstraint(f"purpose IN {PURPOSES!r}", name="purpose_known"),)

    request_id: Mapped[str] = mapped_column(ForeignKey("consent_requests.id"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40), primary_key=True)
    # JSON array of channel names; [] means any channel of that purpose.
    channels: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)


class Consent(SignedRecord, db.Model):  # type: ignore[name-defined,misc]
    """The patient's decision on a request: a signed receipt. Immutable (invariant 1)."""

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint(f"signer_role IN {SIGNER_ROLES!r}", name="signer_role_known"),
        CheckConstraint(f"method IN {METHODS!r}", name="method_known"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    # One decision per request: a second one is refused by the database too.
    request_id: Mapped[str] = mapped_column(ForeignKey("consent_requests.id"), unique=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signer_role: Mapped[str] = mapped_column(String(30))
    method: Mapped[str] = mapped_column(String(20))
    # A legal representative's name identifies the patient: sealed with the patient's key.
    signer_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The drawn signature (strokes as JSON, and its SVG rendering), sealed; their SHA-256 are
    # in the receipt. None for decisions recorded through the API or on paper.
    signature_strokes_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    signature_svg_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The patient's withdrawal code: its hash to find the consent, sealed to show it again.
    withdrawal_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    withdrawal_code_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)


class ConsentUse(db.Model):  # type: ignore[name-defined,misc]
    """One use of a consent: granted or refused; withdrawn_at once a withdrawal receipt says so."""

    __tablename__ = "consent_uses"
    __table_args__ = (CheckConstraint(f"purpose IN {PURPOSES!r}", name="purpose_known"),)

    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40), primary_key=True)
    channels: Mapped[str] = mapped_column(Text)
    granted: Mapped[bool] = mapped_column(Boolean)
    withdrawal_id: Mapped[str | None] = mapped_column(ForeignKey("withdrawals.id"))


class Withdrawal(SignedRecord, db.Model):  # type: ignore[name-defined,misc]
    """A patient's withdrawal of some or all granted uses: its own signed receipt."""

    __tablename__ = "withdrawals"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SigningLink(db.Model):  # type: ignore[name-defined,misc]
    """A single-use, expiring link that opens a request on the tablet. Only its hash is kept."""

    __tablename__ = "signing_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("consent_requests.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The browser session that opened it: a second device cannot take over the flow.
    opened_by: Mapped[str | None] = mapped_column(String(64))
    # When the tablet first opened it (the request page's timeline; 0016).
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReceiptHandoff(db.Model):  # type: ignore[name-defined,misc]
    """A short-lived link from the tablet's last page to the patient's phone
    (consent.consents.handoff)."""

    __tablename__ = "receipt_handoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The hash of the first device's random id: another phone cannot use the same code.
    device: Mapped[str | None] = mapped_column(String(64))


class PendingDecision(db.Model):  # type: ignore[name-defined,misc]
    """What the patient chose and signed on the tablet, until the clinician confirms it."""

    __tablename__ = "pending_decisions"
    __table_args__ = (
        CheckConstraint(f"signer_role IN {SIGNER_ROLES!r}", name="signer_role_known"),
    )

    request_id: Mapped[str] = mapped_column(ForeignKey("consent_requests.id"), primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("signing_links.id"))
    # JSON {purpose: true/false}; no identity in it.
    choices: Mapped[str] = mapped_column(Text)
    signer_role: Mapped[str] = mapped_column(String(30))
    relationship: Mapped[str | None] = mapped_column(String(40))
    signer_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    signature_strokes_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    signature_svg_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    strokes_sha256: Mapped[str] = mapped_column(String(64))
    svg_sha256: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


SCAN_TYPES = ("application/pdf", "image/jpeg", "image/png")


class PaperScan(db.Model):  # type: ignore[name-defined,misc]
    """The scan of a signed paper form: bound by SHA-256 in the consent's receipt; its bytes
    are kept encrypted under the patient's data key in the media store, named by this id."""

    __tablename__ = "paper_scans"
    __table_args__ = (
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        CheckConstraint("size_bytes > 0", name="not_empty"),
        CheckConstraint(f"media_type IN {SCAN_TYPES!r}", name="media_type_known"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # One scan per consent, and only for a consent recorded on paper.
    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id"), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Kinds of evidence a system that collected consent elsewhere attaches.
EVIDENCE_KINDS = ("e-signature", "patient-portal", "signed-document", "other")
EVIDENCE_TYPES = ("application/pdf", "image/jpeg", "image/png", "application/json", "text/plain")


class ExternalEvidence(db.Model):  # type: ignore[name-defined,misc]
    """The evidence of a consent collected elsewhere (another e-signature tool, a patient
    portal): bound by SHA-256 in the consent's receipt, with its kind and source; its bytes are
    kept encrypted under the patient's data key in the media store, named by this id."""

    __tablename__ = "external_evidence"
    __table_args__ = (
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        CheckConstraint("size_bytes > 0", name="not_empty"),
        CheckConstraint(f"kind IN {EVIDENCE_KINDS!r}", name="kind_known"),
        CheckConstraint(f"media_type IN {EVIDENCE_TYPES!r}", name="media_type_known"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    # Where it comes from, as the integration names it ("DocuSign envelope 4F2...").
    source: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# How a consent was assessed: from the patient's birth date, or not at all because the
# patient was erased (no birth date left to read).
BASES = ("birth_date", "erased")


class ConsentExpiry(db.Model):  # type: ignore[name-defined,misc]
    """A consent that reached its end date, as `flask --app consent expire` found it. One row
    per consent (the primary key): its consent.expired event is emitted once, with the row."""

    __tablename__ = "consent_expiries"

    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id"), primary_key=True)
    # The end date in the receipt, and when the run noticed it had passed.
    expired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MajorityReview(db.Model):  # type: ignore[name-defined,misc]
    """Whether a consent was given for a minor, from the patient's sealed birth date, and if
    so the day they turn 18, when they are asked to decide for themselves (DOMAIN.md, item 8;
    R.4127-42). Nothing is revoked on that day: the consent is listed for review."""

    __tablename__ = "majority_reviews"
    __table_args__ = (
        CheckConstraint(
            "(minor AND review_on IS NOT NULL) OR (NOT minor AND review_on IS NULL)",
            name="review_date_for_minors",
        ),
        CheckConstraint(f"basis IN {BASES!r}", name="basis_known"),
        Index("ix_majority_reviews_review_on", "review_on"),
    )

    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id"), primary_key=True)
    minor: Mapped[bool] = mapped_column(Boolean)
    review_on: Mapped[date | None] = mapped_column(Date)
    # "birth_date" when assessed from it; "erased" when the patient's identity was gone.
    basis: Mapped[str] = mapped_column(String(20))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Case texts live in their own module (size); imported here so that they are registered with
# the models of their domain.
from consent.consents.text_models import CaseText as CaseText  # noqa: E402
from consent.consents.text_models import CaseTextBand as CaseTextBand  # noqa: E402
