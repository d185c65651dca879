"""Which tables a backup holds, in the order they are restored, and how a row becomes JSON.

One ordered list: a parent before its children, so that every foreign key holds as rows are
inserted. A new table is one line here (a test fails until it is listed or excluded).
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Integer, LargeBinary, Table

from consent.db import db
from consent.db.types import UTCDateTime

TABLES: tuple[str, ...] = (
    "teams",
    "accounts",
    # Wrong passwords per account and address: the owner is shown them at the next log-in.
    "login_failures",
    "memberships",
    # Invitations to accounts (only the SHA-256 of each link's token).
    "account_invitations",
    "integrations",
    "api_keys",
    "form_versions",
    "patients",
    # The wrapped data keys: without them no sealed identity opens after a restore.
    "patient_keys",
    "media_items",
    # The patients seen in each media item, with each one's sealed copy of its key (issue 19).
    "media_subjects",
    "perceptual_bands",
    "consent_requests",
    "request_media",
    "request_uses",
    # Case texts (issue 20), sealed with the patient's key like their identity, and their index.
    "case_texts",
    "case_text_bands",
    "signing_links",
    "pending_decisions",
    "log_leaves",
    "log_nodes",
    "log_head",
    # RFC 3161 tokens of checkpoints: evidence from outside the host (issue 23).
    "checkpoint_timestamps",
    "consents",
    "withdrawals",
    "consent_uses",
    "paper_scans",
    "external_evidence",
    "media_renditions",
    # The pHash bands of face-masked copies (issue 19).
    "rendition_bands",
    "patient_erasures",
    "consent_expiries",
    "majority_reviews",
    "webhook_endpoints",
    "webhook_deliveries",
    "webhook_attempts",
    # Messages to clinicians still to send (a withdrawal's notice must not be lost).
    "email_outbox",
    # Who changed what on the administration pages and API, and when (issue 18).
    "admin_journal",
)
# Tables of the schema deliberately left out of a backup: the receipt's phone hand-offs live ten
# minutes and work on one phone; a restore must not bring an old one back to life.
EXCLUDED: frozenset[str] = frozenset({"receipt_handoffs"})


def table(name: str) -> Table:
    found: Table = db.metadata.tables[name]
    return found


def encode_row(source: Table, row: Any) -> dict[str, Any]:
    """A row as JSON values: bytes as base64, times as ISO 8601 with their zone (UTC)."""
    out: dict[str, Any] = {}
    for column in source.columns:
        value = row._mapping[column]
        if value is None:
            out[column.name] = None
        elif isinstance(column.type, LargeBinary):
            out[column.name] = base64.b64encode(bytes(value)).decode()
        elif isinstance(value, datetime | date):
            out[column.name] = value.isoformat()
        else:
            out[column.name] = value
    return out


def decode_row(target: Table, values: dict[str, Any]) -> dict[str, Any]:
    """The inverse of ``encode_row``. Raises ValueError on a column this table does not have,
    a missing column, or a value that does not decode."""
    names = {column.name for column in target.columns}
    if set(values) != names:
        raise ValueError(f"columns {sorted(set(values) ^ names)} do not match table {target.name}")
    out: dict[str, Any] = {}
    for column in target.columns:
        value = values[column.name]
        if value is None:
            out[column.name] = None
        elif isinstance(column.type, LargeBinary):
            out[column.name] = base64.b64decode(value, validate=True)
        elif isinstance(column.type, UTCDateTime):
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                raise ValueError(f"{target.name}.{column.name}: a time without its zone")
            out[column.name] = parsed
        elif isinstance(column.type, Date):
            out[column.name] = date.fromisoformat(value)
        else:
            out[column.name] = value
    return out


def serial_column(source: Table) -> str | None:
    """The integer key PostgreSQL numbers from a sequence, if the table has one."""
    keys = list(source.primary_key.columns)
    if (
        len(keys) == 1
        and isinstance(keys[0].type, Integer)
        and keys[0].autoincrement
        in (
            True,
            "auto",
        )
    ):
        return keys[0].name
    return None
