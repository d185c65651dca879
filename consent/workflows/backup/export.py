"""Write a backup directory: the records of every table, the log, the public keys, a manifest.

Layout (format version 1)::

    manifest.json            format, version, time, counts, log head, SHA-256 of every file
    tables/<table>.jsonl     one JSON object per row, by primary key; bytes in base64
    log/checkpoint           a signed checkpoint of the log as exported (c2sp.org/tlog-checkpoint)
    keys/consent-keys.json   the public keys, as /.well-known/consent-keys publishes them
    keys/consent-keys.vkey   the same, as signed-note verifier keys
    media/<id>               with --with-media: the encrypted media files, scans and evidence
                             documents, as stored

The log is in the tables (leaves, stored subtree hashes, head). No private key is written:
not the signing keys, not the master key (they are backed up apart, see README). Sealed
identity stays sealed, but with the wrapped data keys beside it: a backup is health data.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, select

from consent import clock
from consent.client import file_sha256
from consent.db.files import MediaStore
from consent.errors import Conflict, InvalidInput
from consent.ledger.checkpoint import sign_checkpoint
from consent.ledger.models import LogHead
from consent.media.masked import masked_id
from consent.runtime import Runtime
from consent.verify.public import published_keys
from consent.workflows.backup.tables import TABLES, encode_row, table

FORMAT = "consent-service-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH = 2000


@dataclass(frozen=True)
class ExportReport:
    directory: Path
    rows: dict[str, int]
    log_size: int
    media_files: int


def _private_file(path: Path) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def _write(directory: Path, relative: str, data: bytes, files: dict[str, Any]) -> None:
    with _private_file(directory / relative) as sink:
        sink.write(data)
    files[relative] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _head(connection: Connection) -> tuple[int, bytes]:
    size, root = connection.execute(select(LogHead.size, LogHead.root).where(LogHead.id == 1)).one()
    return int(size), bytes(root)


def _dump_table(connection: Connection, name: str, directory: Path, files: dict[str, Any]) -> int:
    source = table(name)
    relative = f"tables/{name}.jsonl"
    digest, size, rows = hashlib.sha256(), 0, 0
    statement = select(source).order_by(*source.primary_key.columns)
    with _private_file(directory / relative) as sink:
        result = connection.execution_options(yield_per=BATCH).execute(statement)
        for row in result:
            line = (json.dumps(encode_row(source, row), sort_keys=True) + "\n").encode()
            sink.write(line)
            digest.update(line)
            size += len(line)
            rows += 1
    files[relative] = {"sha256": digest.hexdigest(), "bytes": size}
    return rows


def _copy_media(
    connection: Connection, store: MediaStore, directory: Path, files: dict[str, Any]
) -> int:
    media = list(connection.scalars(select(table("media_items").c.id)))
    ids = [
        *media,
        # Face-masked copies: a receipt may bind one, and a video's takes minutes to make again.
        *(masked_id(media_id) for media_id in media),
        *connection.scalars(select(table("paper_scans").c.id)),
        *connection.scalars(select(table("external_evidence").c.id)),
    ]
    copied = 0
    for media_id in sorted(ids):
        path = store.path(media_id)
        if not path.exists():  # erased: the ciphertext went with the patient
            continue
        relative = f"media/{media_id}"
        with open(path, "rb") as source, _private_file(directory / relative) as sink:
            shutil.copyfileobj(source, sink)
        files[relative] = {
            "sha256": file_sha256(directory / relative),
            "bytes": (directory / relative).stat().st_size,
        }
        copied += 1
    return copied


def snapshot_level(engine: Engine) -> str:
    """The isolation the export's connection needs: one snapshot on PostgreSQL, so that every
    table is of the same moment. On SQLite (one writer, no snapshot across statements here) a
    log that grew meanwhile is caught by reading the head again at the end."""
    return "REPEATABLE READ" if engine.dialect.name == "postgresql" else "SERIALIZABLE"


def export_backup(
    connection: Connection, rt: Runtime, directory: Path, *, with_media: bool = False
) -> ExportReport:
    """Write a backup of the database into ``directory`` (new, or empty), reading through
    ``connection`` (in a transaction at ``snapshot_level``).

    Raises InvalidInput when the directory holds files; Conflict when the log grew while the
    export ran on SQLite (run it again: nothing was left half-written in the database).
    """
    if directory.exists() and any(directory.iterdir()):
        raise InvalidInput(f"{directory} is not empty: a backup goes into a new directory.")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    files: dict[str, Any] = {}
    rows: dict[str, int] = {}
    size, root = _head(connection)
    for name in TABLES:
        rows[name] = _dump_table(connection, name, directory, files)
    media = _copy_media(connection, rt.files, directory, files) if with_media else 0
    if _head(connection) != (size, root):
        raise Conflict("The log grew during the export; run the export again.")
    origin = rt.log_origin
    note = sign_checkpoint(origin=origin, size=size, root=root, keyring=rt.keyring)
    _write(directory, "log/checkpoint", note.encode(), files)
    keys = published_keys(rt.keyring)
    _write(directory, "keys/consent-keys.json", (json.dumps(keys, indent=2) + "\n").encode(), files)
    vkeys = "".join(key["vkey"] + "\n" for key in keys["keys"])
    _write(directory, "keys/consent-keys.vkey", vkeys.encode(), files)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": clock.now().isoformat(),
        "database": connection.dialect.name,
        "log": {"origin": origin, "size": size, "root": root.hex()},
        "tables": [
            {"name": name, "file": f"tables/{name}.jsonl", "rows": rows[name]} for name in TABLES
        ],
        "with_media": with_media,
        "files": dict(sorted(files.items())),
        "note": (
            "Holds sealed patient identity with the wrapped keys that open it under the master "
            "key: store it as health data. Holds no private key."
        ),
    }
    with _private_file(directory / MANIFEST) as sink:
        sink.write((json.dumps(manifest, indent=2) + "\n").encode())
    return ExportReport(directory, rows, size, media)
