"""One word per concept and language, from schemas/glossary.yaml (issue 21).

Every surface that names a use, the team, the consent or the register takes the word from here
(the interface through consent.pages.labels; the forms' own labels are checked against it by
tests/forms/test_glossary.py). ``avoid`` lists the other names of the same concept, which the
glossary test looks for on every surface.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml

GLOSSARY_PATH = Path(__file__).resolve().parents[2] / "schemas" / "glossary.yaml"
DEFAULT_LANGUAGE = "en"
# Languages that write "the", "and", "with"... joined to the next word (Arabic: الملف، والملف،
# بالملف): an avoided name is found inside a word as well as at its start.
JOINED_PREFIXES = frozenset({"ar"})


@dataclass(frozen=True)
class Entry:
    concept: str
    term: str
    avoid: tuple[str, ...]
    joined: bool = False

    def avoided(self) -> re.Pattern[str] | None:
        """The other names of this concept, as one case-insensitive pattern (None if none)."""
        if not self.avoid:
            return None
        if self.joined:  # prefixes joined to the word: no boundary before the name
            return re.compile("(?:" + "|".join(self.avoid) + r")(?!\w)", re.IGNORECASE)
        return re.compile(r"(?<!\w)(?:" + "|".join(self.avoid) + r")(?!\w)", re.IGNORECASE)


@cache
def _glossary() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(GLOSSARY_PATH.read_text(encoding="utf-8")))


def languages() -> tuple[str, ...]:
    return tuple(_glossary())


def _language(language: str) -> dict[str, Any]:
    glossary = _glossary()
    return cast(dict[str, Any], glossary.get(language) or glossary[DEFAULT_LANGUAGE])


def use_label(purpose: str, language: str) -> str:
    """The name of a use ("Teaching", "Enseignement")."""
    return str(_language(language)["uses"][purpose]["term"])


def term(concept: str, language: str) -> str:
    """The word for a concept other than a use ("care team", "équipe soignante")."""
    return str(_language(language)["terms"][concept]["term"])


def entries(language: str) -> list[Entry]:
    """Every concept of one language, uses first."""
    block = _language(language)
    return [
        Entry(
            f"{kind}.{concept}",
            str(item["term"]),
            tuple(item.get("avoid") or ()),
            joined=language in JOINED_PREFIXES,
        )
        for kind in ("uses", "terms")
        for concept, item in block[kind].items()
    ]


def use_question(purpose: str, language: str) -> str:
    """A use asked as a question in the patient's words, for one screen of the tablet."""
    return str(_language(language)["uses"][purpose]["question"])
