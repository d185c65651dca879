"""Accounts and API keys: creation and authentication, callable without HTTP."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select

from consent import clock
from consent.accounts.models import ROLES, SCOPES, Account, ApiKey
from consent.db import AnySession
from consent.errors import Forbidden, InvalidInput, Unauthorized

API_KEY_PREFIX = "csk_"
# 32 random bytes, base64url: 256 bits, far beyond guessing.
_API_KEY_BYTES = 32
MAX_API_KEY_LENGTH = 100


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_account(session: AnySession, *, email: str, display_name: str, role: str) -> Account:
    """Add an account. Raises InvalidInput for an unknown role."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    account = Account(email=email.strip().lower(), display_name=display_name.strip(), role=role)
    session.add(account)
    session.flush()
    return account


@dataclass(frozen=True)
class IssuedApiKey:
    """A new key: ``secret`` is shown once and never stored."""

    record: ApiKey
    secret: str


def create_api_key(
    session: AnySession,
    *,
    name: str,
    scopes: list[str],
    days: int,
    account: Account | None = None,
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
    session.add(record)
    session.flush()
    return IssuedApiKey(record, secret)


@dataclass(frozen=True)
class Caller:
    """Who is calling the API, and what they may do."""

    api_key_id: int
    name: str
    scopes: frozenset[str]
    account_id: int | None
    clinician_name: str | None
    # The role of the account the key acts for ("clinician", "admin"), None for a key of its own.
    account_role: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.account_role == "admin"


def authenticate(
    session: AnySession,
    authorization: str | None,
    *,
    scope: str | tuple[str, ...] | None,
    cache_seconds: float,
) -> Caller:
    """Resolve a ``Bearer`` header to a caller holding ``scope`` (any valid key when None).

    A key found valid is trusted by this worker for ``cache_seconds`` (0: looked up every
    call); a revocation reaches every worker within that delay, an expiry at once.

    ``scope`` may be a tuple: the caller then needs one of those scopes (an auditor's ``audit``
    or a clinician's ``consents:write`` for a receipt, say).

    Raises Unauthorized for a missing, unknown, expired or revoked key, and Forbidden for a
    valid key without the scope.
    """
    if not authorization:
        raise Unauthorized("An API key is required: Authorization: Bearer <key>.")
    key = _bearer_key(authorization)
    if key is None:
        raise Unauthorized("The Authorization header must be: Bearer <key>.")
    key_hash = hash_api_key(key)
    cached = _recent_keys.get(key_hash)
    if cached is not None and cached[1] > time.monotonic():
        caller, expires_at = cached[0], cached[2]
    else:
        row = session.connection().execute(_KEY_BY_HASH, {"key_hash": key_hash}).first()
        if row is None or row.revoked_at is not None:
            _recent_keys.pop(key_hash, None)
            raise Unauthorized(INVALID_KEY)
        caller = Caller(
            row.id,
            row.name,
            frozenset(row.scopes.split(",")),
            row.account_id,
            row.display_name,
            row.role,
        )
        expires_at = row.expires_at
        ttl = cache_seconds
        if ttl > 0:
            if len(_recent_keys) >= _RECENT_KEYS_MAX:
                _recent_keys.clear()
            _recent_keys[key_hash] = (caller, time.monotonic() + ttl, expires_at)
    # Expiry is checked on every call, cached or not.
    if expires_at <= clock.now():
        raise Unauthorized(INVALID_KEY)
    if scope is not None:
        wanted = (scope,) if isinstance(scope, str) else scope
        if caller.scopes.isdisjoint(wanted):
            named = " or ".join(f"'{name}'" for name in wanted)
            raise Forbidden(f"This API key does not have the {named} scope.")
    return caller


def recent_caller(authorization: str | None, *, scope: str) -> Caller | None:
    """The caller, when the key was found valid in the last few seconds and holds ``scope``.

    Needs neither the database nor an app context (the verify fast path). None whenever only
    ``authenticate`` can tell, including every case in which it would raise.
    """
    key = _bearer_key(authorization) if authorization else None
    cached = None if key is None else _recent_keys.get(hash_api_key(key))
    if cached is None or cached[1] <= time.monotonic() or cached[2] <= clock.now():
        return None
    caller = cached[0]
    return caller if scope in caller.scopes else None


def _bearer_key(authorization: str) -> str | None:
    kind, _, key = authorization.partition(" ")
    key = key.strip()
    if kind.lower() != "bearer" or not key or len(key) > MAX_API_KEY_LENGTH:
        return None
    return key


# One message for unknown, expired and revoked keys: nothing to learn by probing.
INVALID_KEY = "This API key is not valid (unknown, expired or revoked)."
# Valid keys seen in the last few seconds (CONSENT_API_KEY_CACHE_SECONDS), per worker process:
# the look-up is on every call of every publishing tool. A revocation reaches every worker
# within that delay; an expiry, at once.
_recent_keys: dict[str, tuple[Caller, float, datetime]] = {}
_RECENT_KEYS_MAX = 10_000


# Every API call runs this look-up: built once, executed on the Core connection.
_keys, _accounts = ApiKey.__table__, Account.__table__
_KEY_BY_HASH = (
    select(
        _keys.c.id,
        _keys.c.name,
        _keys.c.scopes,
        _keys.c.account_id,
        _keys.c.expires_at,
        _keys.c.revoked_at,
        _accounts.c.display_name,
        _accounts.c.role,
    )
    .select_from(_keys)
    .outerjoin(_accounts, _accounts.c.id == _keys.c.account_id)
    .where(_keys.c.key_hash == bindparam("key_hash"))
)
