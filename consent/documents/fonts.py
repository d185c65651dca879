"""The fonts every PDF uses: DejaVu Sans, shipped in consent/static/fonts/ and embedded.

DejaVu covers French and the other Latin alphabets (accents, ligatures, the euro sign) and many
more; the files travel with the package, so a server without fonts still prints the same
documents. Licence: consent/static/fonts/dejavu/LICENSE.
"""

from __future__ import annotations

from functools import cache

from markupsafe import Markup

from consent.documents.paths import FONTS_DIR

FAMILY = "Consent Sans"  # our own name: the system's fonts can never stand in silently
FACES = (("DejaVuSans.ttf", 400), ("DejaVuSans-Bold.ttf", 700))


@cache
def font_face_css() -> Markup:
    """``@font-face`` rules naming the shipped files by file: URL."""
    rules = []
    for filename, weight in FACES:
        url = (FONTS_DIR / "dejavu" / filename).as_uri()
        rules.append(
            f'@font-face {{ font-family: "{FAMILY}"; src: url("{url}"); '
            f"font-weight: {weight}; font-style: normal; }}"
        )
    return Markup("\n".join(rules))  # noqa: S704 - our constant file names, no input
