"""Backup and restore of N consents: time of `export`, of `import` into an empty database
(which includes the full audit of the restored log), and the size of the backup.

    .venv/bin/python bench/backup_roundtrip.py [--consents 20000] [--target URL] [--record]

The data set is bench/dataset.py's (real receipts, signatures and log), on SQLite; the target
is a new SQLite file unless --target names an empty PostgreSQL database (it is emptied).
--record writes the figures into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT, machine, stamp, write_section
from bench.dataset import populate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--consents", type=int, default=20000)
    parser.add_argument("--target", help="an empty PostgreSQL database URL (it is emptied)")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()

    from sqlalchemy import create_engine, text

    from consent import create_app
    from consent.db import db
    from consent.scripts.bootstrap import prepare_database, write_instance_secrets
    from consent.web.context import runtime
    from consent.workflows.backup.export import export_backup, snapshot_level
    from consent.workflows.backup.importer import import_backup

    instance = OUT / f"backup-{args.consents}"
    shutil.rmtree(instance, ignore_errors=True)
    write_instance_secrets(instance, key_name="bench.example/consent-log")
    source = create_app({"INSTANCE_PATH": str(instance)})
    prepare_database(source)
    populate(source, args.consents)
    backup = instance / "backup"
    with source.app_context():
        started = time.perf_counter()
        level = snapshot_level(db.engine)
        with (
            db.engine.connect().execution_options(isolation_level=level) as connection,
            connection.begin(),
        ):
            exported = export_backup(connection, runtime(), backup)
        export_seconds = time.perf_counter() - started
    size = sum(path.stat().st_size for path in backup.rglob("*") if path.is_file())

    target_url = args.target or "sqlite:///" + str(instance / "restored.sqlite3")
    if target_url.startswith("postgresql"):
        engine = create_engine(target_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    target = create_app({"INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": target_url})
    prepare_database(target)
    with target.app_context():
        started = time.perf_counter()
        with db.engine.begin() as connection:
            imported = import_backup(connection, runtime(), backup)
        import_seconds = time.perf_counter() - started
    assert imported.log_size == exported.log_size
    kind = "PostgreSQL" if target_url.startswith("postgresql") else "SQLite"
    rows = sum(exported.rows.values())
    report = (
        f"## Backup round trip\n\n{stamp()}, {machine()}. {args.consents} consents "
        f"({rows} rows, a log of {exported.log_size} entries), SQLite -> {kind}.\n\n"
        f"| step | seconds |\n| --- | --- |\n"
        f"| export | {export_seconds:.1f} |\n"
        f"| import (with the full audit) | {import_seconds:.1f} |\n\n"
        f"Backup size: {size / 1e6:.1f} MB.\n"
    )
    print(report)
    if args.record:
        write_section("backup", report)


if __name__ == "__main__":
    main()
