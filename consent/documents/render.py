"""HTML to PDF with WeasyPrint, offline, behind a cache keyed by the document's content.

A document is described by a ``PdfJob``: the template, the plain content it shows (JSON-able),
the media items (by SHA-256) and the files to attach. The cache key is the SHA-256 of all of
that plus the version of the templates, fonts and renderer, so the same content is rendered
once per worker and any change of content or of template gives a new document. Thumbnails are
made only on a miss (each media item comes with the function that reads its bytes): a cached
answer costs neither a decryption nor a render.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass, field
from functools import cache, partial
from importlib import metadata, resources
from typing import Any

from flask import render_template
from flask_babel import force_locale
from PIL import Image, ImageFile

from consent.documents.cache import RenderCache
from consent.documents.dates import long_date
from consent.documents.fonts import font_face_css
from consent.documents.paths import FONTS_DIR, TEMPLATES_DIR
from consent.documents.qr import qr_svg
from consent.documents.seal import B_B, Sealer, SealWords, seal_pdf
from consent.documents.thumbnails import PLACEHOLDER_URI, MediaRef, data_uri, thumbnail_jpeg
from consent.errors import IntegrityFailure

log = logging.getLogger(__name__)


@cache
def _weasyprint() -> Any:
    """WeasyPrint, imported with the first document a worker renders: about 40 MB that a worker
    answering verify calls and uploads never needs (bench/upload.py measures its peak memory).

    Importing it turns on Pillow's LOAD_TRUNCATED_IMAGES for the whole process: uploads would
    then accept a truncated photo (consent.media.fingerprints decodes it to refuse it). Every
    image WeasyPrint gets from us is a whole JPEG we just made, so the default comes back.
    """
    import weasyprint
    import weasyprint.images  # the module that changes Pillow's setting

    ImageFile.LOAD_TRUNCATED_IMAGES = False
    return weasyprint


# Bump when Python code changes what a rendered document looks like (templates and fonts are
# hashed by ``renderer_version`` on their own).
RENDER_VERSION = 1
PDF_A_3B = "pdf/a-3b"
OUTPUT_INTENT = "consent-srgb"


@dataclass(frozen=True)
class PdfAttachment:
    """A file embedded in the PDF (an associated file, in PDF/A-3 terms)."""

    name: str
    data: bytes
    description: str
    # ISO 32000-2 7.11.3: Source (what the document was made from), Supplement, Data ...
    relationship: str = "Supplement"


@dataclass(frozen=True)
class PdfJob:
    template: str
    locale: str
    content: dict[str, Any]
    media: tuple[MediaRef, ...] = ()
    # The face-hidden copies the document shows beside them (a receipt binding one, issue 19).
    masked: tuple[MediaRef, ...] = ()
    attachments: tuple[PdfAttachment, ...] = ()
    variant: str | None = None
    filename: str = field(default="document.pdf", compare=False)
    # What the PAdES seal says; None for a document that attests nothing (the blank form).
    seal: SealWords | None = None

    def cache_key(self) -> str:
        """SHA-256 over everything the document is made of, canonically serialised."""
        parts = {
            "renderer": renderer_version(),
            "template": self.template,
            "locale": self.locale,
            "variant": self.variant,
            "seal": [self.seal.reason, self.seal.location] if self.seal else None,
            "content": self.content,
            # What the document says of each item counts too: a face box drawn or removed, or
            # another subject added, changes the words printed under its thumbnail.
            "media": [
                [ref.sha256, ref.media_type, ref.erased, ref.face, ref.shared] for ref in self.media
            ],
            "masked": [[ref.sha256, ref.erased] for ref in self.masked],
            "attachments": [
                [a.name, a.description, a.relationship, hashlib.sha256(a.data).hexdigest()]
                for a in self.attachments
            ],
        }
        canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@cache
def renderer_version() -> str:
    """A hash of the PDF templates, the font files, this renderer and WeasyPrint's version."""
    weasyprint_version = metadata.version("weasyprint")
    digest = hashlib.sha256(f"{RENDER_VERSION}:{weasyprint_version}".encode())
    for root in (TEMPLATES_DIR, FONTS_DIR):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def render(
    job: PdfJob, *, cache_: RenderCache, max_pixels: int, sealer: Sealer | None = None
) -> bytes:
    """The job's PDF, from ``cache_`` when the same content was rendered before, sealed by
    ``sealer`` when the job says what its seal attests. Thumbnails of images larger than
    ``max_pixels`` are placeholders.

    A seal that lacks its timestamp because the authority was down is served but not kept: the
    next request seals again. Raises IntegrityFailure when a media item's bytes do not match their
    hash.
    """
    if job.seal is None or sealer is None:
        return _rendered(job, cache_=cache_, max_pixels=max_pixels)
    key = f"{job.cache_key()}:sealed:{sealer.cache_tag}"
    cached = cache_.get(key)
    if cached is not None:
        return cached
    sealed = seal_pdf(
        _rendered(job, cache_=cache_, max_pixels=max_pixels), sealer=sealer, words=job.seal
    )
    if sealed.level != B_B or not sealer.tsa_urls:  # not when a timestamp failed: retry
        cache_.put(key, sealed.pdf)
    return sealed.pdf


def _rendered(job: PdfJob, *, cache_: RenderCache, max_pixels: int) -> bytes:
    key = job.cache_key()
    cached = cache_.get(key)
    if cached is not None:
        return cached
    thumbnails = [_thumbnail(ref, max_pixels) for ref in job.media]
    masked = [_thumbnail(ref, max_pixels) for ref in job.masked]
    with force_locale(job.locale):
        html = render_template(
            job.template,
            **job.content,
            thumbnails=thumbnails,
            masked_thumbnails=masked,
            qr=partial(qr_svg, paper=True),
            long_date=long_date,
            font_css=font_face_css(str(job.locale)),
        )
    pdf = html_to_pdf(html, attachments=job.attachments, variant=job.variant)
    cache_.put(key, pdf)
    return pdf


def html_to_pdf(
    html: str, *, attachments: tuple[PdfAttachment, ...] = (), variant: str | None = None
) -> bytes:
    """Render HTML to PDF bytes, loading nothing but data: URIs and the service's own files."""
    weasyprint = _weasyprint()
    from weasyprint.css import ColorProfile
    from weasyprint.text.fonts import FontConfiguration

    from consent.documents.fetcher import LocalOnlyFetcher

    fetcher = LocalOnlyFetcher()
    document = weasyprint.HTML(
        string=html, base_url=TEMPLATES_DIR.as_uri() + "/", url_fetcher=fetcher
    )
    files = [
        weasyprint.Attachment(
            string=item.data,
            name=item.name,
            description=item.description,
            relationship=item.relationship,
            url_fetcher=fetcher,
        )
        for item in attachments
    ]
    profiles: dict[str, ColorProfile] = {}
    options: dict[str, Any] = {}
    if variant is not None and variant.startswith("pdf/a"):
        # PDF/A needs an output intent; WeasyPrint 70's own "srgb" leaves its file open
        # (a ResourceWarning for every receipt), so the same sRGB profile is given from memory.
        profiles[OUTPUT_INTENT] = ColorProfile(
            io.BytesIO(_srgb_profile()),
            "sRGB2014.icc",
            "relative-colorimetric",
            (["r"], ["g"], ["b"]),
        )
        options["output_intent"] = OUTPUT_INTENT
        options["finisher"] = _one_entry_per_associated_file
    pdf: bytes = document.write_pdf(
        font_config=FontConfiguration(),
        color_profiles=profiles,
        pdf_variant=variant,
        attachments=files,
        **options,
    )
    return pdf


def _one_entry_per_associated_file(document: Any, pdf: Any) -> None:
    """WeasyPrint 70 lists each attachment twice in the catalog's /AF array; keep one."""
    listed = pdf.catalog.get("AF")
    if listed:
        listed[:] = list(dict.fromkeys(listed))


@cache
def _srgb_profile() -> bytes:
    _weasyprint()
    return (resources.files("weasyprint.pdf") / "sRGB2014.icc").read_bytes()


def _thumbnail(ref: MediaRef, max_pixels: int) -> dict[str, Any]:
    return {**_thumbnail_image(ref, max_pixels), "face": ref.face, "shared": ref.shared}


def _thumbnail_image(ref: MediaRef, max_pixels: int) -> dict[str, Any]:
    if not ref.is_image or ref.load is None:
        return {"src": PLACEHOLDER_URI, "video": not ref.erased, "erased": ref.erased}
    data = ref.load()
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        raise IntegrityFailure(f"The stored bytes of {ref.media_id} do not match their hash.")
    try:
        jpeg = thumbnail_jpeg(data, max_pixels=max_pixels)
    except (OSError, ValueError, Image.DecompressionBombError):
        log.warning("no thumbnail for %s", ref.media_id)
        return {"src": PLACEHOLDER_URI, "video": False, "erased": False}
    return {"src": data_uri(jpeg), "video": False, "erased": False}
