"""Screening a case text for what could identify a person, before it is shown or published.

Two families of findings, each with character offsets into the text as given and a reason
that never repeats what was found (invariant 6: "the subject's name at 120-126", not the name):

- the subject's own identity, from the vault: each part of their name (accents and case
  ignored, hyphenated names whole and by part), their record number (spaces, dots and hyphens
  ignored), their birth date in the usual written forms (ISO, 05/03/1970, 5.3.70, 5 mars 1970,
  1er mars 1970, March 5, 1970, 5 March 1970);
- direct identifiers of anyone (HIPAA Safe Harbor's list where it applies to text, with the
  French forms of DOMAIN.md): phone numbers (French 0X XX XX XX XX and +33, international
  +CC ..., North American (555) 123-4567), e-mail addresses, the French NIR with its key
  checked (97 - n mod 97; 2A and 2B read as 19 and 18), postal addresses (a number and a kind
  of way in French or English, a French postcode and its town), exact dates (a day and a
  month, numeric or written out, FR and EN), and hospital and ward names from
  CONSENT_SCREEN_PLACES.

Our own patterns rather than a library such as Presidio: those need a spaCy model downloaded
at install and are tuned for English; the identifiers that matter here are few, French-specific
(NIR key, phone layout, written-out dates) and testable against the corpus in tests/assets.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

# Uses that publish to an audience the patient does not know: a subject's name or record
# number in a text for one of them needs the clinician's explicit, recorded confirmation.
PUBLIC_PURPOSES = ("public_social_network", "journal_publication")
SUBJECT_KINDS = ("subject_name", "subject_record_number", "subject_birth_date")
BLOCKING_KINDS = ("subject_name", "subject_record_number")

REASONS = {
    "subject_name": "contains a part of the subject's name",
    "subject_record_number": "contains the subject's record number",
    "subject_birth_date": "contains the subject's birth date",
    "phone": "a phone number",
    "email": "an e-mail address",
    "nir": "a French social security number (NIR, key checked)",
    "postal_address": "a postal address",
    "date": "an exact date (day and month)",
    "place": "a hospital or ward name",
}

MONTHS_FR = tuple(
    [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ]
)
MONTHS_EN = tuple(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
_FR = "|".join([*MONTHS_FR, "fevrier", "aout", "decembre"])
_EN = "|".join([*MONTHS_EN, *(m[:3] + r"\.?" for m in MONTHS_EN)])
_DAY = r"(?:1er|[12]\d|3[01]|0?[1-9])"
_YEAR = r"(?:\d{4}|\d{2})"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)),
    (
        "nir",
        re.compile(
            r"(?<![\w])[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2A|2B) ?\d{3} ?\d{3}"
            r" ?\d{2}(?!\w)",
            re.IGNORECASE,
        ),
    ),
    (
        "phone",
        re.compile(
            r"(?<![\w+])(?:(?:\+|00)33 ?\(?0?\)? ?[1-9](?:[ .-]?\d{2}){4}"
            r"|0[1-9](?:[ .-]?\d{2}){4}"
            r"|\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}"
            r"|\(\d{3}\) ?\d{3}[ .-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4})(?!\w)"
        ),
    ),
    (
        "postal_address",
        re.compile(
            r"\b\d{1,4}(?: ?(?:bis|ter))?,? (?:rue|avenue|av\.|boulevard|bd|place|chemin|all[ée]e"
            r"|impasse|route|quai|cours|square)\b[^\n,;.]{2,60}"
            r"|\b\d{1,5} (?:[A-Z][\w'-]* ){1,4}(?:Street|St\.|Road|Rd\.|Avenue|Ave\.|Lane|Drive"
            r"|Boulevard|Blvd\.|Way|Court)"
            r"|\b(?:0[1-9]|[1-8]\d|9[0-8])\d{3} [A-ZÀ-Ý][\w'-]+(?: [A-ZÀ-Ý][\w'-]+)*",
            re.IGNORECASE | re.UNICODE,
        ),
    ),
    (
        "date",
        re.compile(
            rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}"
            rf"|{_DAY}[/.-](?:0?[1-9]|1[0-2])[/.-]{_YEAR}"
            rf"|(?:le )?{_DAY} (?:{_FR}|{_EN})(?: {_YEAR})?"
            rf"|(?:{_EN}) {_DAY}(?:st|nd|rd|th)?(?:,? \d{{4}})?)\b",
            re.IGNORECASE | re.UNICODE,
        ),
    ),
]


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int

    @property
    def reason(self) -> str:
        return REASONS[self.kind]

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "subject": self.kind in SUBJECT_KINDS,
            "reason": f"{self.reason} at characters {self.start}-{self.end}",
        }


def _fold(text: str) -> tuple[str, list[int]]:
    """The text with accents removed and case folded, and for each folded character the
    offset of the original character it comes from."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        ).casefold()
        folded.append(plain)
        origin.extend([index] * len(plain))
    return "".join(folded), origin


def nir_key_valid(digits: str) -> bool:
    """Whether a 15-character NIR (spaces removed) carries its key: 97 - (number mod 97),
    with the Corsican departments 2A and 2B read as 19 and 18 (DOMAIN.md)."""
    body, key = digits[:13].upper(), digits[13:]
    body = body.replace("2A", "19", 1) if body[5:7] == "2A" else body
    body = body.replace("2B", "18", 1) if body[5:7] == "2B" else body
    return body.isdigit() and key.isdigit() and 97 - int(body) % 97 == int(key)


def _birth_date_forms(born: date) -> list[str]:
    d, m, y = born.day, born.month, born.year
    numeric = [
        f"{y:04d}-{m:02d}-{d:02d}",
        *(
            f"{dd}{sep}{mm}{sep}{yy}"
            for sep in "/.-"
            for dd in {f"{d:02d}", str(d)}
            for mm in {f"{m:02d}", str(m)}
            for yy in (str(y), f"{y % 100:02d}")
        ),
    ]
    days = [str(d), f"{d:02d}"] + (["1er"] if d == 1 else [])
    written = [f"{day} {MONTHS_FR[m - 1]} {y}" for day in days]
    written += [f"{day} {MONTHS_EN[m - 1]} {y}" for day in days]
    written += [f"{MONTHS_EN[m - 1]} {d}, {y}", f"{MONTHS_EN[m - 1]} {d} {y}"]
    return numeric + written


def _literal(folded: str, origin: list[int], needle: str, kind: str) -> list[Finding]:
    plain, _ = _fold(needle)
    if len(plain.strip()) < 2:
        return []
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, plain.split())) + r"(?!\w)")
    return [
        Finding(kind, origin[match.start()], origin[match.end() - 1] + 1)
        for match in pattern.finditer(folded)
    ]


def screen(
    text: str, *, identity: dict[str, str] | None = None, places: tuple[str, ...] = ()
) -> list[Finding]:
    """Every finding in ``text``, ordered by position; ``identity`` (name, record_number,
    birth_date ISO) adds the subject's own."""
    found: set[Finding] = set()
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if kind == "nir" and not nir_key_valid(match.group().replace(" ", "")):
                continue
            found.add(Finding(kind, match.start(), match.end()))
    folded, origin = _fold(text)
    for place in places:
        found.update(_literal(folded, origin, place, "place"))
    if identity:
        name = identity.get("name", "")
        parts = {part for part in re.split(r"\s+", name) if len(part) >= 2}
        parts |= {piece for part in parts for piece in part.split("-") if len(piece) >= 2}
        for part in parts:
            found.update(_literal(folded, origin, part, "subject_name"))
        record = re.sub(r"[\s.-]", "", identity.get("record_number", ""))
        if len(record) >= 3:
            pattern = re.compile(
                r"(?<!\w)(?<!\d[\s.-])"
                + r"[\s.-]?".join(map(re.escape, record.casefold()))
                + r"(?!\w)(?![\s.-]\d)"
            )
            found.update(
                Finding("subject_record_number", origin[m.start()], origin[m.end() - 1] + 1)
                for m in pattern.finditer(folded)
            )
        if identity.get("birth_date"):
            born = date.fromisoformat(identity["birth_date"])
            for form in _birth_date_forms(born):
                found.update(_literal(folded, origin, form, "subject_birth_date"))
    return sorted(found, key=lambda item: (item.start, item.end, item.kind))


def blocking(findings: list[Finding]) -> list[Finding]:
    """The findings that stop a text for a public use without a confirmation."""
    return [finding for finding in findings if finding.kind in BLOCKING_KINDS]
