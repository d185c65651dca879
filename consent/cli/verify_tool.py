"""consent-verify: check a consent receipt offline, with no access to the hospital.

Given the receipt envelope, its proof bundle (c2sp.org/tlog-proof) and the service's public
key, it checks that the service signed the receipt, that the receipt is in the log at the index
it claims, and that the log's checkpoint is signed by the same service. Exit status 0 only when
everything holds; 1 when anything fails to verify; 2 on a usage error.

Imports nothing from Flask or a database driver.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from pathlib import Path

from consent.crypto.keyring import PublicKey
from consent.crypto.receipts import canonical, verify_envelope
from consent.errors import VerificationError
from consent.ledger.checkpoint import (
    parse_proof_bundle,
    parse_vkey,
    public_key_from_raw,
    verify_checkpoint,
)
from consent.ledger.merkle import leaf_hash
from consent.ledger.merkle_verify import verify_inclusion

MAX_INPUT_BYTES = 1024 * 1024


def _read(path: str) -> str:
    data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1) if path == "-" else Path(path).read_bytes()
    if len(data) > MAX_INPUT_BYTES:
        raise VerificationError(f"{path} is larger than {MAX_INPUT_BYTES} bytes")
    return data.decode("utf-8")


def load_keys(values: list[str]) -> list[PublicKey]:
    """Keys from verifier key lines, or files holding such lines or /.well-known/consent-keys.

    Raises VerificationError when a key cannot be read.
    """
    keys: list[PublicKey] = []
    for value in values:
        if "+" in value and not Path(value).exists():
            keys.append(parse_vkey(value))
            continue
        text = _read(value)
        if text.lstrip().startswith("{"):
            for entry in json.loads(text)["keys"]:
                keys.append(parse_vkey(entry["vkey"]))
        else:
            keys += [parse_vkey(line) for line in text.splitlines() if line.strip()]
    if not keys:
        raise VerificationError("no public key given")
    return keys


def verify_offline(
    *, envelope_text: str, bundle_text: str, keys: list[PublicKey], origin: str | None = None
) -> str:
    """Check a receipt, its inclusion and the checkpoint. Returns a summary line.

    Raises VerificationError on any failure.
    """
    try:
        envelope = json.loads(envelope_text)
    except ValueError as exc:
        raise VerificationError("the receipt is not JSON") from exc
    verified = verify_envelope(
        envelope=envelope, body_key="receipt", keys={key.key_id: key for key in keys}
    )
    bundle = parse_proof_bundle(bundle_text)
    claimed = verified.body.get("log_index")
    if claimed != bundle.index:
        raise VerificationError(
            f"the receipt says log index {claimed}, the proof is for index {bundle.index}"
        )
    checkpoint = verify_checkpoint(note=bundle.checkpoint_note, keys=keys, origin=origin)
    verify_inclusion(
        leaf_hash=leaf_hash(canonical(envelope)),
        index=bundle.index,
        size=checkpoint.size,
        proof=bundle.hashes,
        root=checkpoint.root,
    )
    body = verified.body
    return (
        f"OK: {body.get('type')} receipt {body.get('receipt_id')} issued {body.get('issued_at')}"
        f" is signed by key {verified.key_id} and included at index {bundle.index} of the log"
        f" {checkpoint.origin!r} (checkpoint of {checkpoint.size} entries, signed)."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="consent-verify",
        description="Check a consent receipt offline: signature, log inclusion, checkpoint.",
    )
    parser.add_argument("receipt", help="the receipt envelope (JSON file, or - for stdin)")
    parser.add_argument("proof", help="the proof bundle (.tlog-proof text file)")
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        help="the service's verifier key (name+id+base64), or a file holding such lines or "
        "the JSON of /.well-known/consent-keys; repeat for several keys",
    )
    parser.add_argument("--public-key", help="a raw Ed25519 public key, base64 (with --key-name)")
    parser.add_argument("--key-name", help="the key's name (the log origin, e.g. host/consent-log)")
    parser.add_argument("--origin", help="require this log origin")
    args = parser.parse_args(argv)
    try:
        keys = load_keys(args.key) if args.key else []
        if args.public_key:
            if not args.key_name:
                parser.error("--public-key needs --key-name")
            try:
                raw = base64.b64decode(args.public_key, validate=True)
            except (binascii.Error, ValueError):
                parser.error("--public-key is not base64")
            keys.append(public_key_from_raw(name=args.key_name, public_key=raw))
        if not keys:
            parser.error("give the service's key with --key or --public-key/--key-name")
        summary = verify_offline(
            envelope_text=_read(args.receipt),
            bundle_text=_read(args.proof),
            keys=keys,
            origin=args.origin,
        )
    except (VerificationError, OSError, UnicodeDecodeError, KeyError, ValueError) as exc:
        message = exc.message if isinstance(exc, VerificationError) else str(exc)
        print(f"FAILED: {message}", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
