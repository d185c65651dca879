"""Screen-sized copies of photos for the patient's tablet (issue 21, "light pages").

A phone photo is 12 megapixels and several MB; over a slow, shared hospital Wi-Fi it took the
tablet more than 20 s to show one. The tablet is sent instead a copy no larger than its screen
needs: the longest side at most 1600 px (an iPad's 820x1180 points at 2x is 1640x2360 device
pixels; the photo sits in a column narrower than the screen), JPEG at quality 80 (WebP for a
photo with transparency), progressive so a first view paints early, every metadata block left
behind (the orientation is applied to the pixels instead), and at most SCREEN_MAX_BYTES. What
the patient sees is the same picture: the receipt binds the original's SHA-256, which is what
the clinician uploaded.

It is made when the photo is uploaded (consent.api.media), or on first view for a photo
uploaded before (or when the upload found no decode slot free).

The copy is never published and never verified against: it is not a rendition with a receipt
(consent.workflows.rendition), only a cache of the original's pixels, stored encrypted with the
patient's data key like the original (consent.workflows.screen_rendition), so an erasure
crypto-shreds it too.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps

from consent.errors import InvalidInput
from consent.media.fingerprints import decoded_image

SCREEN_LONGEST_SIDE = 1600
SCREEN_QUALITY = 80  # libjpeg / libwebp quality scale: ~150-350 KB for a 1600 px photo
# A ceiling in bytes, under the tablet's budget of 400 KB a photo (issue 21): a photo with
# texture everywhere (foliage, gravel, a patterned shirt) can take twice as much at quality 80.
# The copy then steps down in quality, then in size, until it fits (or the last step is kept).
SCREEN_MAX_BYTES = 350_000
SCREEN_LADDER = (
    (SCREEN_LONGEST_SIDE, SCREEN_QUALITY),
    (SCREEN_LONGEST_SIDE, 70),
    (SCREEN_LONGEST_SIDE, 60),
    (1280, 60),
    (1024, 60),
)


def screen_id(media_id: str) -> str:
    """The store id of a media item's screen copy: ``sr_`` and the item's own hex digits."""
    return "sr_" + media_id.removeprefix("md_")


def screen_copy(data: bytes, *, max_pixels: int) -> tuple[bytes, str]:
    """The photo made screen-sized, without metadata: its bytes and media type.

    Deterministic for the same input (same Pillow). Raises InvalidInput for a file that is not a
    decodable photo or has more than ``max_pixels`` pixels; ServiceBusy when this process
    decodes as many images as it may.
    """
    # JPEG decodes at 1/2, 1/4 or 1/8 scale when that still covers the target: a 4000x3000
    # photo is decoded at 2000x1500, a quarter of the memory and time.
    with decoded_image(
        io.BytesIO(data),
        max_pixels=max_pixels,
        reduce_to=(SCREEN_LONGEST_SIDE, SCREEN_LONGEST_SIDE),
        mode="RGB",
    ) as image:
        return _encode(ImageOps.exif_transpose(image))


def _encode(image: Image.Image) -> tuple[bytes, str]:
    transparent = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    # Only the pixels and the colour profile (how to show them; nothing about the patient).
    profile = image.info.get("icc_profile")
    extra = {"icc_profile": profile} if profile else {}
    image = image.convert("RGBA" if transparent else "RGB")
    data = b""
    for side, quality in SCREEN_LADDER:
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        if transparent:
            image.save(buffer, "WEBP", quality=quality, method=4, **extra)
        else:
            image.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True, **extra)
        data = buffer.getvalue()
        if len(data) <= SCREEN_MAX_BYTES:
            break
    return data, "image/webp" if transparent else "image/jpeg"


def screen_media_type(data: bytes) -> str:
    """The media type of a stored screen copy, from its first bytes. Raises InvalidInput."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise InvalidInput("The stored screen copy is neither JPEG nor WebP.")
