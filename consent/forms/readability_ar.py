"""OSMAN, the Arabic readability score of the Arabic form texts, computed offline.

Source: El-Haj, M. & Rayson, P. (2016), "OSMAN - A Novel Arabic Readability Metric", Proceedings
of LREC 2016, pp. 250-255 (ELRA); the authors' reference implementation is OsmanReadability
(Java, by M. El-Haj). The formula, an Arabic adaptation of Flesch's reading ease (higher reads
more easily, on the same scale):

    OSMAN = 200.791 - 1.015 (A/B) - 24.181 (C/A + D/A + G/A + H/A)

A words, B sentences, C hard words (long: more than five letters, diacritics not counted),
D syllables, G complex words (more than four syllables), H "faseeh" words: complex words that
hold a mark of classical style (the hamza forms ء ئ ؤ, the letters ذ and ظ, or the plural
endings وا and ون).

Syllables, as the paper counts them on vowelled text: a short vowel (fatha, damma, kasra) is a
short syllable (one); a short vowel followed by a long-vowel letter (alif, waw, ya) is a long
syllable;
tanween and shadda make stress syllables; long and stress syllables count two.

Printed Arabic, and our forms, carry no short vowels. The authors first vowel the text with an
automatic diacritiser (Mishkal, later Farasa), which cannot run offline here. For a word without
diacritics ``syllables`` estimates the vowelling instead (``_bare_syllables``): our stand-in,
not the paper's, documented there. A word that carries diacritics is counted exactly as above.
"""

from __future__ import annotations

import re

SHORT_VOWELS = "\u064e\u064f\u0650"  # fatha, damma, kasra
TANWEEN = "\u064b\u064c\u064d"  # tanween fath, damm, kasr
SHADDA = "\u0651"
SUKUN = "\u0652"
# Every diacritic the reference implementation strips before counting letters.
DIACRITICS = SHORT_VOWELS + TANWEEN + SHADDA + SUKUN + "\u0653\u0657\u0658"
LONG_VOWEL_LETTERS = "\u0627\u0648\u064a"  # alif, waw, ya
ALIF_MAQSURA = "\u0649"
FASEEH_LETTERS = re.compile("[\u0621\u0624\u0626\u0630\u0638]")  # ء ؤ ئ ذ ظ
FASEEH_ENDINGS = ("\u0648\u0627", "\u0648\u0646")  # وا ، ون
_ARABIC_WORD = re.compile(f"[\u0621-\u064a{DIACRITICS}\u0671]+")
# Sentences end at . ! ? and their Arabic forms (U+061F question mark, U+06D4 full stop), or at
# a line break.
_SENTENCE_END = re.compile("[.!?\u061f\u06d4]+|\n")


def osman(text: str) -> float:
    """The OSMAN score of Arabic ``text``. Raises ValueError when it has no Arabic word."""
    words = arabic_words(text)
    if not words:
        raise ValueError("no Arabic word to score")
    a = len(words)
    b = sentence_count(text)
    c = sum(1 for word in words if is_long(word))
    d = sum(syllables(word) for word in words)
    g = sum(1 for word in words if is_complex(word))
    h = sum(1 for word in words if is_faseeh(word))
    return 200.791 - 1.015 * (a / b) - 24.181 * ((c + d + g + h) / a)


def arabic_words(text: str) -> list[str]:
    """The Arabic words of ``text`` (numbers, Latin names and punctuation are not words here)."""
    return _ARABIC_WORD.findall(text)


def sentence_count(text: str) -> int:
    """Pieces between sentence ends or line breaks that hold an Arabic word; at least 1."""
    return max(1, sum(1 for piece in _SENTENCE_END.split(text) if arabic_words(piece)))


def letters(word: str) -> str:
    return "".join(ch for ch in word if ch not in DIACRITICS)


def is_long(word: str) -> bool:
    """A hard (long) word: more than five letters, diacritics not counted."""
    return len(letters(word)) > 5


def is_complex(word: str) -> bool:
    """A complex word: more than four syllables."""
    return syllables(word) > 4


def is_faseeh(word: str) -> bool:
    """A complex word with a mark of classical style (hamza forms, ذ, ظ, ending وا / ون)."""
    bare = letters(word)
    return is_complex(word) and bool(FASEEH_LETTERS.search(bare) or bare.endswith(FASEEH_ENDINGS))


def syllables(word: str) -> int:
    """Syllables of one word: long and stress syllables count two, short ones one.

    A vowelled word is counted from its diacritics (the paper's rules, module docstring); a word
    without any is estimated by ``_bare_syllables``.
    """
    if not any(ch in SHORT_VOWELS + TANWEEN + SHADDA + SUKUN for ch in word):
        return _bare_syllables(word)
    count = 0
    for index, ch in enumerate(word):
        following = word[index + 1] if index + 1 < len(word) else ""
        if ch in SHORT_VOWELS:
            count += 2 if following and following in LONG_VOWEL_LETTERS else 1
        elif ch in TANWEEN or ch == SHADDA:
            count += 2
    return count


def _bare_syllables(word: str) -> int:
    """The syllables the vowelled spelling of an unvowelled word would count (an estimate).

    Read as Modern Standard Arabic in pause (no case ending): the article al- carries no vowel
    mark (hamzat al-wasl, then a sukun on the lam); a consonant before a long-vowel letter (alif,
    waw, ya, alif maqsura) has a short vowel then the long vowel: a long syllable, two; the last
    consonant of the word is silent (pausal sukun); every other consonant has a short vowel: one.
    Consonant clusters (an inner sukun, as in mustashfa, hospital) are not recognised, so a word
    with one counts one more than its vowelled spelling; shadda, not written either, is not
    counted. tests/forms/test_readability_ar.py checks the estimate on worked words.
    """
    bare = letters(word)
    if bare.startswith("\u0627\u0644") and len(bare) > 3:  # the article al-
        bare = bare[2:]
    count = 0
    index = 0
    while index < len(bare):
        ch = bare[index]
        following = bare[index + 1] if index + 1 < len(bare) else ""
        if ch == ALIF_MAQSURA or (ch in LONG_VOWEL_LETTERS and index > 0):
            index += 1  # a long vowel, counted with the consonant before it
            continue
        if following and following in LONG_VOWEL_LETTERS + ALIF_MAQSURA:
            count += 2
        elif following:
            count += 1
        index += 1
    return max(count, 1)
