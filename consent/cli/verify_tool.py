"""consent-verify: check a consent receipt offline, with no access to the hospital.

Given the receipt envelope, its proof bundle (c2sp.org/tlog-proof) and the service's public
key, it checks that the service signed the receipt, that the receipt is in the log at the index
it claims, and that the log's checkpoint is signed by the same service. When the bundle carries
RFC 3161 timestamps of that checkpoint and the authority's root certificate is given
(``--tsa-root``), it checks them too, offline. Exit status 0 only when everything checked
holds; 1 when anything fails to verify (or a timestamp is required and absent); 2 on a usage
error. docs/evidence.md says what each check proves.

Imports nothing from Flask or a database driver.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509

from consent.crypto.keyring import PublicKey
from consent.crypto.receipts import canonical, verify_envelope
from consent.crypto.timestamps import decode_proof_extra, verify_timestamp
from consent.errors import VerificationError
from consent.ledger.checkpoint import (
    ProofBundle,
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
    *,
    envelope_text: str,
    bundle_text: str,
    keys: list[PublicKey],
    origin: str | None = None,
    tsa_roots: Sequence[x509.Certificate] = (),
    require_timestamp: bool = False,
) -> str:
    """Check a receipt, its inclusion and the checkpoint (and the checkpoint's timestamps when
    ``tsa_roots`` are given). Returns a summary: the first line says what holds.

    Raises VerificationError on any failure, or when ``require_timestamp`` and no timestamp
    was checked.
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
    lines = [
        f"OK: {body.get('type')} receipt {body.get('receipt_id')} issued {body.get('issued_at')}"
        f" is signed by key {verified.key_id} and included at index {bundle.index} of the log"
        f" {checkpoint.origin!r} (checkpoint of {checkpoint.size} entries, signed).",
        "  Receipt signature: the service holding this key issued exactly this record.",
        "  Log proof: the record is entry "
        f"{bundle.index} of the log; the log cannot drop or change it later without the next "
        "checkpoints showing it (consistency proofs).",
    ]
    lines += _timestamp_lines(bundle, tsa_roots=tsa_roots, required=require_timestamp)
    lines.append(
        "  PDF seal (not checked here): the receipt PDF's PAdES seal says the document came "
        "from the hospital's service unchanged; check it with a PDF reader or `pdfsig` "
        "(docs/evidence.md)."
    )
    return "\n".join(lines)


def _timestamp_lines(
    bundle: ProofBundle, *, tsa_roots: Sequence[x509.Certificate], required: bool
) -> list[str]:
    tokens = decode_proof_extra(bundle.extra) if bundle.extra is not None else []
    if not tokens:
        if required:
            raise VerificationError("the proof carries no timestamp of its checkpoint")
        return ["  Timestamp: none in this proof (its checkpoint was not timestamped yet)."]
    if not tsa_roots:
        if required:
            raise VerificationError("give the authority's root certificate with --tsa-root")
        return [
            f"  Timestamp: {len(tokens)} token(s) NOT CHECKED: give the authority's root "
            "certificate with --tsa-root."
        ]
    note = bundle.checkpoint_note.encode()
    lines = []
    for url, reply in tokens:
        stamp = verify_timestamp(response=reply, message=note, roots=tsa_roots)
        lines.append(
            f"  Timestamp: {stamp.authority} ({url}) vouches that this checkpoint, and so this "
            f"record, existed no later than {stamp.gen_time.isoformat()} (token serial "
            f"{stamp.serial_number}); the hospital cannot backdate it."
        )
    return lines


def _roots(path: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(Path(path).read_bytes())
    except ValueError as exc:
        raise VerificationError(f"{path} holds no PEM certificate") from exc


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
    parser.add_argument(
        "--tsa-root",
        action="append",
        default=[],
        help="a PEM file of the timestamping authority's root certificate(s), obtained from "
        "the authority itself; repeat for several",
    )
    parser.add_argument(
        "--require-timestamp",
        action="store_true",
        help="fail unless the checkpoint carries a timestamp that verifies",
    )
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
            tsa_roots=[root for path in args.tsa_root for root in _roots(path)],
            require_timestamp=args.require_timestamp,
        )
    except (VerificationError, OSError, UnicodeDecodeError, KeyError, ValueError) as exc:
        message = exc.message if isinstance(exc, VerificationError) else str(exc)
        print(f"FAILED: {message}", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
