"""Load form definitions from schemas/forms/*.yaml into immutable form versions.

The text a patient reads is rendered from the definition in one way only (``render_text``) and
its SHA-256 is what receipts name. Changing the text of a version that a request already used is
refused: a new version is needed.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from consent.errors import ConfigurationError
from consent.forms.schema import validate_definition
from consent.forms.shown import per_use, shown_purposes, shown_sections
from consent.forms.uses import PURPOSES

FORMS_DIR = Path(__file__).resolve().parents[2] / "schemas" / "forms"


@dataclass(frozen=True)
class FormText:
    form_id: str
    version: int
    language: str
    title: str
    text: str
    definition: dict[str, Any]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def render_text(
    language_block: dict[str, Any],
    placeholders: dict[str, str],
    purposes: Sequence[str] | None = None,
) -> str:
    """The patient-facing text of one language, exactly as shown: title, sections, then uses.

    ``purposes``: the uses a request asks about, in its order; a form with per-use paragraphs
    (consent.forms.shown) then shows only theirs. ``None``: the whole text, as catalogued.
    NFC-normalised with ``\\n`` line ends, so the same definition always hashes the same.
    """
    parts = [language_block["title"].strip(), ""]
    for section in shown_sections(language_block, purposes):
        parts += [section["heading"].strip(), "", section["body"].strip(), ""]
    for purpose in shown_purposes(language_block, purposes):
        item = language_block["purposes"][purpose]
        if purpose in PURPOSES:
            parts += [f"{item['label'].strip()}: {item['explanation'].strip()}"]
    text = "\n".join(parts).strip() + "\n"
    for name, value in placeholders.items():
        text = text.replace("{" + name + "}", value)
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n"))


def read_definitions(forms_dir: Path, placeholders: dict[str, str]) -> Iterator[FormText]:
    """Every (form, version, language) defined under ``forms_dir``.

    Raises ConfigurationError, before yielding anything, when a file cannot be read or fails
    ``validate_definition``: a catalogue is loaded whole or not at all.
    """
    definitions = [_load(path) for path in sorted(forms_dir.glob("*.yaml"))]
    seen: set[tuple[str, int]] = set()
    for definition in definitions:
        name = (definition["id"], definition["version"])
        if name in seen:
            raise ConfigurationError(f"form {name[0]} v{name[1]} is defined in two files")
        seen.add(name)
    for definition in definitions:
        for language, block in definition["languages"].items():
            placed = json.loads(_fill(json.dumps(block, ensure_ascii=False), placeholders))
            # Who the form is written for decides who may sign it on the tablet.
            placed["audience"] = definition["audience"]
            text = render_text(block, placeholders)
            if per_use(block) and render_text(placed, {}) != text:
                # A per-use text is rendered again for each request from the stored definition.
                raise ConfigurationError(
                    f"form {definition['id']} v{definition['version']} ({language}): a "
                    "placeholder value changes the text around it; it cannot be re-rendered"
                )
            yield FormText(
                form_id=definition["id"],
                version=int(definition["version"]),
                language=language,
                title=placed["title"],
                text=text,
                definition=placed,
            )


def _load(path: Path) -> dict[str, Any]:
    try:
        definition = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"form definition {path} is not valid YAML: {exc}") from exc
    validate_definition(definition, source=str(path))
    return cast(dict[str, Any], definition)


def _fill(text: str, placeholders: dict[str, str]) -> str:
    for name, value in placeholders.items():
        text = text.replace("{" + name + "}", json.dumps(value, ensure_ascii=False)[1:-1])
    return text
