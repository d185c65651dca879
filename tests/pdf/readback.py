"""Reading PDFs back as a person or a scanner would: the text (Poppler's pdftotext), and every
QR code on every page, decoded by zbar from the page rendered at 150 dpi (Poppler's pdftoppm)."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from pathlib import Path

from PIL import Image
from pypdf import PdfReader
from pyzbar.pyzbar import ZBarSymbol, decode

SCAN_DPI = 150


def pdf_text(pdf: bytes) -> str:
    """The text of every page, in reading order, with line breaks joined into spaces."""
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return " ".join(result.stdout.decode().split())


def page_images(pdf: bytes, dpi: int = SCAN_DPI) -> list[Image.Image]:
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "document.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", str(source), str(Path(scratch) / "page")],
            check=True,
        )
        pages = sorted(Path(scratch).glob("page-*.png"))
        return [Image.open(io.BytesIO(page.read_bytes())) for page in pages]


def qr_codes(pdf: bytes) -> list[list[str]]:
    """The data of every QR code zbar finds, page by page."""
    return [
        sorted(symbol.data.decode() for symbol in decode(image, symbols=[ZBarSymbol.QRCODE]))
        for image in page_images(pdf)
    ]


def attachments(pdf: bytes) -> dict[str, bytes]:
    """The embedded files, by name."""
    reader = PdfReader(io.BytesIO(pdf))
    return {name: contents[0] for name, contents in reader.attachments.items()}


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def fonts(pdf: bytes) -> dict[str, bool]:
    """Every font used on any page, and whether its program is embedded in the file."""
    reader = PdfReader(io.BytesIO(pdf))
    found: dict[str, bool] = {}
    for page in reader.pages:
        resources = page["/Resources"].get_object()
        for font in resources.get("/Font", {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor else {}
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            found[str(font["/BaseFont"])] = embedded
    return found


def embedded_images(pdf: bytes) -> list[tuple[tuple[int, int], bytes]]:
    """(size, raw stream bytes) of every distinct image in the pages' resources."""
    reader = PdfReader(io.BytesIO(pdf))
    found: dict[bytes, tuple[int, int]] = {}
    for page in reader.pages:  # WeasyPrint shares one resource dictionary between pages
        for image in page.images:
            found.setdefault(image.data, image.image.size)
    return [(size, data) for data, size in found.items()]


def pdfa_claim(pdf: bytes) -> dict[str, str]:
    """The PDF/A part and conformance its XMP metadata claims, and its output intent."""
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    claim = {}
    for field in ("part", "conformance"):
        match = re.search(rf'pdfaid:{field}="([^"]+)"', xmp)
        claim[field] = match.group(1) if match else ""
    intents = root.get("/OutputIntents") or []
    claim["output_intent"] = str(intents[0].get_object()["/S"]) if intents else ""
    listed = [item.idnum for item in root.get("/AF") or []]
    claim["associated_files"] = f"{len(set(listed))} of {len(listed)}"
    return claim
