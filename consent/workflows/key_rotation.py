"""Rotating the service's signing key: one service for `flask rotate-key` and the admin page.

A new key is added to the key file (instance/keys/); it signs from then on, and the old one
is kept, retired, so every receipt it signed still verifies. A demo's throw-away
document-signing certificate is renewed with it; a hospital's certificate is not (it follows
the hospital's PKI). The caller installs the returned runtime in its process; other workers
and nodes read the key file when they are reloaded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from consent.crypto.document_signing import renew_throwaway_identity
from consent.crypto.keyring import PublicKey, add_signing_key, promote_next_key
from consent.errors import ConfigurationError, InvalidInput
from consent.runtime import Runtime, keys_dir, load_keyring


@dataclass(frozen=True)
class Rotation:
    runtime: Runtime  # with the new keyring, for the caller to install
    key: PublicKey  # the new active key, or the published next one
    # SHA-256 of the renewed throw-away certificate; None when the hospital's is kept.
    certificate_fingerprint: str | None


def rotate_signing_key(rt: Runtime, *, upcoming: bool = False, promote: bool = False) -> Rotation:
    """Add a signing key (``upcoming``: published as "next", verifying but not signing yet;
    ``promote``: the next key signs from now on).

    Raises InvalidInput for both flags at once, ConfigurationError when the keys come from
    CONSENT_SIGNING_KEYS (the environment is changed, not a file) or the key file refuses.
    """
    if upcoming and promote:
        raise InvalidInput("--next publishes a key, --promote makes it sign: one at a time")
    if rt.settings.signing_keys:
        raise ConfigurationError(
            "signing keys come from CONSENT_SIGNING_KEYS: put a new seed in "
            "CONSENT_NEXT_SIGNING_KEYS, then move it to the end of CONSENT_SIGNING_KEYS "
            "(docs/operations.md)"
        )
    if promote:
        promote_next_key(keys_dir(rt.settings))
    else:
        add_signing_key(keys_dir(rt.settings), name=rt.keyring.name, upcoming=upcoming)
    keyring = load_keyring(rt.settings)
    rotated = dataclasses.replace(rt, keyring=keyring)
    if upcoming:
        key = next(k for k in keyring.public_keys() if k.status == "next")
        return Rotation(runtime=rotated, key=key, certificate_fingerprint=None)
    return Rotation(
        runtime=rotated, key=keyring.active, certificate_fingerprint=_renew_certificate(rt)
    )


def _renew_certificate(rt: Runtime) -> str | None:
    if rt.sealer is None or not rt.sealer.identity.is_throwaway:
        return None
    identity = renew_throwaway_identity(
        keys_dir(rt.settings),
        organisation=rt.settings.controller,
        cert_name=rt.settings.document_signing_cert,
        key_name=rt.settings.document_signing_key,
    )
    return str(identity.fingerprint)
