"""The ID token of the hospital's OpenID Connect provider, checked as OpenID Connect Core 1.0
section 3.1.3.7 asks: signed by one of the provider's published keys (JWKS) with an asymmetric
algorithm, issued by the configured issuer, for this client, unexpired, and carrying the nonce
this browser's log-in was started with. Flask-free: the pages hand it the token and what they
fetched; joserfc (Authlib's JOSE library) does the signature and the registered claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from consent.errors import SignOnRefused

# Asymmetric only: "none" and the HMAC algorithms (keyed with the client secret, which the
# provider and every holder of the secret share) never sign a person in here.
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
# Seconds of clock difference tolerated between the provider and this service.
CLOCK_LEEWAY = 60
MAX_ID_TOKEN_LENGTH = 16_000


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in, from a checked ID token."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    groups: tuple[str, ...]


def validate_id_token(
    *,
    id_token: str,
    jwks: dict[str, Any],
    issuer: str,
    client_id: str,
    nonce: str,
    groups_claim: str,
    now: int,
) -> Identity:
    """The identity an ID token proves.

    Raises SignOnRefused for a token that does not parse, is not signed by one of ``jwks``'s
    keys with an accepted algorithm, names another issuer or audience, has expired, was issued
    in the future, or carries another nonce (a token replayed from another log-in).
    """
    if not nonce:
        raise SignOnRefused("This sign-in was not started here (no nonce).")
    if not id_token or len(id_token) > MAX_ID_TOKEN_LENGTH:
        raise SignOnRefused("The provider's ID token is missing or too long.")
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        token = jwt.decode(id_token, keys, algorithms=list(ID_TOKEN_ALGORITHMS))
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=CLOCK_LEEWAY,
            iss={"essential": True, "value": issuer},
            sub={"essential": True},
            aud={"essential": True, "value": client_id},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(claims)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise SignOnRefused(f"The provider's ID token is not valid ({_reason(exc)}).") from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    # OpenID Connect Core 3.1.3.7, steps 4 and 5: a token for several clients names us as azp.
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise SignOnRefused("The provider's ID token was issued to another client (azp).")
    return Identity(
        issuer=issuer,
        subject=_text(claims["sub"], 255, "sub"),
        email=_email(claims.get("email")),
        email_verified=claims.get("email_verified") is True,
        name=_optional_text(claims.get("name"), 200),
        groups=_groups(claims.get(groups_claim)),
    )


def _reason(exc: Exception) -> str:
    name = getattr(exc, "error", None) or type(exc).__name__
    claim = getattr(exc, "claim", None)
    return f"{name}: {claim}" if claim else str(name)


def _text(value: object, limit: int, claim: str) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise SignOnRefused(f"The provider's ID token has no usable {claim} claim.")
    return value


def _optional_text(value: object, limit: int) -> str | None:
    return value.strip()[:limit] or None if isinstance(value, str) else None


def _email(value: object) -> str | None:
    if not isinstance(value, str) or "@" not in value or len(value) > 254:
        return None
    return value.strip().lower()


def _groups(value: object) -> tuple[str, ...]:
    """The groups claim: a list of names (a single name is taken as a list of one)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(group for group in value[:500] if isinstance(group, str) and len(group) <= 200)
