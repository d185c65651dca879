"""Media items, the band index of their perceptual hashes, and their publishable renditions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from consent.db import db
from consent.db.types import UTCDateTime, utcnow
from consent.records.mixin import SignedRecord


class MediaItem(db.Model):  # type: ignore[name-defined,misc]
    """A photo or video of a patient, bound by its SHA-256; its bytes are stored encrypted."""

    __tablename__ = "media_items"
    __table_args__ = (
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        CheckConstraint("size_bytes > 0", name="not_empty"),
        # With the id: verify finds a file's items by hash from the index alone, without a
        # read of each item's row (consent.verify.service; migration 0008).
        Index("ix_media_items_sha256_id", "sha256", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    # The first subject, whose patient the upload named (kept for compatibility); every
    # subject, this one included, is a row of media_subjects.
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    # 64-bit pHash as 16 hex digits; images only.
    phash: Mapped[str | None] = mapped_column(String(16))
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    # The clinician's description may name the patient, so it is sealed like the identity.
    description_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # The faces seen (consent.media.faces): a JSON list of boxes, found at upload or drawn by
    # the clinician; "[]" when none; NULL when never looked at (before migration 0023).
    faces: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    bytes_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MediaSubject(db.Model):  # type: ignore[name-defined,misc]
    """A patient seen in a media item: every subject decides for themselves, and verify asks
    every one of them (consent.verify.service).

    ``key_sealed``: the media item's own data key, sealed with this subject's patient key, so
    that any subject not erased can open the bytes and erasing one subject shreds only their
    copy of it (consent.media.keys). NULL for an item stored before subjects existed
    (migration 0021): its bytes are then under the patient key of its first subject itself.
    """

    __tablename__ = "media_subjects"
    __table_args__ = (Index("ix_media_subjects_patient_id", "patient_id"),)

    media_id: Mapped[str] = mapped_column(ForeignKey("media_items.id"), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Who added them ("account:3", "api-key:12", "integration:in_...", as made_by says it).
    added_by: Mapped[str] = mapped_column(String(60))
    key_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)


class PerceptualBand(db.Model):  # type: ignore[name-defined,misc]
    """One byte of a media item's pHash, indexed, to find near images without a full scan.

    Eight bands of eight bits: by the pigeonhole principle two hashes at Hamming distance 7 or
    less agree exactly on at least one band, so querying the eight bands finds every such match.
    """

    __tablename__ = "perceptual_bands"
    __table_args__ = (
        CheckConstraint("band >= 0 AND band < 8", name="band_range"),
        CheckConstraint("value >= 0 AND value < 256", name="value_range"),
    )

    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    media_id: Mapped[str] = mapped_column(
        ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True
    )


RENDITION_KINDS = ("metadata-stripped", "face-masked")


class MediaRendition(SignedRecord, db.Model):  # type: ignore[name-defined,misc]
    """A copy of a media item made by the service (its metadata removed, or its faces hidden too:
    "face-masked"), bound to the original
    by a signed, logged receipt so that verify answers for the copy as for the original.

    Only hashes and sizes: the copy's bytes are never stored (they are made again from the
    original on request), and nothing here says who the patient is.
    """

    __tablename__ = "media_renditions"
    __table_args__ = (
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        CheckConstraint("kind IN ('metadata-stripped', 'face-masked')", name="kind_known"),
        UniqueConstraint("media_id", "kind"),
        # verify looks renditions up by hash, in the same statement as media items.
        Index("ix_media_renditions_sha256", "sha256"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    media_id: Mapped[str] = mapped_column(ForeignKey("media_items.id"))
    kind: Mapped[str] = mapped_column(String(30))
    sha256: Mapped[str] = mapped_column(String(64))
    phash: Mapped[str | None] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    # The API key that asked for the copy ("api-key:<id>"): staff, never the patient.
    made_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RenditionBand(db.Model):  # type: ignore[name-defined,misc]
    """One byte of a face-masked copy's pHash, indexed like PerceptualBand: a re-encoded masked
    copy is found near the copy itself, not only near its original (consent.verify)."""

    __tablename__ = "rendition_bands"
    __table_args__ = (
        CheckConstraint("band >= 0 AND band < 8", name="band_range"),
        CheckConstraint("value >= 0 AND value < 256", name="value_range"),
    )

    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    rendition_id: Mapped[str] = mapped_column(
        ForeignKey("media_renditions.id", ondelete="CASCADE"), primary_key=True
    )
