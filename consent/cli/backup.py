"""``flask --app consent export DIR`` and ``flask --app consent import DIR``."""

from __future__ import annotations

from pathlib import Path

import click

from consent.errors import ConsentError


@click.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--with-media",
    is_flag=True,
    help="Copy the encrypted media files and paper scans too (they stay encrypted).",
)
def export_command(directory: Path, with_media: bool) -> None:
    """Back up receipts, signatures, the log and the public keys into a new DIRECTORY.

    No private key is written: back up instance/keys/ apart. The backup holds sealed identity
    and the wrapped keys that open it: store it as health data.
    """
    from consent.db import db
    from consent.web.context import runtime
    from consent.workflows.backup.export import export_backup, snapshot_level

    level = snapshot_level(db.engine)
    try:
        with (
            db.engine.connect().execution_options(isolation_level=level) as connection,
            connection.begin(),
        ):
            report = export_backup(connection, runtime(), directory, with_media=with_media)
    except ConsentError as exc:
        raise click.ClickException(exc.message) from exc
    total = sum(report.rows.values())
    click.echo(
        f"exported {total} rows of {len(report.rows)} tables, a log of {report.log_size} "
        f"entries and {report.media_files} media files to {report.directory}"
    )


@click.command("import")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def import_command(directory: Path) -> None:
    """Restore a backup DIRECTORY into this empty database, in one transaction.

    Refuses a non-empty database, a backup whose files do not match its manifest, and one
    signed with keys this instance does not hold; the restored log must audit.
    """
    from consent.db import db
    from consent.web.context import runtime
    from consent.workflows.backup.importer import import_backup

    db.session.remove()
    try:
        with db.engine.begin() as connection:
            report = import_backup(connection, runtime(), directory)
    except ConsentError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"imported {sum(report.rows.values())} rows; log of {report.log_size} entries, root "
        f"{report.root.hex()}; audit passed; {report.media_files} media files restored"
    )
