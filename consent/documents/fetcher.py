"""What WeasyPrint may load while rendering: data: URIs and files shipped with the service.

Nothing is fetched from the network: a document that names an http(s) or any other URL renders
without that resource (and the refusal is logged), so no template, form text or future change
can make the server call out, or leak which patient's document it is printing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher

from consent.documents.fonts import allowed_font_file
from consent.documents.paths import ALLOWED_DIRS, FONTS_DIR, TEMPLATES_DIR

log = logging.getLogger(__name__)

__all__ = ["ALLOWED_DIRS", "FONTS_DIR", "TEMPLATES_DIR", "LocalOnlyFetcher", "RefusedURL"]


class RefusedURL(ValueError):
    """A URL outside data: and the service's own files. WeasyPrint skips the resource."""


class LocalOnlyFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint has no types
    """WeasyPrint's fetcher, limited to data: URIs and files under ``ALLOWED_DIRS``."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data", "file"))
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> Any:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file" and _inside_allowed(url):
            return super().fetch(url, headers)
        self.refused.append(url)
        log.warning("PDF rendering refused to load %s", url[:80])
        raise RefusedURL(f"not loaded while rendering a PDF: {url[:80]}")


def _inside_allowed(url: str) -> bool:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        return False
    path = Path(unquote(parts.path)).resolve()
    if allowed_font_file(path):  # the Arabic font, from the system (consent.documents.fonts)
        return True
    return any(path.is_relative_to(root) for root in ALLOWED_DIRS) and path.is_file()
