"""Checkpoints and proof bundles of the current log, for the API and the CLI."""

from __future__ import annotations

from consent.consents.service import get_consent
from consent.db import db
from consent.ledger import store
from consent.ledger.checkpoint import ProofBundle, format_proof_bundle, sign_checkpoint
from consent.records.log import log_origin
from consent.runtime import runtime


def current_checkpoint() -> str:
    """The current tree head, signed now (Ed25519 is deterministic: same head, same note)."""
    head = store.head(db.session)
    return sign_checkpoint(
        origin=log_origin(), size=head.size, root=head.root, keyring=runtime().keyring
    )


def bundle_for(index: int) -> str:
    """The c2sp.org/tlog-proof text for leaf ``index`` against the current checkpoint."""
    head = store.head(db.session)
    hashes = store.prove_inclusion(db.session, index=index, size=head.size)
    note = sign_checkpoint(
        origin=log_origin(), size=head.size, root=head.root, keyring=runtime().keyring
    )
    return format_proof_bundle(ProofBundle(index, hashes, note))


def bundle_as_appended(index: int) -> str:
    """The proof bundle of leaf ``index`` in the tree that ended with it (size index + 1).

    That tree never changes, and Ed25519 is deterministic: the same bundle every time, for a
    document issued once (the receipt PDF). Later trees are checked against it with
    consistency proofs. Raises NotFound for an index beyond the log.
    """
    size = index + 1
    hashes = store.prove_inclusion(db.session, index=index, size=size)
    root = store.root_at(db.session, size)
    note = sign_checkpoint(origin=log_origin(), size=size, root=root, keyring=runtime().keyring)
    return format_proof_bundle(ProofBundle(index, hashes, note))


def consent_bundle(consent_id: str) -> str:
    """The proof bundle of a consent's receipt. Raises NotFound."""
    return bundle_for(get_consent(consent_id).log_index)
