"""Readability scores of form texts, computed offline: Flesch (English), Kandel-Moles (French),
OSMAN (Arabic, consent/forms/readability_ar.py: El-Haj & Rayson 2016).

DOMAIN.md, plain language: a form text should score 60 or more. Syllables are counted with pyphen's
hyphenation dictionaries, corrected by a vowel-group count (see ``syllables``); textstat is not
used because its English path downloads an NLTK corpus, which fails offline.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pyphen

from consent.forms.readability_ar import osman

# DOMAIN.md: "a form text should score 60 or more" (6th to 8th US grade).
READABILITY_MINIMUM = 60.0

# Pyphen dictionary per form language (LibreOffice hyphenation patterns shipped with pyphen).
_DICTIONARIES = {"en": "en_US", "fr": "fr_FR"}
_LETTER = r"[^\W\d_]"
# A word: letters, with apostrophes or hyphens inside it (don't, l'image, aujourd'hui, e-mail).
_APOSTROPHES = "'\u2019"  # typewriter and typographic
_WORD = re.compile(rf"{_LETTER}+(?:[{_APOSTROPHES}\-]{_LETTER}+)*")
# A sentence ends at . ! ? (and an ellipsis) followed by a space, a closing quote or the end.
_SENTENCE_END = re.compile(r"(?:[.!?…]+)[\"'»”)\]]*(?=\s|$)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•\u2013]|\d+[.)])\s+")
_VOWELS = {"en": "aeiouy", "fr": "aeiouyàâäéèêëîïôöùûüÿœæ"}


def flesch_reading_ease_en(text: str) -> float:
    """Flesch reading ease of English text (Flesch 1948).

    Raises ValueError when the text has no word.
    """
    words, sentences, syllable_count = counts(text, "en")
    # Flesch, R. (1948), "A new readability yardstick", J. Appl. Psychol. 32(3): 221-233.
    return 206.835 - 1.015 * (words / sentences) - 84.6 * (syllable_count / words)


def kandel_moles_fr(text: str) -> float:
    """Kandel and Moles' French adaptation of Flesch's reading ease.

    Raises ValueError when the text has no word.
    """
    words, sentences, syllable_count = counts(text, "fr")
    # Kandel, L. & Moles, A. (1958), "Application de l'indice de Flesch à la langue française",
    # Cahiers Études de Radio-Télévision 19: 253-274; the formula as DOMAIN.md gives it.
    return 207 - 1.015 * (words / sentences) - 73.6 * (syllable_count / words)


def score(text: str, language: str) -> float:
    """The reading ease of ``text`` by the formula for ``language`` ("en", "fr" or "ar").

    Raises ValueError for another language, or when the text has no word.
    """
    if language == "en":
        return flesch_reading_ease_en(text)
    if language == "fr":
        return kandel_moles_fr(text)
    if language == "ar":
        # OSMAN is Flesch's reading ease adapted to Arabic, on the same scale: the same minimum.
        return osman(text)
    raise ValueError(f"no readability formula for language {language!r}")


def patient_texts(block: dict[str, Any]) -> list[str]:
    """Every text a signer reads in one language block of a form definition, in reading order."""
    texts = [block["title"]]
    for section in block["sections"]:
        texts += [section["heading"], section["body"]]
    for item in block["purposes"].values():
        texts += [item["label"], item["explanation"]]
    for question in block["comprehension"]:
        texts.append(question["question"])
        texts += [choice["text"] for choice in question["choices"]]
        texts.append(question["explanation"])
    return [text.strip() for text in texts]


def form_score(block: dict[str, Any], language: str) -> float:
    """The reading ease of one language of a form, over all its patient-facing texts.

    Each text is its own paragraph, so a heading, a label or a choice ends a sentence.
    Raises ValueError as ``score`` does.
    """
    return score("\n\n".join(patient_texts(block)), language)


def counts(text: str, language: str) -> tuple[int, int, int]:
    """(words, sentences, syllables) of ``text``; sentences is at least 1.

    Raises ValueError when the text has no word, or for a language without a dictionary.
    """
    words = _WORD.findall(text)
    if not words:
        raise ValueError("no word to score")
    return len(words), sentence_count(text), sum(syllables(word, language) for word in words)


def sentence_count(text: str) -> int:
    """Sentences in ``text``: each ends at . ! ? or at the end of a list item, a heading or a label.

    A line that is a list item ("- ...", "1. ..."), the line that opens a list, or the last line
    of a paragraph (a blank line or the end of the text follows) ends a sentence even without a
    full stop: headings, titles, labels and list items are read as units. Other line breaks are
    wrapped prose. Only pieces holding a word count, so "..." or a stray "." add nothing.
    Abbreviations ("e.g.", "Dr.") would each end a sentence; plain-language forms avoid them.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    pieces: list[str] = []
    current: list[str] = []
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _LIST_ITEM.match(line) and current:
            pieces.append(" ".join(current))  # the line before a list (ending ":") ends there
            current = []
        current.append(line.strip())
        if _LIST_ITEM.match(line) or not following.strip():
            pieces.append(" ".join(current))
            current = []
    pieces.append(" ".join(current))
    sentences = 0
    for piece in pieces:
        sentences += sum(1 for part in _SENTENCE_END.split(piece) if _WORD.search(part))
    return max(sentences, 1)


def syllables(word: str, language: str) -> int:
    """Syllables in one word: the larger of pyphen's count and a vowel-group count.

    pyphen (hyphenation patterns) never splits off one letter at either edge of a word (a-bout,
    i-de-a, o-ver, é-quipe count one syllable short) and does not hyphenate some short words at
    all, so alone it undercounts. Counting vowel groups (with the silent final e of English and
    French removed) catches those but misses hiatus (me-di-a, vi-de-o), where pyphen splits.
    Taking the larger of the two undercounts less than either; neither overcounts much, so the
    maximum stays close to a dictionary count. Hyphenated words count part by part.

    Raises ValueError for a language without a dictionary.
    """
    if language not in _DICTIONARIES:
        raise ValueError(f"no hyphenation dictionary for language {language!r}")
    total = 0
    for part in re.split(r"[\-]", word.lower()):
        if part:
            hyphenated = len(_dictionary(language).positions(part)) + 1
            total += max(hyphenated, _vowel_groups(part, language))
    return max(total, 1)


@cache
def _dictionary(language: str) -> pyphen.Pyphen:
    return pyphen.Pyphen(lang=_DICTIONARIES[language])


def _vowel_groups(word: str, language: str) -> int:
    vowels = _VOWELS[language]
    consonant = f"[^{vowels}]"
    word = re.sub(f"[{_APOSTROPHES}]", "", word)
    if language == "fr":
        # The u of qu and of gu before e/i is not a vowel sound (publique, guérir).
        word = re.sub(r"qu", "q", word)
        word = re.sub(r"gu(?=[eéèêi])", "g", word)
        count = len(re.findall(f"[{vowels}]+", word))
        # Mute final e (image, équipe, votre), also before the plural s.
        if re.search(f"{consonant}es?$", word):
            count -= 1
    else:
        word = re.sub(r"qu", "q", word)
        count = len(re.findall(f"[{vowels}]+", word))
        if re.search(f"{consonant}e(?:ly|ment|ful|less|ness)$", word):
            count -= 1  # safely, statement, careful
        elif re.search(f"{consonant}e$", word) and not re.search(f"{consonant}le$", word):
            count -= 1  # silent e: make, image (but table, people)
        elif re.search(f"{consonant}es$", word) and not re.search(r"(?:[sxzcg]|ch|sh)es$", word):
            count -= 1  # makes, states (but uses, places, changes)
        elif re.search(f"{consonant}ed$", word) and not re.search(r"[td]ed$", word):
            count -= 1  # shared, explained (but wanted, needed)
    return max(count, 1)
