"""The instance folder is the service's alone: the folder 0700, every file in it 0600, created
so and checked at every start.

The embedded SQLite database holds password hashes, e-mails and webhook answers; created by
SQLite under the usual umask it was 0644 in a 0755 folder, readable by every local user. The
service now creates it empty with mode 0600 before SQLite opens it (SQLite gives its journal and
WAL files the database's own mode), and refuses to start, as it does for its key files, when the
folder or anything directly in it can be read by others. Media files (in ``media/``, 0700) are
written 0600 by the store; they are not listed at each start, since the folders above them
already keep others out.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from consent.errors import ConfigurationError

# SQLite's own companions of a database file.
_SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def private_directory(path: Path) -> None:
    """Create ``path`` and every missing folder above it with mode 0700."""
    missing = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)


def sqlite_path(uri: str) -> Path | None:
    """The file of a ``sqlite:///`` URI, or None (memory, PostgreSQL)."""
    if not uri.startswith("sqlite:///"):
        return None
    name = uri[len("sqlite:///") :].split("?", 1)[0]
    return Path(name) if name and name != ":memory:" else None


def create_private_database(path: Path) -> None:
    """Create an empty SQLite database file with mode 0600 if there is none, in a folder that
    exists (an empty file is an empty database to SQLite)."""
    if path.exists() or not path.parent.is_dir():
        return  # SQLite makes no folder either: a missing one is the database's error to tell
    # FileExistsError: another worker made it first, with the same mode.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _open_to_others(path: Path) -> str | None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return None
    wanted = "700" if path.is_dir() else "600"
    return f"{path} (mode {mode:o}; run: chmod {wanted} {path})"


def check_private_instance(instance_path: Path | None, database: Path | None) -> None:
    """Refuse to start when the instance folder, an entry directly in it or the SQLite
    database (wherever it is) can be read by group or others.

    Raises ConfigurationError naming each path and the command that fixes it.
    """
    found: list[str] = []
    if instance_path is not None and instance_path.is_dir():
        for path in (instance_path, *sorted(instance_path.iterdir())):
            if path.is_symlink():
                continue
            problem = _open_to_others(path)
            if problem:
                found.append(problem)
    if database is not None:
        for suffix in _SQLITE_COMPANIONS:
            path = database.with_name(database.name + suffix)
            if path.exists() and not any(str(path) in line for line in found):
                problem = _open_to_others(path)
                if problem:
                    found.append(problem)
    if found:
        raise ConfigurationError(
            "The instance holds secrets and patients' data but others can read: "
            + "; ".join(found)
            + ". Only the service's user may: chmod -R go-rwx on the instance folder fixes all."
        )
