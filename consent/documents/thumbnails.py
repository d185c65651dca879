"""Small, metadata-free thumbnails of media items, as data: URIs for the PDFs.

Made on the server with Pillow from the decrypted bytes: turned upright from the EXIF
orientation, then re-encoded as a fresh JPEG that carries no EXIF, GPS or comment. Videos, and
items whose bytes were erased, get a neutral placeholder.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image, ImageOps

# 600 px across a 55 mm frame is about 280 dpi: sharp on paper, light in the file.
THUMBNAIL_PIXELS = 600
JPEG_QUALITY = 80

_PLACEHOLDER_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 120">'
    '<rect width="160" height="120" fill="#e6e6e6" stroke="#767676" stroke-width="2"/>'
    '<circle cx="80" cy="60" r="30" fill="none" stroke="#4a4a4a" stroke-width="4"/>'
    '<path d="M70 44 L98 60 L70 76 Z" fill="#4a4a4a"/></svg>'
)
PLACEHOLDER_URI = (
    "data:image/svg+xml;base64," + base64.b64encode(_PLACEHOLDER_SVG.encode()).decode()
)


@dataclass(frozen=True)
class MediaRef:
    """What a document shows of one media item; ``sha256`` binds the thumbnail to its bytes,
    which ``load`` reads (decrypted) when the document is not in the cache."""

    media_id: str
    sha256: str
    media_type: str
    erased: bool = False
    # A face can be seen in it (issue 19): the documents tell the patient in plain words.
    face: bool = False
    # Other people are seen in it too (several subjects): "your face" may be someone else's.
    shared: bool = False
    load: Callable[[], bytes] | None = field(default=None, compare=False, repr=False)

    @property
    def is_image(self) -> bool:
        return self.media_type.startswith("image/") and not self.erased


def thumbnail_jpeg(data: bytes, *, max_pixels: int) -> bytes:
    """A JPEG no larger than THUMBNAIL_PIXELS on its longer side, without any metadata.

    Raises PIL's errors for bytes that are not an image or are larger than ``max_pixels``.
    """
    with Image.open(io.BytesIO(data)) as image:
        if image.width * image.height > max_pixels:
            raise Image.DecompressionBombError("image larger than the configured limit")
        image.draft("RGB", (THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))  # JPEG: decode at 1/2..1/8
        upright = ImageOps.exif_transpose(image)
        upright = upright.convert("RGB")
        upright.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        # A new image object holds no info of the source: nothing but pixels is written.
        Image.frombytes("RGB", upright.size, upright.tobytes()).save(
            out, "JPEG", quality=JPEG_QUALITY, optimize=True
        )
        return out.getvalue()


def data_uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
