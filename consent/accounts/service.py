"""Accounts and API keys: creation and authentication, callable without HTTP."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from consent import clock
from consent.accounts.models import ROLES, SCOPES, Account, ApiKey
from consent.errors import Forbidden, InvalidInput, Unauthorized
from consent.extensions import db

API_KEY_PREFIX = "csk_"
# 32 random bytes, base64url: 256 bits, far beyond guessing.
_API_KEY_BYTES = 32
MAX_API_KEY_LENGTH = 100


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_account(*, email: str, display_name: str, role: str) -> Account:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    account = Account(email=email.strip().lower(), display_name=display_name.strip(), role=role)
    db.session.add(account)
    db.session.flush()
    return account


@dataclass(frozen=True)
class IssuedApiKey:
    """A new key: ``secret`` is shown once and never stored."""

    record: ApiKey
    secret: str


def create_api_key(
    *, name: str, scopes: list[str], days: int, account: Account | None = None
) -> IssuedApiKey:
    """Issue an API key. Raises InvalidInput for unknown scopes or a bad lifetime."""
    unknown = set(scopes) - set(SCOPES)
    if not scopes or unknown:
        raise InvalidInput(
            f"scopes must be among {', '.join(SCOPES)}; got {', '.join(sorted(scopes)) or 'none'}"
        )
    if not name.strip() or len(name) > 100:
        raise InvalidInput("a key needs a name of 1 to 100 characters")
    if not 1 <= days <= 3650:
        raise InvalidInput("a key lives from 1 to 3650 days")
    secret = API_KEY_PREFIX + secrets.token_urlsafe(_API_KEY_BYTES)
    record = ApiKey(
        name=name.strip(),
        prefix=secret[:12],
        key_hash=hash_api_key(secret),
        scopes=",".join(sorted(set(scopes))),
        account_id=account.id if account else None,
        expires_at=clock.now() + timedelta(days=days),
    )
    db.session.add(record)
    db.session.flush()
    return IssuedApiKey(record, secret)


@dataclass(frozen=True)
class Caller:
    """Who is calling the API, and what they may do."""

    api_key_id: int
    name: str
    scopes: frozenset[str]
    account_id: int | None
    clinician_name: str | None


def authenticate(authorization: str | None, *, scope: str) -> Caller:
    """Resolve a ``Bearer`` header to a caller holding ``scope``.

    Raises Unauthorized for a missing, unknown, expired or revoked key, and Forbidden for a
    valid key without the scope.
    """
    if not authorization:
        raise Unauthorized("An API key is required: Authorization: Bearer <key>.")
    kind, _, key = authorization.partition(" ")
    key = key.strip()
    if kind.lower() != "bearer" or not key or len(key) > MAX_API_KEY_LENGTH:
        raise Unauthorized("The Authorization header must be: Bearer <key>.")
    row = db.session.execute(
        select(ApiKey, Account.display_name)
        .outerjoin(Account, Account.id == ApiKey.account_id)
        .where(ApiKey.key_hash == hash_api_key(key))
    ).first()
    # One message for unknown, expired and revoked keys: nothing to learn by probing.
    if row is None or row[0].revoked_at is not None or row[0].expires_at <= clock.now():
        raise Unauthorized("This API key is not valid (unknown, expired or revoked).")
    api_key, clinician_name = row
    if scope not in api_key.scope_set:
        raise Forbidden(f"This API key does not have the '{scope}' scope.")
    return Caller(api_key.id, api_key.name, api_key.scope_set, api_key.account_id, clinician_name)
