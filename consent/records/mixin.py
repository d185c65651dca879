"""The columns every signed, logged record carries, declared once.

Consents, withdrawals, erasures and renditions are each a receipt: its canonical bytes as
signed, the Ed25519 signature, the id of the key that made it, and the index of the log leaf
that holds it. The leaf must exist (foreign key) and hold only this record (unique).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from consent.records.log import LoggedRecord


class SignedRecord:
    """Mixin for a model whose row is a signed receipt in the log (invariants 1 and 2)."""

    id: Mapped[str]

    @declared_attr
    def receipt(cls) -> Mapped[bytes]:
        return mapped_column(LargeBinary)

    @declared_attr
    def signature(cls) -> Mapped[bytes]:
        # Ed25519 signatures are 64 bytes (RFC 8032 5.1.6).
        return mapped_column(
            LargeBinary, CheckConstraint("length(signature) = 64", name="signature_length")
        )

    @declared_attr
    def key_id(cls) -> Mapped[str]:
        return mapped_column(String(8))

    @declared_attr
    def log_index(cls) -> Mapped[int]:
        # The leaf that logs this receipt (the index is also inside the signed receipt).
        return mapped_column(BigInteger, ForeignKey("log_leaves.index"), unique=True)

    def sealed_by(self, logged: LoggedRecord) -> None:
        """Take the receipt, signature, key id and log index of ``sign_and_log``'s result."""
        self.receipt = logged.body_bytes
        self.signature = logged.signature.signature
        self.key_id = logged.signature.key_id
        self.log_index = logged.log_index
