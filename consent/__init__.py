"""The consent service: signed, verifiable consent to publish patients' photos and videos.

Importing the package loads nothing else: the crypto core (consent.crypto) and the Merkle log
(consent.ledger.merkle) stay usable by offline verifiers without Flask or a database driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app (see consent.app.create_app)."""
    from consent.app import create_app as build

    return build(test_config)
