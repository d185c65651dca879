"""Withdrawal codes: what a patient types (or scans) to withdraw, with no account.

20 symbols of Crockford's base32 (no I, L, O, U: nothing to misread) carry 100 bits, beyond
guessing even without the rate limit. Only a SHA-256 is stored for look-up (a slow hash adds
nothing at 100 bits); the code itself is sealed under the patient's key to be shown again.
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
LENGTH = 20  # x 5 bits = 100 bits
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def new_code() -> str:
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(symbols[i : i + 4] for i in range(0, LENGTH, 4))


def normalise(code: str) -> str:
    """Upper case, without separators or spaces, with look-alike letters read as digits."""
    return "".join(ch for ch in code.upper() if ch.isalnum()).translate(_READ_AS)


def code_hash(code: str) -> str:
    return hashlib.sha256(b"consent-withdrawal-code:" + normalise(code).encode()).hexdigest()
