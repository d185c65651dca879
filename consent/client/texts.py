"""The normal form of a case text and its SHA-256: what receipts bind and verify looks up.

Here, in the vendorable client (standard library only), so that a publishing tool hashes a text
exactly as the service does; the service imports it from here (consent.consents.text_norm).

1. Unicode NFC (a composed "é" and "e" + combining acute are one text);
2. line endings CRLF and CR become LF;
3. on each line, runs of spaces, tabs and no-break spaces become one space, and the line is
   trimmed at both ends; runs of three or more line breaks become one blank line;
4. the whole text is trimmed.

Anything else (case, punctuation, spelling) is the text as the patient read it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACES = re.compile(r"[ \t\u00a0\u202f\u2009]+")
_BLANKS = re.compile(r"\n{3,}")


def normalise(text: str) -> str:
    """The text in its normal form (see the module docstring)."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def text_sha256(text: str) -> str:
    """SHA-256 (hex) of the normalised text's UTF-8 bytes."""
    return hashlib.sha256(normalise(text).encode()).hexdigest()
