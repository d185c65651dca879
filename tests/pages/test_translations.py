"""The French interface: every message translated, placeholders kept, the compiled catalogue
up to date with the .po, the .po up to date with the source, and the pages really in French.

A developer who adds or changes an interface string runs, from the repository root:

    .venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext \
        -o consent/translations/messages.pot .
    .venv/bin/pybabel update -i consent/translations/messages.pot -d consent/translations
    (translate the new entries in consent/translations/fr/LC_MESSAGES/messages.po)
    .venv/bin/pybabel compile -d consent/translations
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "consent" / "translations"
POT = TRANSLATIONS / "messages.pot"
PO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.mo"
# The same keywords as the extraction command above (gettext, _, ngettext... are Babel's
# defaults; _l and lazy_gettext are Flask-Babel's lazy strings in consent/pages/labels.py).
KEYWORDS = ("_l", "lazy_gettext")

PLACEHOLDER = re.compile(r"%\((\w+)\)[a-zA-Z]")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def load_po(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def load_mo(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_mo(f)


def entries(catalog: Catalog) -> list[Message]:
    """The messages, without the header entry."""
    return [message for message in catalog if message.id]


def texts(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    """A message's id or string as a list (plural messages have several)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def key(message: Message) -> tuple[str | None, str]:
    return (message.context, texts(message.id)[0])


def describe(message: Message) -> str:
    where = ", ".join(f"{path}:{line}" for path, line in message.locations)
    return f"{texts(message.id)[0]!r} ({where or 'no location'})"


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


# (a) everything translated, nothing fuzzy


def test_every_message_is_translated_and_not_fuzzy() -> None:
    catalog = load_po(PO)
    assert entries(catalog), f"{PO} holds no message"
    assert not catalog.fuzzy, f"the header of {PO} is marked fuzzy"
    untranslated = [
        describe(m) for m in entries(catalog) if not all(s.strip() for s in texts(m.string))
    ]
    fuzzy = [describe(m) for m in entries(catalog) if m.fuzzy]
    assert not untranslated, "messages without a French translation:\n" + "\n".join(untranslated)
    assert not fuzzy, "fuzzy translations (check them, then remove the flag):\n" + "\n".join(fuzzy)


# (b) placeholders kept, and every translation formats as its source does


def test_translations_keep_the_placeholders() -> None:
    wrong = []
    for message in entries(load_po(PO)):
        expected = placeholders(" ".join(texts(message.id)))
        for string in texts(message.string):
            found = placeholders(string)
            if found != expected:
                wrong.append(
                    f"{describe(message)}: source has {expected}, translation {string!r} "
                    f"has {found}"
                )
    assert not wrong, "placeholders differ between source and translation:\n" + "\n".join(wrong)


def test_translations_format_like_their_source() -> None:
    """Templates format every message (Jinja's newstyle gettext), so a stray '%' in a
    translation, or a '%(name)' without its conversion letter, breaks the page."""
    broken = []
    for message in entries(load_po(PO)):
        for source, string in zip(texts(message.id), texts(message.string), strict=False):
            values = dict.fromkeys(PLACEHOLDER.findall(source), "x")
            try:
                source % values
            except (KeyError, TypeError, ValueError):
                continue  # not a format string in the source either
            try:
                string % values
            except (KeyError, TypeError, ValueError) as exc:
                broken.append(f"{describe(message)}: {string!r} ({exc!r})")
    assert not broken, "translations that cannot be formatted:\n" + "\n".join(broken)


# (c) the compiled catalogue is the .po's


def test_checked_in_mo_matches_the_po(tmp_path: Path) -> None:
    assert MO.exists(), f"{MO} is missing: run .venv/bin/pybabel compile -d consent/translations"
    fresh = tmp_path / "messages.mo"
    with fresh.open("wb") as f:
        write_mo(f, load_po(PO))  # as `pybabel compile` does: fuzzy entries left out
    expected = {key(m): m.string for m in entries(load_mo(fresh))}
    actual = {key(m): m.string for m in entries(load_mo(MO))}
    stale = sorted(
        f"{k[1]!r}: compiled {actual.get(k)!r}, .po {expected.get(k)!r}"
        for k in expected.keys() | actual.keys()
        if expected.get(k) != actual.get(k)
    )
    assert not stale, (
        f"{MO} is out of date (run .venv/bin/pybabel compile -d consent/translations):\n"
        + "\n".join(stale)
    )


# (d) the catalogues are not stale against the source


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The messages in the source now, extracted exactly as the module docstring says."""
    output = tmp_path_factory.mktemp("extract") / "messages.pot"
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            *keywords,
            "-o",
            str(output),
            ".",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"pybabel extract failed:\n{result.stderr}"
    catalog = load_po(output)
    assert entries(catalog), "extraction found no message: is babel.cfg right?"
    return catalog


def _missing(source: Catalog, catalog: Catalog) -> list[str]:
    known = {key(m) for m in entries(catalog)}
    return sorted(describe(m) for m in entries(source) if key(m) not in known)


def test_po_has_every_message_of_the_source(extracted: Catalog) -> None:
    missing = _missing(extracted, load_po(PO))
    assert not missing, (
        "interface strings without a French translation (extract, `pybabel update`, translate, "
        "compile: see this module's docstring):\n" + "\n".join(missing)
    )


def test_pot_has_every_message_of_the_source(extracted: Catalog) -> None:
    missing = _missing(extracted, load_po(POT))
    assert not missing, (
        f"{POT.relative_to(ROOT)} is stale (run the extract command in this module's "
        "docstring); missing:\n" + "\n".join(missing)
    )


# (e) the interface really switches


def _login_page(client: FlaskClient, language: str) -> str:
    response = client.get("/clinician/login", headers={"Accept-Language": language})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_browser_language_chooses_the_interface(client: FlaskClient) -> None:
    english = _login_page(client, "en")
    assert '<html lang="en">' in english
    assert "Log in" in english
    assert "Se connecter" not in english

    french = _login_page(client, "fr")
    assert '<html lang="fr">' in french
    assert "Se connecter" in french
    assert "Mot de passe" in french
    assert "Log in" not in french

    assert '<html lang="fr">' in _login_page(client, "fr-FR,fr;q=0.9,en;q=0.5")


def test_the_chosen_language_wins_over_the_browser(client: FlaskClient) -> None:
    page = _login_page(client, "en")
    token = CSRF.search(page)
    assert token, "the language form carries a CSRF token"
    response = client.post(
        "/clinician/language",
        data={"csrf_token": token.group(1), "lang": "fr", "next": "/clinician/login"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/clinician/login")

    french = _login_page(client, "en")
    assert '<html lang="fr">' in french
    assert "Se connecter" in french
    assert "Log in" not in french
