"""``flask --app consent ...`` commands. Each calls the same service functions as the API."""

from __future__ import annotations

import dataclasses

import click
from flask import Flask, current_app
from sqlalchemy import select

from consent.db import db
from consent.errors import ConsentError
from consent.web.context import EXTENSION as RUNTIME
from consent.web.context import runtime


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_api_key_command)
    app.cli.add_command(rotate_key_command)
    app.cli.add_command(sync_forms_command)
    app.cli.add_command(audit_command)
    app.cli.add_command(create_account_command)
    from consent.cli.backup import export_command, import_command
    from consent.cli.expiry import due_reviews_command, expire_command
    from consent.cli.webhooks import deliver_command

    for command in (
        deliver_command,
        expire_command,
        due_reviews_command,
        erase_patient_command,
        export_command,
        import_command,
    ):
        app.cli.add_command(command)


@click.command("erase-patient")
@click.argument("patient_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_patient_command(patient_id: str, yes: bool) -> None:
    """Destroy a patient's identity and media; withdraw their consents; log an erasure receipt.

    Cannot be undone. The receipts stay verifiable and name only the pseudonymous id.
    """
    from consent.workflows.erase import erase_patient

    if not yes:
        click.confirm(
            f"Erase patient {patient_id}: identity and media destroyed for good?", abort=True
        )
    rt = runtime()
    try:
        erasure = erase_patient(db.session, rt.keyring, rt.files, patient_id)
        db.session.commit()
    except ConsentError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    click.echo(f"patient {patient_id} erased: erasure {erasure.id}, log entry {erasure.log_index}")


@click.command("create-api-key")
@click.option("--name", required=True, help="Who or what will use the key.")
@click.option(
    "--scopes",
    required=True,
    help="Comma separated: verify, consents:write, webhooks:manage (register webhook endpoints).",
)
@click.option("--days", default=None, type=int, help="Lifetime in days (default from config).")
@click.option(
    "--account", "account_email", default=None, help="E-mail of the clinician it acts for."
)
def create_api_key_command(
    name: str, scopes: str, days: int | None, account_email: str | None
) -> None:
    """Create an API key and print it, alone on the last line. It is shown only this once."""
    from consent.accounts.models import Account
    from consent.accounts.service import create_api_key

    account = None
    if account_email:
        account = db.session.scalar(select(Account).where(Account.email == account_email.lower()))
        if account is None:
            raise click.UsageError(f"no account {account_email}")
    try:
        issued = create_api_key(
            db.session,
            name=name,
            scopes=[scope.strip() for scope in scopes.split(",") if scope.strip()],
            days=days or runtime().settings.api_key_days,
            account=account,
        )
    except ConsentError as exc:
        raise click.UsageError(exc.message) from exc
    db.session.commit()
    click.echo(
        f"API key {issued.record.prefix}... for {issued.record.name}, scopes "
        f"{issued.record.scopes}, expires {issued.record.expires_at:%Y-%m-%d}. Shown once:",
        err=True,
    )
    click.echo(issued.secret)


@click.command("rotate-key")
def rotate_key_command() -> None:
    """Add a new signing key; it signs from now on, and old receipts still verify."""
    from consent.crypto.keyring import add_signing_key
    from consent.runtime import keys_dir, load_keyring

    rt = runtime()
    if rt.settings.signing_keys:
        raise click.UsageError(
            "signing keys come from CONSENT_SIGNING_KEYS: append a new seed there instead"
        )
    add_signing_key(keys_dir(rt.settings), name=rt.keyring.name)
    keyring = load_keyring(rt.settings)
    current_app.extensions[RUNTIME] = dataclasses.replace(rt, keyring=keyring)
    active = keyring.active
    click.echo(f"new active key {active.key_id}; restart the service to sign with it")
    click.echo(active.vkey)


@click.command("sync-forms")
def sync_forms_command() -> None:
    """Load schemas/forms/ into form versions; refuses to change a version already used."""
    from consent.forms.catalogue import FORMS_DIR
    from consent.workflows.catalogue import form_placeholders, sync_catalogue

    try:
        rows = sync_catalogue(db.session, FORMS_DIR, form_placeholders(runtime().settings))
        db.session.commit()
    except ConsentError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    for row in rows:
        click.echo(f"{row.form_id} v{row.version} {row.language} {row.text_sha256}")


@click.command("audit")
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A checkpoint note handed out earlier; the log must still extend it (repeatable).",
)
def audit_command(checkpoint_files: tuple[str, ...]) -> None:
    """Recompute the log from the stored receipts; name every mismatch; exit 1 on any."""
    from pathlib import Path

    from consent.ledger.checkpoint import verify_checkpoint
    from consent.workflows.audit import audit

    rt = runtime()
    keyring = rt.keyring
    try:
        published = [
            verify_checkpoint(
                note=Path(path).read_text(), keys=keyring.public_keys(), origin=rt.log_origin
            )
            for path in checkpoint_files
        ]
    except ConsentError as exc:
        raise click.ClickException(
            f"a published checkpoint does not verify: {exc.message}"
        ) from exc
    report = audit(db.session, keyring, published=published)
    for finding in report.findings:
        click.echo(f"MISMATCH {finding}")
    summary = (
        f"{report.leaves} log entries, {report.consents} consents, "
        f"{report.withdrawals} withdrawals; root {report.root.hex()}"
    )
    if not report.ok:
        raise click.ClickException(f"audit failed: {len(report.findings)} findings ({summary})")
    click.echo(f"audit passed: {summary}")


@click.command("create-account")
@click.option("--email", required=True)
@click.option("--name", "display_name", required=True, help="As shown to patients.")
@click.option("--role", type=click.Choice(["clinician", "admin"]), default="clinician")
@click.password_option(
    help="At least 12 characters, not a common one, without your name; asked for when not given."
)
def create_account_command(email: str, display_name: str, role: str, password: str) -> None:
    """Create a clinician or admin account that can log in to the pages."""
    from werkzeug.security import generate_password_hash

    from consent.accounts.passwords import password_problems
    from consent.accounts.service import create_account

    problems = password_problems(password, email=email, name=display_name)
    if problems:
        raise click.UsageError(" ".join(problems))
    try:
        account = create_account(db.session, email=email, display_name=display_name, role=role)
    except ConsentError as exc:
        raise click.UsageError(exc.message) from exc
    account.password_hash = generate_password_hash(password)
    db.session.commit()
    click.echo(f"account {account.email} ({account.role}) created")
