"""The fonts every PDF uses, embedded: DejaVu Sans, and Noto Naskh Arabic for Arabic documents.

DejaVu covers French and the other Latin alphabets (accents, ligatures, the euro sign) and many
more; the files travel with the package, so a server without fonts still prints the same
documents. Licence: consent/static/fonts/dejavu/LICENSE.

Arabic documents are set in Noto Naskh Arabic (the book hand, the easiest to read in print;
SIL Open Font Licence) from Debian's fonts-noto-core, which `.ci/run` and `make run` install. It
is found through fontconfig (``fc-match``), never fetched: WeasyPrint loads the two files by
file: URL (consent.documents.fetcher allows exactly these), shapes them with HarfBuzz and
embeds them. Latin letters and digits in an Arabic document (codes, addresses, dates' digits)
fall back to DejaVu.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

from markupsafe import Markup

from consent.documents.paths import FONTS_DIR
from consent.errors import ConfigurationError

FAMILY = "Consent Sans"  # our own name: the system's fonts can never stand in silently
FACES = (("DejaVuSans.ttf", 400), ("DejaVuSans-Bold.ttf", 700))
ARABIC_FAMILY = "Consent Arabic"
ARABIC_FONT = "Noto Naskh Arabic"
ARABIC_STYLES = (("Regular", 400), ("Bold", 700))
ARABIC_PACKAGE = "fonts-noto-core"
# Languages whose documents need the Arabic faces.
ARABIC_SCRIPT = frozenset({"ar"})


def _rule(family: str, path: Path, weight: int) -> str:
    return (
        f'@font-face {{ font-family: "{family}"; src: url("{path.as_uri()}"); '
        f"font-weight: {weight}; font-style: normal; }}"
    )


@cache
def font_face_css(language: str = "en") -> Markup:
    """``@font-face`` rules naming the font files by file: URL, for a document in ``language``.

    Raises ConfigurationError for an Arabic document when the Arabic font is not installed.
    """
    rules = [_rule(FAMILY, FONTS_DIR / "dejavu" / name, weight) for name, weight in FACES]
    if language in ARABIC_SCRIPT:
        rules += [
            _rule(ARABIC_FAMILY, path, weight)
            for path, (_style, weight) in zip(arabic_font_files(), ARABIC_STYLES, strict=True)
        ]
    return Markup("\n".join(rules))  # noqa: S704 - our constant file names, no input


@cache
def arabic_font_files() -> tuple[Path, ...]:
    """The regular and bold Noto Naskh Arabic files, as fontconfig finds them.

    Raises ConfigurationError when fontconfig does not know the font (fc-match answers with
    its nearest font instead, so the family it names is checked).
    """
    files = []
    for style, _weight in ARABIC_STYLES:
        try:
            found = subprocess.run(  # noqa: S603 - fixed arguments, no input
                ["fc-match", "--format=%{family}\n%{file}", f"{ARABIC_FONT}:style={style}"],  # noqa: S607
                capture_output=True,
                text=True,
                check=True,
                timeout=10,
            ).stdout.split("\n")
        except (OSError, subprocess.SubprocessError) as exc:
            raise ConfigurationError(
                f"fontconfig (fc-match) is needed to find {ARABIC_FONT}: {exc}"
            ) from exc
        family, path = [*found, "", ""][:2]
        if ARABIC_FONT not in family.split(",") or not Path(path).is_file():
            raise ConfigurationError(
                f"The Arabic PDFs need the font {ARABIC_FONT} {style}: install Debian's "
                f"{ARABIC_PACKAGE} (apt-get install {ARABIC_PACKAGE})."
            )
        files.append(Path(path).resolve())
    return tuple(files)


def allowed_font_file(path: Path) -> bool:
    """Whether ``path`` is one of the system font files a document may load (the Arabic ones)."""
    try:
        return path in arabic_font_files()
    except ConfigurationError:
        return False
