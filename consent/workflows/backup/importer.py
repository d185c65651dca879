"""Restore a backup directory into an empty database, in one transaction.

Refused, with nothing written: a manifest of another format or version, a file whose SHA-256
or size is not the manifest's (a tampered or truncated backup), a table this version does not
know, a database that already holds records, public keys that are not this instance's (restore
``instance/keys/`` first), and a restore after which the audit finds anything or the log head
differs from the exported checkpoint.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text
from sqlalchemy.orm import Session

from consent.client import file_sha256
from consent.crypto.keyring import Keyring
from consent.db.files import MediaStore
from consent.errors import Conflict, ConsentError, IntegrityFailure, InvalidInput
from consent.ledger.checkpoint import verify_checkpoint
from consent.ledger.models import LogHead
from consent.runtime import Runtime
from consent.workflows.audit import audit
from consent.workflows.backup.export import FORMAT, FORMAT_VERSION, MANIFEST
from consent.workflows.backup.tables import TABLES, decode_row, serial_column, table

BATCH = 1000
# Rows a freshly prepared database already holds, which a restore replaces: the form
# catalogue (nothing refers to it yet) and the empty log's head.
REPLACED = ("form_versions", "log_head")
REQUIRED_FILES = ("log/checkpoint", "keys/consent-keys.json")


class BackupRefused(ConsentError):
    """The backup or the target database is not fit for a restore; nothing was written."""

    status = 422


@dataclass(frozen=True)
class ImportReport:
    rows: dict[str, int]
    log_size: int
    root: bytes
    media_files: int


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest, after checking every file it lists. Raises BackupRefused."""
    try:
        manifest: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupRefused(f"No readable {MANIFEST} in {directory}.") from exc
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupRefused(
            f"Not a backup this version restores (format {manifest.get('format')!r}, "
            f"version {manifest.get('format_version')!r}; expected {FORMAT} {FORMAT_VERSION})."
        )
    files = manifest.get("files")
    tables = manifest.get("tables")
    if (
        not isinstance(files, dict)
        or not isinstance(tables, list)
        or not all(
            isinstance(entry, dict) and {"name", "file", "rows"} <= entry.keys() for entry in tables
        )
        or not all(
            isinstance(value, dict) and {"sha256", "bytes"} <= value.keys()
            for value in files.values()
        )
    ):
        raise BackupRefused(f"{MANIFEST} does not list the backup's tables and files.")
    for required in REQUIRED_FILES:
        if required not in files:
            raise BackupRefused(f"{required} is not in the backup's manifest.")
    root = directory.resolve()
    for relative, expected in files.items():
        path = (directory / relative).resolve()
        if root not in path.parents:
            raise BackupRefused(f"The manifest names a file outside the backup: {relative}.")
        if not path.is_file():
            raise BackupRefused(f"{relative} is missing from the backup.")
        if path.stat().st_size != expected["bytes"] or file_sha256(path) != expected["sha256"]:
            raise BackupRefused(
                f"{relative} does not match its SHA-256 in the manifest: the backup was "
                "altered or damaged. Nothing was imported."
            )
    unknown = [entry["name"] for entry in tables if entry["name"] not in TABLES]
    if unknown:
        raise BackupRefused(f"Tables this version does not know: {', '.join(unknown)}.")
    for entry in tables:
        if entry["file"] not in files:
            raise BackupRefused(f"{entry['file']} is not covered by the manifest's hashes.")
    return manifest


def _check_keys(directory: Path, keyring: Keyring) -> None:
    exported = json.loads((directory / "keys/consent-keys.json").read_text())["keys"]
    ours = {key.key_id: key.public_bytes for key in keyring.public_keys()}
    foreign = [
        key["key_id"]
        for key in exported
        if ours.get(key["key_id"]) != base64.b64decode(key["public_key"])
    ]
    if foreign:
        raise BackupRefused(
            f"This instance does not hold the signing key(s) {', '.join(foreign)} of the backup: "
            "restore instance/keys/ (or CONSENT_SIGNING_KEYS) from the key backup first."
        )


def _check_empty(connection: Connection) -> None:
    holding = [
        name
        for name in TABLES
        if name not in REPLACED
        and connection.scalar(select(func.count()).select_from(table(name))) != 0
    ]
    head = connection.scalar(select(LogHead.size).where(LogHead.id == 1))
    if head not in (None, 0):
        holding.append("log_head")
    if holding:
        raise Conflict(
            "The database is not empty (rows in "
            + ", ".join(holding)
            + "): a backup is restored into a new database only."
        )


def _rows(directory: Path, entry: dict[str, Any]) -> Any:
    target = table(entry["name"])
    with open(directory / entry["file"], encoding="utf-8") as source:
        for number, line in enumerate(source, start=1):
            try:
                yield decode_row(target, json.loads(line))
            except (ValueError, KeyError, TypeError) as exc:
                raise BackupRefused(f"{entry['file']} line {number}: {exc}") from exc


def _load(connection: Connection, directory: Path, manifest: dict[str, Any]) -> dict[str, int]:
    for name in REPLACED:
        connection.execute(delete(table(name)))
    counts: dict[str, int] = {}
    entries = {entry["name"]: entry for entry in manifest["tables"]}
    for name in TABLES:  # the restore order, whatever the manifest's
        entry = entries.get(name)
        if entry is None:  # a table newer than the backup: it stays empty
            continue
        batch: list[dict[str, Any]] = []
        count = 0
        for row in _rows(directory, entry):
            batch.append(row)
            if len(batch) == BATCH:
                connection.execute(insert(table(name)), batch)
                count += len(batch)
                batch = []
        if batch:
            connection.execute(insert(table(name)), batch)
            count += len(batch)
        if count != entry["rows"]:
            raise BackupRefused(
                f"{entry['file']} holds {count} rows; the manifest says {entry['rows']}."
            )
        counts[name] = count
    if connection.dialect.name == "postgresql":
        for name in TABLES:
            column = serial_column(table(name))
            if column is not None:
                # The next id after the restored ones: new rows must not collide with them.
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', '{column}'), "  # noqa: S608
                        f"COALESCE((SELECT MAX({column}) FROM {name}), 0) + 1, false)"
                    )
                )
    return counts


def _copy_media(store: MediaStore, directory: Path, files: dict[str, Any]) -> int:
    copied = 0
    for relative in files:
        if not relative.startswith("media/"):
            continue
        path = store.path(relative.removeprefix("media/"))
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_name(path.name + ".partial")
        shutil.copyfile(directory / relative, partial)
        os.chmod(partial, 0o600)
        os.replace(partial, path)
        copied += 1
    return copied


def import_backup(connection: Connection, rt: Runtime, directory: Path) -> ImportReport:
    """Restore the backup in ``directory`` into this (empty) database, in the transaction of
    ``connection`` (the caller commits it; nothing is kept when this raises). Raises
    BackupRefused, Conflict (the database holds records) or IntegrityFailure (the restored log
    does not audit)."""
    if not directory.is_dir():
        raise InvalidInput(f"No backup directory {directory}.")
    manifest = read_manifest(directory)
    keyring = rt.keyring
    _check_keys(directory, keyring)
    checkpoint = verify_checkpoint(
        note=(directory / "log/checkpoint").read_text(), keys=keyring.public_keys()
    )
    _check_empty(connection)
    counts = _load(connection, directory, manifest)
    session = Session(bind=connection)
    report = audit(session, keyring, published=[checkpoint])
    session.close()
    if not report.ok:
        raise IntegrityFailure(
            f"The restored records do not audit ({len(report.findings)} findings, first: "
            f"{report.findings[0]}); nothing was imported."
        )
    if (report.leaves, report.root) != (checkpoint.size, checkpoint.root):
        raise IntegrityFailure("The restored log is not the exported checkpoint's.")
    media = _copy_media(rt.files, directory, manifest["files"])
    return ImportReport(counts, report.leaves, report.root, media)
