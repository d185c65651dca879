"""Checkpoints and offline proof bundles of the log, for the API, the CLI and the receipt PDFs."""

from __future__ import annotations

from consent.crypto.keyring import Keyring
from consent.db import AnySession
from consent.ledger import store
from consent.ledger.checkpoint import ProofBundle, format_proof_bundle, sign_checkpoint


def current_checkpoint(session: AnySession, keyring: Keyring, *, origin: str) -> str:
    """The current tree head, signed now (Ed25519 is deterministic: same head, same note)."""
    head = store.head(session)
    return sign_checkpoint(origin=origin, size=head.size, root=head.root, keyring=keyring)


def bundle_for(session: AnySession, keyring: Keyring, *, origin: str, index: int) -> str:
    """The c2sp.org/tlog-proof text for leaf ``index`` against the current checkpoint.

    Raises NotFound for an index beyond the log.
    """
    head = store.head(session)
    hashes = store.prove_inclusion(session, index=index, size=head.size)
    note = sign_checkpoint(origin=origin, size=head.size, root=head.root, keyring=keyring)
    return format_proof_bundle(ProofBundle(index, hashes, note))


def bundle_as_appended(session: AnySession, keyring: Keyring, *, origin: str, index: int) -> str:
    """The proof bundle of leaf ``index`` in the tree that ended with it (size index + 1).

    That tree never changes, and Ed25519 is deterministic: the same bundle every time, for a
    document issued once (the receipt PDF). Later trees are checked against it with
    consistency proofs. Raises NotFound for an index beyond the log.
    """
    size = index + 1
    hashes = store.prove_inclusion(session, index=index, size=size)
    root = store.root_at(session, size)
    note = sign_checkpoint(origin=origin, size=size, root=root, keyring=keyring)
    return format_proof_bundle(ProofBundle(index, hashes, note))
