"""The ID token check (consent.accounts.id_tokens) against forged, stolen and stale tokens:
each attack is refused, and only a token signed by the provider's published key, for this
client, from this issuer, unexpired and with this log-in's nonce signs anyone in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from consent.accounts.id_tokens import validate_id_token
from consent.errors import SignOnRefused

ISSUER = "https://id.hospital.example"
CLIENT = "consent-service"
NONCE = "n-0S6_WzA2Mj"
NOW = int(time.time())
PROVIDER_KEY = RSAKey.generate_key(2048, parameters={"kid": "provider-1"}, private=True)
ATTACKER_KEY = RSAKey.generate_key(2048, parameters={"kid": "provider-1"}, private=True)
JWKS = KeySet([PROVIDER_KEY]).as_dict(private=False)


def _claims(**changes: Any) -> dict[str, Any]:
    claims = {
        "iss": ISSUER,
        "sub": "248289761001",
        "aud": CLIENT,
        "exp": NOW + 300,
        "iat": NOW,
        "nonce": NONCE,
        "email": "Jane.Doe@Hospital.Example",
        "email_verified": True,
        "name": "Dr Jane Doe",
        "groups": ["cardio-clinicians"],
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _token(key: Any = PROVIDER_KEY, alg: str = "RS256", **changes: Any) -> str:
    return jwt.encode({"alg": alg, "kid": "provider-1"}, _claims(**changes), key)


def _check(token: str, *, nonce: str = NONCE) -> Any:
    return validate_id_token(
        id_token=token,
        jwks=JWKS,
        issuer=ISSUER,
        client_id=CLIENT,
        nonce=nonce,
        groups_claim="groups",
        now=NOW,
    )


def test_a_token_signed_by_the_provider_for_this_client_names_the_person() -> None:
    identity = _check(_token())
    assert identity.issuer == ISSUER and identity.subject == "248289761001"
    assert identity.email == "jane.doe@hospital.example" and identity.email_verified
    assert identity.groups == ("cardio-clinicians",)


def test_a_token_from_another_issuer_is_refused() -> None:
    with pytest.raises(SignOnRefused, match="iss"):
        _check(_token(iss="https://evil.example"))


def test_a_token_issued_to_another_client_is_refused() -> None:
    with pytest.raises(SignOnRefused, match="aud"):
        _check(_token(aud="another-app"))


def test_a_token_for_several_clients_without_us_as_authorized_party_is_refused() -> None:
    with pytest.raises(SignOnRefused, match="azp"):
        _check(_token(aud=[CLIENT, "another-app"], azp="another-app"))


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(SignOnRefused, match="exp"):
        _check(_token(exp=NOW - 3600, iat=NOW - 7200))


def test_a_token_issued_in_the_future_is_refused() -> None:
    with pytest.raises(SignOnRefused):
        _check(_token(iat=NOW + 3600, exp=NOW + 7200))


def test_a_token_signed_by_another_key_with_the_providers_key_id_is_refused() -> None:
    with pytest.raises(SignOnRefused, match="not valid"):
        _check(_token(key=ATTACKER_KEY))


def test_a_token_with_its_payload_altered_after_signing_is_refused() -> None:
    header, _payload, signature = _token().split(".")
    forged = jwt.encode({"alg": "RS256"}, _claims(groups=["consent-admins"]), ATTACKER_KEY)
    with pytest.raises(SignOnRefused):
        _check(".".join((header, forged.split(".")[1], signature)))


def _part(value: dict[str, Any] | bytes) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_an_unsigned_token_is_refused() -> None:
    with pytest.raises(SignOnRefused):
        _check(f"{_part({'alg': 'none'})}.{_part(_claims())}.")


def test_a_token_signed_with_hmac_over_the_public_key_is_refused() -> None:
    """Algorithm confusion: HS256 keyed with the provider's public key bytes."""
    signed = f"{_part({'alg': 'HS256', 'kid': 'provider-1'})}.{_part(_claims())}"
    secret = PROVIDER_KEY.as_pem(private=False)
    mac = hmac.new(secret, signed.encode(), hashlib.sha256).digest()
    with pytest.raises(SignOnRefused):
        _check(f"{signed}.{_part(mac)}")


def test_a_token_replayed_into_another_log_in_is_refused_by_its_nonce() -> None:
    """A token captured from one sign-in, presented in a sign-in that has its own nonce."""
    with pytest.raises(SignOnRefused, match="nonce"):
        _check(_token(), nonce="the-nonce-of-another-log-in")


def test_a_token_without_a_nonce_is_refused() -> None:
    with pytest.raises(SignOnRefused, match="nonce"):
        _check(_token(nonce=None))


def test_a_log_in_without_a_nonce_of_its_own_accepts_no_token() -> None:
    with pytest.raises(SignOnRefused, match="nonce"):
        _check(_token(nonce=""), nonce="")


def test_a_token_without_a_subject_is_refused() -> None:
    with pytest.raises(SignOnRefused):
        _check(_token(sub=None))


def test_an_email_the_provider_did_not_verify_is_said_so() -> None:
    assert not _check(_token(email_verified="true")).email_verified
    assert not _check(_token(email_verified=None)).email_verified
