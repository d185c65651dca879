"""Readability: the formulas on hand-counted sentences, and the plain-language gate on every
shipped text (DOMAIN.md: 60 or more)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from consent.forms.catalogue import FORMS_DIR
from consent.forms.readability import (
    READABILITY_MINIMUM,
    counts,
    flesch_reading_ease_en,
    form_score,
    kandel_moles_fr,
    patient_texts,
    score,
    sentence_count,
    syllables,
)


def shipped_blocks() -> list[tuple[str, str, dict[str, Any]]]:
    blocks = []
    for path in sorted(FORMS_DIR.glob("*.yaml")):
        definition = yaml.safe_load(path.read_text(encoding="utf-8"))
        for language, block in definition["languages"].items():
            blocks.append((Path(path).stem, language, block))
    return blocks


BLOCKS = shipped_blocks()
SECTIONS = [
    pytest.param(language, section, id=f"{form}-{language}-{section['key']}")
    for form, language, block in BLOCKS
    for section in block["sections"]
]


def test_minimum_is_the_one_domain_md_sets() -> None:
    assert READABILITY_MINIMUM == 60


@pytest.mark.parametrize(
    ("text", "expected_counts", "expected"),
    [
        # 6 words, 1 sentence, 6 syllables: 206.835 - 1.015 * 6 - 84.6 * 6/6
        ("The cat sat on the mat.", (6, 1, 6), 116.145),
        # 9 words, 2 sentences, 9 one-syllable words: 206.835 - 1.015 * 4.5 - 84.6 * 9/9
        ("You can say no. Your care stays the same.", (9, 2, 9), 117.6675),
        # We keep the pho-tos at the hos-pi-tal: 7 words, 1 sentence, 1+1+1+2+1+1+3 = 10
        # syllables: 206.835 - 1.015 * 7 - 84.6 * 10/7
        ("We keep the photos at the hospital.", (7, 1, 10), 206.835 - 7.105 - 846 / 7),
    ],
)
def test_flesch_reading_ease_on_hand_counted_sentences(
    text: str, expected_counts: tuple[int, int, int], expected: float
) -> None:
    assert counts(text, "en") == expected_counts
    assert flesch_reading_ease_en(text) == pytest.approx(expected)
    assert score(text, "en") == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "expected_counts", "expected"),
    [
        # Vous pou-vez dire non: 4 words, 1 sentence, 1+2+1+1 = 5 syllables (the final e of
        # "dire" is mute): 207 - 1.015 * 4 - 73.6 * 5/4
        ("Vous pouvez dire non.", (4, 1, 5), 110.94),
        # Nous gar-dons les i-mages à l'hô-pi-tal: 6 words (l'hôpital is one), 1 sentence,
        # 1+2+1+2+1+3 = 10 syllables: 207 - 1.015 * 6 - 73.6 * 10/6
        ("Nous gardons les images à l'hôpital.", (6, 1, 10), 207 - 6.09 - 736 / 6),
    ],
)
def test_kandel_moles_on_hand_counted_sentences(
    text: str, expected_counts: tuple[int, int, int], expected: float
) -> None:
    assert counts(text, "fr") == expected_counts
    assert kandel_moles_fr(text) == pytest.approx(expected)
    assert score(text, "fr") == pytest.approx(expected)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        # pyphen alone says 1 for these: it never splits off one letter at a word's edge.
        ("about", 2),
        ("over", 2),
        ("any", 2),
        ("open", 2),
        # Silent e, and -es / -ed that add no syllable, or do.
        ("image", 2),
        ("change", 1),
        ("table", 2),
        ("people", 2),
        ("used", 1),
        ("wanted", 2),
        ("makes", 1),
        ("places", 2),
        ("safely", 2),
        ("hospital", 3),
        ("information", 4),
        ("media", 2),  # pyphen: me-dia; a dictionary says 3, so this errs low, never high
    ],
)
def test_english_syllables(word: str, expected: int) -> None:
    assert syllables(word, "en") == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("équipe", 2),  # pyphen alone: 1
        ("images", 2),  # pyphen alone: 1
        ("avis", 2),  # pyphen alone: 1
        ("publique", 2),  # the u of qu is no vowel
        ("votre", 1),
        ("aujourd'hui", 3),
        ("protection", 3),
        ("autorité", 4),
    ],
)
def test_french_syllables(word: str, expected: int) -> None:
    assert syllables(word, "fr") == expected


def test_hyphenated_word_counts_part_by_part() -> None:
    assert counts("Ask a health-care worker.", "en") == (4, 1, 1 + 1 + 2 + 2)


def test_sentences_end_at_punctuation_list_items_and_headings() -> None:
    text = (
        "Your choice\n"  # a title: 1
        "\n"
        "For each use, you answer yes or no:\n"  # the line that opens a list: 2
        "- kept in your file;\n"  # 3
        "- used to teach\n"  # 4, even without punctuation
        "You can say no. Really? Yes!\n"  # 5, 6, 7
        "This line is wrapped\n"
        "prose that goes on.\n"  # 8: one sentence over two lines
        "\n"
        "... .\n"  # no word: no sentence
    )
    assert sentence_count(text) == 8


def test_text_without_words_is_refused() -> None:
    with pytest.raises(ValueError, match="no word"):
        score("18 ... !", "en")


def test_language_without_a_formula_is_refused() -> None:
    with pytest.raises(ValueError, match="'de'"):
        score("Das ist gut.", "de")


def test_patient_texts_lists_every_text_the_signer_reads() -> None:
    _form, _language, block = BLOCKS[0]
    texts = patient_texts(block)
    choices = sum(len(q["choices"]) for q in block["comprehension"])
    expected = (
        1
        + 2 * len(block["sections"])
        + 2 * len(block["purposes"])
        + 2 * len(block["comprehension"])
        + choices
    )
    assert len(texts) == expected
    assert texts[0] == block["title"]
    assert block["comprehension"][-1]["explanation"] in texts


def test_dense_legal_paragraph_fails_the_gate() -> None:
    english = (
        "Notwithstanding the foregoing provisions, the data subject hereby irrevocably "
        "acknowledges that the processing of special categories of personal data, including "
        "photographic and audiovisual representations pertaining to his or her physiological "
        "condition, shall be undertaken exclusively for the purposes enumerated hereinabove, "
        "subject to the applicable statutory and regulatory requirements."
    )
    french = (
        "Nonobstant les dispositions précédemment énoncées, la personne concernée reconnaît "
        "irrévocablement que le traitement des catégories particulières de données à caractère "
        "personnel, notamment les représentations photographiques et audiovisuelles afférentes "
        "à son état physiologique, sera exclusivement effectué conformément aux finalités "
        "susmentionnées, sous réserve des exigences législatives et réglementaires applicables."
    )
    assert score(english, "en") < READABILITY_MINIMUM
    assert score(french, "fr") < READABILITY_MINIMUM


@pytest.mark.parametrize(
    ("language", "block"),
    [pytest.param(language, block, id=f"{form}-{language}") for form, language, block in BLOCKS],
)
def test_every_shipped_form_reads_plainly(language: str, block: dict[str, Any]) -> None:
    whole = form_score(block, language)
    assert whole >= READABILITY_MINIMUM, f"whole text scores {whole:.1f}"


@pytest.mark.parametrize(("language", "section"), SECTIONS)
def test_every_shipped_section_reads_plainly(language: str, section: dict[str, str]) -> None:
    body = score(section["body"], language)
    assert body >= READABILITY_MINIMUM, f"section {section['key']} scores {body:.1f}"
