"""An upload that is already stored: the same bytes (SHA-256) or the same picture re-encoded
(perceptual hash within the configured distance).

The same photo stored twice for two patients made verify follow whichever consent was newest
(issue 19): an upload that matches is never stored silently. Within the team the caller is told
which item it matches and chooses (consent.media.service.RESOLUTIONS); a match in another team
is refused without a word on what it matched (another team's records are not the caller's to
know of).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select

from consent.db import AnySession
from consent.media.fingerprints import bands, hamming
from consent.media.models import MediaItem, PerceptualBand


@dataclass(frozen=True)
class Duplicate:
    """The stored item an upload matches: ``match`` is ``exact`` or ``perceptual``."""

    item: MediaItem
    match: str
    distance: int


def find_duplicate(
    session: AnySession, *, sha256: str, phash: str | None, max_distance: int
) -> Duplicate | None:
    """The stored item an upload matches, in any team: the same bytes first, else the nearest
    picture within ``max_distance`` (the oldest item when several tie)."""
    exact = session.scalars(
        select(MediaItem)
        .where(MediaItem.sha256 == sha256)
        .order_by(MediaItem.created_at, MediaItem.id)
        .limit(1)
    ).first()
    if exact is not None:
        return Duplicate(exact, "exact", 0)
    if phash is None:
        return None
    candidates = session.scalars(
        select(MediaItem)
        .join(PerceptualBand, PerceptualBand.media_id == MediaItem.id)
        .where(
            or_(
                *(
                    and_(PerceptualBand.band == band, PerceptualBand.value == value)
                    for band, value in bands(phash)
                )
            )
        )
        .distinct()
    ).all()
    scored = sorted(
        (hamming(phash, item.phash), item.created_at, item.id, item)
        for item in candidates
        if item.phash is not None
    )
    if not scored or scored[0][0] > max_distance:
        return None
    distance, _created, _id, item = scored[0]
    return Duplicate(item, "perceptual", distance)
