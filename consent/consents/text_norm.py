"""Case texts: their normal form and SHA-256 (defined in consent.client.texts, so that
publishing tools hash as the service does), and their MinHash fingerprint.

The near match of an edited post uses MinHash (Broder 1997) over word shingles: each text is
reduced to ``PERMUTATIONS`` minimum hashes of its word 3-grams (accents and case folded, so a
fixed typo changes few shingles); the fraction of equal minimums estimates the Jaccard
similarity of the two shingle sets. Locality-sensitive banding (``BANDS`` bands of ``ROWS``
minimums; Leskovec, Rajaraman and Ullman, Mining of Massive Datasets, ch. 3) puts each band's
hash in an index, so candidates are found by a few index look-ups whatever the number of
texts. Only hashes are stored for that index, never words.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

from consent.client.texts import normalise as normalise
from consent.client.texts import text_sha256 as text_sha256

PERMUTATIONS = 64
ROWS = 2
BANDS = PERMUTATIONS // ROWS
SHINGLE = 3
# Mersenne prime 2^31 - 1: the universal hash family (a*x + b) mod p, whose products stay
# below 2^62 in 64-bit integers.
_PRIME = (1 << 31) - 1
_rng = np.random.default_rng(20)  # fixed: fingerprints must be the same on every node
_A = _rng.integers(1, _PRIME, size=PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, size=PERMUTATIONS, dtype=np.uint64)

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """The text's words, accents removed and case folded (for similarity only)."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in folded if not unicodedata.combining(char))
    return _WORD.findall(plain)


def shingles(text: str) -> set[int]:
    """The 31-bit hashes of the text's word 3-grams (a shorter text: its words joined)."""
    tokens = words(text)
    grams = (
        [" ".join(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)]
        if len(tokens) >= SHINGLE
        else ([" ".join(tokens)] if tokens else [])
    )
    return {
        int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "big") & _PRIME
        for gram in grams
    }


def minhash(text: str) -> list[int]:
    """The text's MinHash signature: PERMUTATIONS values below 2^31. Raises ValueError for a
    text without words (nothing to compare)."""
    values = shingles(text)
    if not values:
        raise ValueError("a text without words has no fingerprint")
    x = np.fromiter(values, dtype=np.uint64, count=len(values))
    hashed = (_A[:, None] * x[None, :] + _B[:, None]) % np.uint64(_PRIME)
    return [int(value) for value in hashed.min(axis=1)]


def band_values(signature: list[int]) -> list[tuple[int, int]]:
    """(band, value) pairs for the index: each band's ROWS minimums hashed to 63 bits."""
    pairs = []
    for band in range(BANDS):
        chunk = signature[band * ROWS : (band + 1) * ROWS]
        digest = hashlib.blake2b(
            b"".join(value.to_bytes(8, "big") for value in chunk), digest_size=8
        ).digest()
        pairs.append((band, int.from_bytes(digest, "big") >> 1))
    return pairs


def similarity(first: list[int], second: list[int]) -> float:
    """Estimated Jaccard similarity of two signatures (share of equal minimums)."""
    return sum(1 for a, b in zip(first, second, strict=True) if a == b) / PERMUTATIONS


def pack(signature: list[int]) -> bytes:
    return b"".join(value.to_bytes(8, "big") for value in signature)


def unpack(blob: bytes) -> list[int]:
    return [int.from_bytes(blob[i : i + 8], "big") for i in range(0, len(blob), 8)]
