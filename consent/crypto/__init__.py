"""Flask-free cryptography: signing keys, signed receipts, the identity vault.

Every verification here raises ``consent.errors.VerificationError`` on failure.
"""
