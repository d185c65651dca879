"""The consent service: signed, verifiable consent to publish patients' photos and videos.

The packages, top layer first (ARCHITECTURE.md; the import-linter contracts in pyproject.toml
hold every lower layer from importing a higher one):

- scripts: set up an instance (`make run`), write the OpenAPI document.
- app: the factory. pages, api, cli: the entry points (HTML, JSON, commands and offline tools).
- web: the WSGI plumbing (errors as HTTP, uploads, headers, sessions, logs, rate limits, the
  verify fast path).
- workflows: what crosses domains (decide, withdraw, erase, rendition, documents, exports,
  expire, deliver, audit, backup).
- runtime: what an instance holds besides its settings (keys, vault, files, links).
- domains: verify, consents, webhooks, media, patients, forms, accounts; documents and interop
  render what they are handed.
- records: the signed record (its columns, receipts, envelope, sign-and-log, proofs); client:
  the publishers' client.
- ledger, db, crypto: the Merkle log, persistence, keys and the vault.
- settings, errors, clock.

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
