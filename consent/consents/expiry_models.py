"""What the expiry run has recorded: which consents it expired, and which were given for a
minor. Receipts are never rewritten; these rows sit beside them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from consent.db import db
from consent.db.types import UTCDateTime, utcnow

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
