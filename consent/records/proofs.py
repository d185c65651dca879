"""Checkpoints and offline proof bundles of the log, for the API, the CLI and the receipt PDFs."""

from __future__ import annotations

from consent.crypto.keyring import Keyring
from consent.crypto.timestamps import encode_proof_extra
from consent.db import AnySession
from consent.ledger import store
from consent.ledger.checkpoint import ProofBundle, format_proof_bundle, sign_checkpoint
from consent.records.timestamps import timestamp_of


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
    document issued once (the receipt PDF), until its checkpoint is timestamped: from then on the
    bundle carries the timestamped note and the authority's token (its extra data). Later trees
    are checked against it with consistency proofs. Raises NotFound for an index beyond the log.
    """
    size = index + 1
    hashes = store.prove_inclusion(session, index=index, size=size)
    stamped = timestamp_of(session, size)
    if stamped is None:
        root = store.root_at(session, size)
        note = sign_checkpoint(origin=origin, size=size, root=root, keyring=keyring)
        return format_proof_bundle(ProofBundle(index, hashes, note))
    # Once timestamped, the note the authority vouched for, and its token as the extra data.
    extra = encode_proof_extra([(stamped.tsa_url, stamped.response)])
    return format_proof_bundle(ProofBundle(index, hashes, stamped.note, extra))
