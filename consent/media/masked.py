"""The stored face-masked copy of a media item (issue 19): the copy's bytes, and what it was made
from, kept together in one encrypted file under the item's own key (``fm_``).

A photo's copy took a decode, a mask and a detector pass on every tablet view; a video's takes
minutes of encoding. Each is made once for a set of face boxes and read back afterwards. The file
holds one header line (JSON: the key of the boxes and mask shape it was made from, the boxes
hidden, the copy's media type, or why no copy could be made) and then the copy's bytes, exactly
as shown to the patient and as hashed into the rendition receipt. Boxes that change give another
key: the stored copy is then stale and is made again. The header is ours, never published.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from consent.errors import IntegrityFailure
from consent.media.faces import MASK_SHAPE, FaceBox, faces_json

MASKED_FORMAT = "consent-face-masked/1"


def masked_id(media_id: str) -> str:
    """The store id of a media item's face-masked copy: ``fm_`` and the item's hex digits."""
    return "fm_" + media_id.removeprefix("md_")


def boxes_key(boxes: list[FaceBox] | None, shape: str = MASK_SHAPE.name) -> str:
    """What a copy depends on besides the original: the boxes as kept, and the mask's shape."""
    return hashlib.sha256(f"{shape}\n{faces_json(boxes or [])}".encode()).hexdigest()


@dataclass(frozen=True)
class StoredMask:
    """A face-masked copy as stored: what it was made from, the copy's SHA-256 and bytes
    (``data`` is None when only the header was read); ``refused`` says why there is no copy."""

    key: str
    media_type: str
    hidden: list[dict[str, Any]] = field(default_factory=list)
    sha256: str | None = None
    refused: str | None = None
    data: bytes | None = None

    @classmethod
    def made(
        cls, key: str, media_type: str, hidden: list[dict[str, Any]], data: bytes
    ) -> StoredMask:
        return cls(key, media_type, hidden, hashlib.sha256(data).hexdigest(), None, data)

    def hidden_boxes(self) -> list[list[int]]:
        """The boxes hidden, as the rendition receipt lists them (left, top, width, height)."""
        return [[round(b["x"]), round(b["y"]), round(b["w"]), round(b["h"])] for b in self.hidden]


def pack(mask: StoredMask) -> bytes:
    header = {
        "format": MASKED_FORMAT,
        "key": mask.key,
        "media_type": mask.media_type,
        "hidden": mask.hidden,
        "sha256": mask.sha256,
        "refused": mask.refused,
    }
    line = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    return line + b"\n" + (mask.data or b"")


def unpack(stored: bytes, *, header_only: bool = False) -> StoredMask:
    """Raises IntegrityFailure for a file that is not a stored face-masked copy, or whose
    bytes are not the copy its header names."""
    line, newline, data = stored.partition(b"\n")
    try:
        header = json.loads(line)
        if header["format"] != MASKED_FORMAT or not newline:
            raise ValueError(header["format"])
        mask = StoredMask(
            key=str(header["key"]),
            media_type=str(header["media_type"]),
            hidden=list(header["hidden"]),
            sha256=header["sha256"],
            refused=header["refused"],
            data=None if header_only or header["refused"] else data,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityFailure("A stored face-masked copy is not in its format.") from exc
    if mask.data is not None and hashlib.sha256(mask.data).hexdigest() != mask.sha256:
        raise IntegrityFailure("A stored face-masked copy is not the copy it names.")
    return mask
