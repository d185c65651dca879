"""The log over HTTP: checkpoint, proofs, entries, and a consent's offline proof bundle.

Readable with any valid API key; nothing here names a patient (receipts carry only the
pseudonymous subject id).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from consent.consents.decisions import get_consent
from consent.db import db
from consent.errors import NotFound
from consent.ledger import store
from consent.records import proofs
from consent.records.timestamps import timestamp_of
from consent.web.auth import ANY_VALID_KEY, RECORD_READERS, current_caller, require_scope
from consent.web.context import runtime
from consent.workflows.log_entries import readable_entry

blp = Blueprint("log", __name__, url_prefix="/api/v1/log", description="Tamper-evident log")
consent_proof_blp = Blueprint(
    "consent_proofs", __name__, url_prefix="/api/v1/consents", description="Consents"
)

INDEX = validate.Range(min=0, max=2**62)


class InclusionQuery(Schema):
    index = fields.Integer(required=True, validate=INDEX)
    size = fields.Integer(required=True, validate=validate.Range(min=1, max=2**62))


class InclusionOut(Schema):
    index = fields.Integer(required=True)
    size = fields.Integer(required=True)
    hashes = fields.List(fields.String(), required=True)


class ConsistencyQuery(Schema):
    first = fields.Integer(required=True, validate=validate.Range(min=1, max=2**62))
    second = fields.Integer(required=True, validate=validate.Range(min=1, max=2**62))


class ConsistencyOut(Schema):
    first = fields.Integer(required=True)
    second = fields.Integer(required=True)
    hashes = fields.List(fields.String(), required=True)


class EntryOut(Schema):
    index = fields.Integer(required=True)
    kind = fields.String(required=True)
    leaf_hash = fields.String(required=True, metadata={"description": "base64"})
    data = fields.String(required=True, metadata={"description": "base64 of the exact leaf bytes"})
    envelope = fields.Dict(required=True, metadata={"description": "the leaf bytes, parsed"})


def _b64(items: list[bytes]) -> list[str]:
    return [base64.b64encode(item).decode() for item in items]


@blp.route("/checkpoint", methods=["GET"])
@require_scope(ANY_VALID_KEY)
@blp.response(200, {"type": "string"}, content_type="text/plain")
def checkpoint() -> Response:
    """The current tree head as a signed note (c2sp.org/tlog-checkpoint)."""
    rt = runtime()
    note = proofs.current_checkpoint(db.session, rt.keyring, origin=rt.log_origin)
    return Response(note, mimetype="text/plain")


class CheckpointTimestampOut(Schema):
    tree_size = fields.Integer(required=True)
    note = fields.String(
        required=True, metadata={"description": "the signed note (checkpoint) timestamped"}
    )
    note_sha256 = fields.String(required=True, metadata={"description": "hex; the hashed bytes"})
    tsa = fields.String(required=True, metadata={"description": "the authority's address"})
    gen_time = fields.DateTime(required=True, metadata={"description": "the authority's time"})
    reply = fields.String(
        required=True, metadata={"description": "RFC 3161 TimeStampResp, DER, base64"}
    )


@blp.route("/checkpoints/<int(min=1, max=9007199254740991):size>/timestamp", methods=["GET"])
@require_scope(ANY_VALID_KEY)
@blp.response(200, CheckpointTimestampOut)
def checkpoint_timestamp(size: int) -> dict[str, Any]:
    """The RFC 3161 token of the checkpoint of ``size`` entries, with the note it vouches for
    (404 until an authority has timestamped it)."""
    stamped = timestamp_of(db.session, size)
    if stamped is None:
        raise NotFound(f"The checkpoint of {size} entries has no timestamp (yet).")
    return {
        "tree_size": stamped.tree_size,
        "note": stamped.note,
        "note_sha256": stamped.note_sha256.hex(),
        "tsa": stamped.tsa_url,
        "gen_time": stamped.gen_time,
        "reply": base64.b64encode(stamped.response).decode(),
    }


@blp.route("/proof/inclusion", methods=["GET"])
@require_scope(ANY_VALID_KEY)
@blp.arguments(InclusionQuery(), location="query")
@blp.response(200, InclusionOut)
def inclusion(query: dict[str, int]) -> dict[str, Any]:
    """The RFC 9162 inclusion proof of entry ``index`` in the tree of ``size`` entries."""
    hashes = store.prove_inclusion(db.session, index=query["index"], size=query["size"])
    return {"index": query["index"], "size": query["size"], "hashes": _b64(hashes)}


@blp.route("/proof/consistency", methods=["GET"])
@require_scope(ANY_VALID_KEY)
@blp.arguments(ConsistencyQuery(), location="query")
@blp.response(200, ConsistencyOut)
def consistency(query: dict[str, int]) -> dict[str, Any]:
    """The RFC 9162 consistency proof between the trees of ``first`` and ``second`` entries."""
    hashes = store.prove_consistency(db.session, first=query["first"], second=query["second"])
    return {"first": query["first"], "second": query["second"], "hashes": _b64(hashes)}


# Bounded as JSON integers are (2**53 - 1): a larger number is no entry, not a database error.
@blp.route("/entries/<int(max=9007199254740991):index>", methods=["GET"])
@require_scope(RECORD_READERS)
@blp.response(200, EntryOut)
def get_entry(index: int) -> dict[str, Any]:
    """A log entry: the receipt envelope's exact bytes and its leaf hash (of a record of the
    caller's team; an auditor's key reads every entry)."""
    leaf = readable_entry(db.session, index, scope=current_caller().reading_scope)
    return {
        "index": leaf.index,
        "kind": leaf.kind,
        "leaf_hash": base64.b64encode(leaf.leaf_hash).decode(),
        "data": base64.b64encode(leaf.data).decode(),
        "envelope": json.loads(leaf.data),
    }


@consent_proof_blp.route("/<consent_id>/proof", methods=["GET"])
@require_scope(RECORD_READERS)
@consent_proof_blp.response(200, {"type": "string"}, content_type="text/plain")
def consent_proof(consent_id: str) -> Response:
    """The consent receipt's offline proof bundle (c2sp.org/tlog-proof), for consent-verify."""
    rt = runtime()
    index = get_consent(db.session, consent_id, scope=current_caller().reading_scope).log_index
    bundle = proofs.bundle_for(db.session, rt.keyring, origin=rt.log_origin, index=index)
    return Response(bundle, mimetype="text/plain")
