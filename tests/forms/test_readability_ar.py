"""OSMAN (El-Haj & Rayson, LREC 2016), the Arabic readability score, against hand-computed values.

Each expected value is worked out by hand in the comment above it, from the paper's definitions
(consent/forms/readability_ar.py): syllables from the short vowels, tanween and shadda; long
words of more than five letters; complex words of more than four syllables; faseeh words.
"""

from __future__ import annotations

import pytest

from consent.forms.readability import READABILITY_MINIMUM, score
from consent.forms.readability_ar import (
    is_complex,
    is_faseeh,
    is_long,
    osman,
    sentence_count,
    syllables,
)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("كَتَبَ", 3),  # ka-ta-ba: three short vowels
        ("كِتَابٌ", 5),  # ki (1), taa (fatha before alif: long, 2), -un (tanween: stress, 2)
        ("مُدَرِّسٌ", 7),  # mu (1), da (1), shadda (2), ri (1), -un (2)
        ("دَرْسًا", 3),  # da (1), sukun (0), -an (2)
        ("يَسْتَأْذِنُونَ", 6),  # ya (1), ta (1), dhi (1), nuu (2), na (1)
    ],
)
def test_vowelled_syllables_follow_the_paper(word: str, expected: int) -> None:
    assert syllables(word) == expected


@pytest.mark.parametrize(
    ("bare", "vowelled"),
    [("كتاب", "كِتَاب"), ("ذهب", "ذَهَبْ"), ("الولد", "الوَلَدْ"), ("سأل", "سَأَلْ")],
)
def test_an_unvowelled_word_counts_as_its_vowelled_spelling_in_pause(
    bare: str, vowelled: str
) -> None:
    assert syllables(bare) == syllables(vowelled)


def test_long_complex_and_faseeh_words() -> None:
    word = "يَسْتَأْذِنُونَ"  # 8 letters, 6 syllables, holds ذ and ends in ون
    assert is_long(word) and is_complex(word) and is_faseeh(word)
    assert not is_long("الولد")  # five letters: not more than five
    assert is_long("الاستمارة")
    # ذ alone does not make a word faseeh: only a complex word can be.
    assert not is_complex("ذَهَبَ") and not is_faseeh("ذَهَبَ")


def test_osman_of_a_short_vowelled_text_by_hand() -> None:
    text = "ذَهَبَ الوَلَدُ. كَتَبَ دَرْسًا."
    # A = 4 words, B = 2 sentences; syllables 3 + 3 + 3 + 3 = 12; no long, complex or faseeh word.
    # 200.791 - 1.015 * 4/2 - 24.181 * (0 + 12 + 0 + 0)/4 = 200.791 - 2.03 - 72.543 = 126.218
    assert sentence_count(text) == 2
    assert osman(text) == pytest.approx(126.218, abs=1e-9)
    assert score(text, "ar") == osman(text)


def test_osman_of_one_faseeh_word_by_hand() -> None:
    # A = B = 1; C = 1 (long), D = 6, G = 1 (complex), H = 1 (faseeh):
    # 200.791 - 1.015 - 24.181 * 9 = -17.853
    assert osman("يَسْتَأْذِنُونَ") == pytest.approx(-17.853, abs=1e-9)


def test_plain_arabic_passes_and_legal_arabic_fails() -> None:
    plain = "أنت تقرر. إذا قلت لا، تبقى رعايتك كما هي. يمكنك أن تغير رأيك في أي وقت."
    legal = (
        "وبناء على ما تقدم ذكره من أحكام، يقر صاحب البيانات إقرارا نهائيا لا رجعة فيه بأن "
        "معالجة الفئات الخاصة من البيانات الشخصية، ولا سيما التمثيلات الفوتوغرافية والسمعية "
        "البصرية المتعلقة بحالته الفيزيولوجية، ستتم حصرا وفقا للأغراض المنصوص عليها أعلاه، مع "
        "مراعاة المتطلبات التشريعية والتنظيمية المعمول بها."
    )
    assert score(plain, "ar") >= READABILITY_MINIMUM > score(legal, "ar")


def test_text_without_arabic_words_is_refused() -> None:
    with pytest.raises(ValueError):
        osman("CNIL 2026")
