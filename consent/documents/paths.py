"""Where the PDF templates and fonts live. Apart from consent.documents.fetcher so that naming them
does not import WeasyPrint (see consent.documents.render)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
FONTS_DIR = PACKAGE_DIR / "static" / "fonts"
TEMPLATES_DIR = PACKAGE_DIR.parent / "templates" / "pdf"
ALLOWED_DIRS = (FONTS_DIR, TEMPLATES_DIR)
