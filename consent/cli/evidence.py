"""``flask --app consent`` commands for the evidence outside the log: trusted timestamps of
checkpoints, and the certificate that seals receipt PDFs."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app

from consent.crypto.document_signing import install_identity, renew_throwaway_identity
from consent.db import db
from consent.errors import ConfigurationError
from consent.records.timestamps import timestamp_status
from consent.runtime import Runtime, keys_dir, load_sealer
from consent.web.context import EXTENSION as RUNTIME
from consent.web.context import runtime
from consent.workflows.timestamps import timestamp_due


@click.command("timestamp-checkpoints")
@click.option("--status", "show_status", is_flag=True, help="Only say what waits; ask nobody.")
@click.option("--loop", is_flag=True, help="Keep going, every --interval seconds, until stopped.")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between rounds.")
@click.option("--limit", default=100, show_default=True, help="Checkpoints per round.")
def timestamp_checkpoints_command(
    show_status: bool, loop: bool, interval: float, limit: int
) -> None:
    """Have the RFC 3161 authorities (CONSENT_TSA_URLS) timestamp every checkpoint that waits
    for a token, oldest first; then say how many still wait and since when."""
    rt = runtime()
    if not show_status and rt.timestamping is None:
        raise click.UsageError("no timestamping authority: set CONSENT_TSA_URLS")
    while True:
        if not show_status:
            report = timestamp_due(db.session, rt, limit=limit)
            if report.stamped or not loop:
                click.echo(f"{len(report.stamped)} checkpoints timestamped")
            if report.authority_down:
                click.echo("no timestamping authority answered; the rest wait", err=True)
        status = timestamp_status(db.session)
        if not loop or show_status:
            delay = status.delay_seconds(datetime.now(UTC))
            oldest = status.oldest_pending_since
            click.echo(
                f"{status.pending} checkpoints wait for a timestamp"
                + (
                    f", the oldest since {oldest:%Y-%m-%d %H:%M:%S} UTC ({delay:.0f} s)"
                    if oldest
                    else ""
                )
            )
            if status.last_gen_time:
                click.echo(f"last token: {status.last_gen_time:%Y-%m-%d %H:%M:%S} UTC")
            return
        db.session.remove()
        time.sleep(interval)


@click.command("rotate-document-certificate")
@click.option("--cert", "cert_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def rotate_document_certificate_command(cert_file: Path | None, key_file: Path | None) -> None:
    """Put a new certificate in place for sealing receipt PDFs: the hospital's (--cert PEM with
    its chain, --key PEM), or, with neither, a new THROW-AWAY demo certificate. The old pair is
    kept, renamed; PDFs it sealed stay valid. Reload the service afterwards."""
    rt = runtime()
    folder = keys_dir(rt.settings)
    names = {
        "cert_name": rt.settings.document_signing_cert,
        "key_name": rt.settings.document_signing_key,
    }
    try:
        if cert_file is None and key_file is None:
            if rt.sealer is not None and not rt.sealer.identity.is_throwaway:
                raise click.UsageError(
                    "the current certificate is the hospital's: give --cert and --key"
                )
            identity = renew_throwaway_identity(
                folder, organisation=rt.settings.controller, **names
            )
        elif cert_file is None or key_file is None:
            raise click.UsageError("give --cert and --key together")
        else:
            identity = install_identity(
                folder, cert_pem=cert_file.read_bytes(), key_pem=key_file.read_bytes(), **names
            )
    except ConfigurationError as exc:
        raise click.UsageError(exc.message) from exc
    _reload_sealer(rt)
    kind = "THROW-AWAY demo certificate" if identity.is_throwaway else "certificate"
    click.echo(
        f"new document-signing {kind} {identity.certificate.subject.rfc4514_string()}, "
        f"SHA-256 {identity.fingerprint}; reload the service to seal with it"
    )


def _reload_sealer(rt: Runtime) -> None:
    sealer = load_sealer(rt.settings, rt.timestamping)
    current_app.extensions[RUNTIME] = dataclasses.replace(rt, sealer=sealer)
