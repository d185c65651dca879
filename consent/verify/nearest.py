"""A re-encoded copy of a file, found through the perceptual band indexes: of the media items
or of their face-masked copies (issue 19), whichever is nearer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from consent.crypto.keyring import Keyring
from consent.verify.evidence import exact_match
from consent.verify.statements import BY_MEDIA_IDS, BY_RENDITION_IDS, perceptual_candidates

FACE_MASKED = "face-masked"


def perceptual(
    phash: str, engine: Engine, keyring: Keyring, max_distance: int
) -> tuple[list[Any], dict[str, Any] | None]:
    """The records of the media items (or face-masked copies) nearest to ``phash``, and the
    match; a masked copy only when strictly nearer than any original (a tie is the original's,
    the more protective answer)."""
    near = perceptual_candidates(phash, engine, max_distance=max_distance)
    masked = perceptual_candidates(phash, engine, max_distance=max_distance, masked=True)
    rows: list[Any] = []
    if masked is not None and (near is None or masked[1] < near[1]):
        rendition_ids, distance, matched_sha256 = masked
        with engine.connect() as connection:
            found = connection.execute(BY_RENDITION_IDS, {"rendition_ids": rendition_ids})
            rows = [row for row in found.all() if row.rendition_kind == FACE_MASKED]
        bound = exact_match(
            [row for row in rows if row.rendition_id == rendition_ids[0]], matched_sha256, keyring
        )
        match = {"kind": "perceptual", "distance": distance, "sha256": matched_sha256}
        return rows, {**match, "rendition_of": bound["rendition_of"], "rendition": FACE_MASKED}
    if near is None:
        return rows, None
    media_ids, distance, matched_sha256 = near
    with engine.connect() as connection:
        rows = list(connection.execute(BY_MEDIA_IDS, {"media_ids": media_ids}).all())
    return rows, {"kind": "perceptual", "distance": distance, "sha256": matched_sha256}
