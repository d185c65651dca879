"""The statements verify runs, written once as Core and run on a held connection
(consent.db.readpath): everything about a file in one round trip, and the perceptual band
index for a re-encoded copy.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Select, and_, bindparam, null, or_, select, union_all

from consent.consents.models import Consent, RequestMedia, Withdrawal
from consent.db.readpath import PreparedRead
from consent.ledger.models import LogHead
from consent.media.fingerprints import bands, hamming
from consent.media.models import (
    MediaItem,
    MediaRendition,
    MediaSubject,
    PerceptualBand,
    RenditionBand,
)

# One round trip for everything verify needs about a file: its media items, the consents whose
# requests include them, and their withdrawals. Built once; executed on the Core connection,
# since this is the hot path of every publishing tool.
_media, _links = MediaItem.__table__, RequestMedia.__table__
_consents, _withdrawals = Consent.__table__, Withdrawal.__table__
_renditions = MediaRendition.__table__
_subjects = MediaSubject.__table__
_bands = PerceptualBand.__table__
_head = LogHead.__table__
# The log head in the same statement: on PostgreSQL one snapshot, so the checkpoint an answer
# names is the tree that held the receipts it read.
_HEAD_SIZE = select(_head.c.size).where(_head.c.id == 1).scalar_subquery()
_HEAD_ROOT = select(_head.c.root).where(_head.c.id == 1).scalar_subquery()
HEAD = PreparedRead(select(_head.c.size, _head.c.root).where(_head.c.id == 1))
# What verify weighs, after the bound hash: the consents that cover it and their withdrawals,
# with the log's head. The same columns for a file and for a text (consent.verify.texts).
EVIDENCE_COLUMNS = (
    _consents.c.id.label("consent_id"),
    _consents.c.receipt.label("consent_receipt"),
    _consents.c.signature.label("consent_signature"),
    _consents.c.key_id.label("consent_key_id"),
    _withdrawals.c.id.label("withdrawal_id"),
    _withdrawals.c.receipt.label("withdrawal_receipt"),
    _withdrawals.c.signature.label("withdrawal_signature"),
    _withdrawals.c.key_id.label("withdrawal_key_id"),
)
HEAD_COLUMNS = (_HEAD_SIZE.label("head_size"), _HEAD_ROOT.label("head_root"))


_RENDITION_COLUMNS = (
    "rendition_id",
    "rendition_kind",
    "rendition_receipt",
    "rendition_signature",
    "rendition_key_id",
)


def _records(*, via_rendition: bool) -> Select[Any]:
    """The records of media items, found directly or through a rendition of them (a copy the
    service made, whose receipt the rendition columns carry)."""
    if via_rendition:
        rendition = [
            _renditions.c.id.label("rendition_id"),
            _renditions.c.kind.label("rendition_kind"),
            _renditions.c.receipt.label("rendition_receipt"),
            _renditions.c.signature.label("rendition_signature"),
            _renditions.c.key_id.label("rendition_key_id"),
        ]
        source = _renditions.join(_media, _media.c.id == _renditions.c.media_id)
    else:
        rendition = [null().label(name) for name in _RENDITION_COLUMNS]
        source = _media
    return (
        select(
            *HEAD_COLUMNS,
            _media.c.id.label("media_id"),
            _media.c.sha256.label("media_sha256"),
            # Every patient the item shows: each decides (consent.verify.service). One row per
            # subject, so a photo of one person reads as many rows as before.
            _subjects.c.patient_id.label("subject_id"),
            *rendition,
            *EVIDENCE_COLUMNS,
        )
        .select_from(source)
        .outerjoin(_subjects, _subjects.c.media_id == _media.c.id)
        .outerjoin(_links, _links.c.media_id == _media.c.id)
        .outerjoin(_consents, _consents.c.request_id == _links.c.request_id)
        .outerjoin(_withdrawals, _withdrawals.c.consent_id == _consents.c.id)
    )


# One round trip for everything verify needs about a file: its media items, found by their
# own hash or by the hash of a rendition (each branch through its sha256 index), the consents
# whose requests include them, and their withdrawals. Built once; executed on a held DBAPI
# connection, since this is the hot path of every publishing tool.
BY_SHA256 = PreparedRead(
    union_all(
        _records(via_rendition=False).where(_media.c.sha256 == bindparam("sha256")),
        _records(via_rendition=True).where(_renditions.c.sha256 == bindparam("sha256")),
    )
)
BY_MEDIA_IDS = _records(via_rendition=False).where(
    _media.c.id.in_(bindparam("media_ids", expanding=True))
)
# A re-encoded face-masked copy (issue 19): its records through the copy's rendition.
BY_RENDITION_IDS = _records(via_rendition=True).where(
    _renditions.c.id.in_(bindparam("rendition_ids", expanding=True))
)


# The media items sharing at least one pHash band with the file's, through the band index.
# (band = 0 AND value = ?) OR ...: both engines use the primary key for it, where a row-value IN
# makes SQLite scan every band. Prepared, as the exact lookup is: building the eight conditions
# in the ORM cost 0.8 ms a call.
NEAR = PreparedRead(
    select(_media.c.id, _media.c.phash, _media.c.sha256)
    .join(_bands, _bands.c.media_id == _media.c.id)
    .where(
        or_(
            *(
                and_(_bands.c.band == band, _bands.c.value == bindparam(f"band{band}"))
                for band in range(8)
            )
        )
    )
    .distinct()
)


_rbands = RenditionBand.__table__
# The face-masked copies sharing a pHash band with the file's (their own band index).
NEAR_MASKED = PreparedRead(
    select(_renditions.c.id, _renditions.c.phash, _renditions.c.sha256)
    .join(_rbands, _rbands.c.rendition_id == _renditions.c.id)
    .where(
        or_(
            *(
                and_(_rbands.c.band == band, _rbands.c.value == bindparam(f"band{band}"))
                for band in range(8)
            )
        )
    )
    .distinct()
)


def perceptual_candidates(
    phash: str, engine: Engine, *, max_distance: int, masked: bool = False
) -> tuple[list[str], int, str] | None:
    """The nearest media items (face-masked copies when ``masked``) within ``max_distance``
    (Hamming, of 64 bits), through the band index: (ids, distance, SHA-256 of one), or None."""
    limit = max_distance
    near = NEAR_MASKED if masked else NEAR
    candidates = near.all(engine, **{f"band{band}": value for band, value in bands(phash)})
    scored = sorted(
        (hamming(phash, candidate_phash), media_id, sha)
        for media_id, candidate_phash, sha in candidates
        if candidate_phash is not None
    )
    scored = [entry for entry in scored if entry[0] <= limit]
    if not scored:
        return None
    best = scored[0][0]
    nearest = [entry for entry in scored if entry[0] == best]
    return [entry[1] for entry in nearest], best, nearest[0][2]
