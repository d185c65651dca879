"""Accounts and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from consent.db import db
from consent.db.types import UTCDateTime, utcnow

ROLES = ("clinician", "admin")
# verify: ask verify only; consents:write: patients, media, requests, decisions, withdrawals;
# webhooks:manage: register, list and delete the key owner's webhook endpoints.
# An API key's scopes make its role (docs/roles.md): "verify" alone is a publisher, "audit" an
# auditor, "consents:write" a clinician's tool, "webhooks:manage" an administrator's.
SCOPES = ("verify", "consents:write", "webhooks:manage", "audit")


class Account(db.Model):  # type: ignore[name-defined,misc]
    """A person who uses the service: a clinician who informs patients, or an administrator.

    It answers what Flask-Login asks of a signed-in user (the web layer logs people in); the
    domain itself does not depend on Flask-Login.
    """

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    # Set by the login issue; an account without one cannot log in to the pages.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # Flask-Login's user protocol (its UserMixin, without the import).
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


class ApiKey(db.Model):  # type: ignore[name-defined,misc]
    """A bearer key for the JSON API. Only the SHA-256 of the key is stored.

    A fast hash is enough: keys are 256-bit random, so there is nothing to guess.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the key, to tell keys apart in listings; not a secret.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
