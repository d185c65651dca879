"""API keys: issued by administrators to an account or an integration, for one team; resolved to
a caller on every API call.

A valid key is remembered by each worker for CONSENT_API_KEY_CACHE_SECONDS (the look-up is on
every call of every publishing tool); a revocation, a membership ended or an integration
disabled reaches every worker within that delay, an expiry at once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, bindparam, exists, select, update

from consent import clock
from consent.accounts.models import SCOPES, Account, ApiKey, Integration, Membership, Team
from consent.accounts.scope import EVERY_TEAM, Scope
from consent.db import AnySession
from consent.errors import Forbidden, InvalidInput, Unauthorized

API_KEY_PREFIX = "csk_"
# 32 random bytes, base64url: 256 bits, far beyond guessing.
_API_KEY_BYTES = 32
MAX_API_KEY_LENGTH = 100
# How stale a key's "last used" may be: written at most this often per key and worker.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


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
    team: Team,
    account: Account | None = None,
    integration: Integration | None = None,
) -> IssuedApiKey:
    """Issue a key acting for ``account`` or ``integration`` (exactly one) in ``team``.

    Raises InvalidInput for unknown scopes, a bad lifetime, no holder or two, an account that is
    not a member of the team, or an integration of another team.
    """
    unknown = set(scopes) - set(SCOPES)
    if not scopes or unknown:
        raise InvalidInput(
            f"scopes must be among {', '.join(SCOPES)}; got {', '.join(sorted(scopes)) or 'none'}"
        )
    if not name.strip() or len(name) > 100:
        raise InvalidInput("a key needs a name of 1 to 100 characters")
    if not 1 <= days <= 3650:
        raise InvalidInput("a key lives from 1 to 3650 days")
    if (account is None) == (integration is None):
        raise InvalidInput("a key acts for one account or one integration")
    if account is not None and session.get(Membership, (account.id, team.id)) is None:
        raise InvalidInput(f"{account.email} is not a member of the team {team.slug}")
    if integration is not None and integration.team_id != team.id:
        raise InvalidInput(f"the integration {integration.name} acts for another team")
    secret = API_KEY_PREFIX + secrets.token_urlsafe(_API_KEY_BYTES)
    record = ApiKey(
        name=name.strip(),
        prefix=secret[:12],
        key_hash=hash_api_key(secret),
        scopes=",".join(sorted(set(scopes))),
        account_id=account.id if account else None,
        integration_id=integration.id if integration else None,
        team_id=team.id,
        expires_at=clock.now() + timedelta(days=days),
    )
    session.add(record)
    session.flush()
    return IssuedApiKey(record, secret)


def revoke_api_key(session: AnySession, key: ApiKey) -> None:
    """Stop the key: refused by every worker within CONSENT_API_KEY_CACHE_SECONDS."""
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        session.flush()


def api_keys(session: AnySession, *, team_id: str | None = None) -> list[ApiKey]:
    """Keys, newest first (of one team when given), revoked and expired ones included."""
    query = select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    if team_id is not None:
        query = query.where(ApiKey.team_id == team_id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Caller:
    """Who is calling the API, for which team, and what they may do."""

    api_key_id: int
    name: str
    scopes: frozenset[str]
    team_id: str
    account_id: int | None
    integration_id: str | None
    # The account's display name or the integration's name, as shown to people.
    display_name: str
    # The role of the account the key acts for; None for an integration.
    account_role: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.account_role == "admin"

    @property
    def scope(self) -> Scope:
        """The records this caller reaches: its own team's."""
        return Scope.of([self.team_id])

    @property
    def reading_scope(self) -> Scope:
        """For reading pseudonymous records (receipts, proofs, exports): every team's for an
        auditor's key, else its own team's."""
        return EVERY_TEAM if "audit" in self.scopes else self.scope

    def recorder(self) -> dict[str, str | int]:
        """Who recorded something through this key, as a receipt names them."""
        holder: dict[str, str | int] = (
            {"account": self.account_id}
            if self.account_id is not None
            else {"integration": str(self.integration_id)}
        )
        return {"team": self.team_id, **holder, "api_key": self.api_key_id}


def authenticate(
    session: AnySession,
    authorization: str | None,
    *,
    scope: str | tuple[str, ...] | None,
    cache_seconds: float,
) -> Caller:
    """Resolve a ``Bearer`` header to a caller holding ``scope`` (any valid key when None).

    ``scope`` may be a tuple: the caller then needs one of those scopes (an auditor's ``audit``
    or a clinician's ``consents:write`` for a receipt, say).

    Raises Unauthorized for a missing, unknown, expired or revoked key, a key whose account is
    no longer a member of its team or whose integration is disabled; Forbidden for a valid key
    without the scope.
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
        if row is None or row.revoked_at is not None or not row.holder_active:
            _recent_keys.pop(key_hash, None)
            raise Unauthorized(INVALID_KEY)
        caller = Caller(
            api_key_id=row.id,
            name=row.name,
            scopes=frozenset(row.scopes.split(",")),
            team_id=row.team_id,
            account_id=row.account_id,
            integration_id=row.integration_id,
            display_name=row.display_name or row.integration_name or row.name,
            account_role=row.role,
        )
        expires_at = row.expires_at
        _touch(session, row.id, row.last_used_at)
        if cache_seconds > 0:
            if len(_recent_keys) >= _RECENT_KEYS_MAX:
                _recent_keys.clear()
            _recent_keys[key_hash] = (caller, time.monotonic() + cache_seconds, expires_at)
    # Expiry is checked on every call, cached or not.
    if expires_at <= clock.now():
        raise Unauthorized(INVALID_KEY)
    if scope is not None:
        wanted = (scope,) if isinstance(scope, str) else scope
        if caller.scopes.isdisjoint(wanted):
            named = " or ".join(f"'{name}'" for name in wanted)
            raise Forbidden(f"This API key does not have the {named} scope.")
    return caller


def _touch(session: AnySession, key_id: int, last_used_at: datetime | None) -> None:
    """Note the key's use, at most once a minute, in a transaction of its own: the caller's
    request may be read-only (verify) and never commit."""
    now = clock.now()
    if last_used_at is not None and now - last_used_at < LAST_USED_RESOLUTION:
        return
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with engine.begin() as connection:
        connection.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))


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
_recent_keys: dict[str, tuple[Caller, float, datetime]] = {}
_RECENT_KEYS_MAX = 10_000


# Every API call runs this look-up: built once, executed on the Core connection.
_keys, _accounts = ApiKey.__table__, Account.__table__
_integrations, _memberships = Integration.__table__, Membership.__table__
# A person's key works while their account is enabled and a member of its team; a system's
# while it is enabled.
_HOLDER_ACTIVE = and_(
    _accounts.c.disabled_at.is_(None),
    exists()
    .where(
        _memberships.c.account_id == _keys.c.account_id,
        _memberships.c.team_id == _keys.c.team_id,
    )
    .correlate(_keys),
) | and_(_integrations.c.id.is_not(None), _integrations.c.disabled_at.is_(None))
_KEY_BY_HASH = (
    select(
        _keys.c.id,
        _keys.c.name,
        _keys.c.scopes,
        _keys.c.team_id,
        _keys.c.account_id,
        _keys.c.integration_id,
        _keys.c.expires_at,
        _keys.c.revoked_at,
        _keys.c.last_used_at,
        _accounts.c.display_name,
        _accounts.c.role,
        _integrations.c.name.label("integration_name"),
        _HOLDER_ACTIVE.label("holder_active"),
    )
    .select_from(_keys)
    .outerjoin(_accounts, _accounts.c.id == _keys.c.account_id)
    .outerjoin(_integrations, _integrations.c.id == _keys.c.integration_id)
    .where(_keys.c.key_hash == bindparam("key_hash"))
)
