"""The password policy for staff accounts, after NIST SP 800-63B (5.1.1.2).

Length matters and composition rules do not: at least 12 characters, at most 200 (a limit on
every input, and on hashing cost), and not a password found in breach lists or one made of the
account's own e-mail or name. No forced rotation and no "one digit, one symbol" rules, which
lead to weaker passwords. Login attempts are rate-limited separately.
"""

from __future__ import annotations

import re

MIN_LENGTH = 12
MAX_LENGTH = 200

# The most common passwords of at least 12 characters in public breach corpora (a short list:
# the length rule already excludes the shorter common ones), lower-cased, and the patterns
# people reach for when told "12 characters".
_COMMON = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678910",
        "qwertyuiopasdfghjkl",
        "qwertyuiop123",
        "qwerty123456",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "zaq12wsxcde3",
        "passwordpassword",
        "password1234",
        "password12345",
        "password123456",
        "iloveyou1234",
        "administrator",
        "welcome12345",
        "changeme1234",
        "letmein12345",
        "motdepasse123",
        "azertyuiop123",
        "azertyuiopqsdf",
        "hopital123456",
        "hospital123456",
        "correct horse battery staple",
    }
)


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """What is wrong with ``password`` for this account, in plain words; empty when it is fine."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters; a few words make a good password.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    folded = password.casefold()
    if folded in _COMMON or len(set(folded)) <= 2:
        problems.append("This password is too common; choose another.")
    account_words = {
        word
        for word in re.split(r"[^a-z0-9]+", f"{email.split('@')[0]} {name}".casefold())
        if len(word) >= 4
    }
    if any(word in folded for word in account_words):
        problems.append("Do not use your name or e-mail address in the password.")
    return problems
