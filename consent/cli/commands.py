"""``flask --app consent ...`` commands. Each calls the same service functions as the API."""

from __future__ import annotations

import click
from flask import Flask, current_app

from consent.db import db
from consent.errors import ConsentError
from consent.web.context import EXTENSION as RUNTIME
from consent.web.context import runtime


def register_commands(app: Flask) -> None:
    app.cli.add_command(rotate_key_command)
    app.cli.add_command(sync_forms_command)
    app.cli.add_command(audit_command)
    app.cli.add_command(create_account_command)
    from consent.cli.accounts import disable_account_command, set_password_command
    from consent.cli.backup import export_command, import_command
    from consent.cli.email import queue_digests_command, send_emails_command
    from consent.cli.evidence import (
        rotate_document_certificate_command,
        timestamp_checkpoints_command,
    )
    from consent.cli.expiry import due_reviews_command, expire_command
    from consent.cli.keys import (
        create_api_key_command,
        list_api_keys_command,
        revoke_api_key_command,
    )
    from consent.cli.teams import (
        add_member_command,
        create_integration_command,
        create_team_command,
        list_teams_command,
        remove_member_command,
        rename_team_command,
    )
    from consent.cli.webhooks import deliver_command

    for command in (
        set_password_command,
        disable_account_command,
        create_api_key_command,
        list_api_keys_command,
        revoke_api_key_command,
        create_team_command,
        rename_team_command,
        list_teams_command,
        add_member_command,
        remove_member_command,
        create_integration_command,
        deliver_command,
        send_emails_command,
        queue_digests_command,
        expire_command,
        due_reviews_command,
        erase_patient_command,
        export_command,
        import_command,
        timestamp_checkpoints_command,
        rotate_document_certificate_command,
    ):
        app.cli.add_command(command)


@click.command("erase-patient")
@click.argument("patient_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_patient_command(patient_id: str, yes: bool) -> None:
    """Destroy a patient's identity and media; withdraw their consents; log an erasure receipt.

    Cannot be undone. The receipts stay verifiable and name only the pseudonymous id.
    """
    from consent.accounts.scope import EVERY_TEAM
    from consent.patients.models import Patient
    from consent.workflows.erase import erase_patient

    patient = db.session.get(Patient, patient_id)
    if patient is None:
        raise click.ClickException(f"No patient {patient_id}.")
    if not yes:
        click.confirm(
            f"Erase patient {patient_id}: identity and media destroyed for good?", abort=True
        )
    rt = runtime()
    try:
        erasure = erase_patient(
            db.session,
            rt.keyring,
            rt.files,
            patient_id,
            scope=EVERY_TEAM,
            # Whoever runs commands on the server: the receipt says it came from there.
            recorded_by={"team": patient.team_id, "system": "command-line"},
        )
        db.session.commit()
    except ConsentError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    click.echo(f"patient {patient_id} erased: erasure {erasure.id}, log entry {erasure.log_index}")


@click.command("rotate-key")
@click.option(
    "--next", "upcoming", is_flag=True, help="Publish a new key that verifies but does not sign."
)
@click.option("--promote", is_flag=True, help="Make the published next key the signing one.")
def rotate_key_command(upcoming: bool, promote: bool) -> None:
    """Add a new signing key; it signs from now on, and old receipts still verify.

    On more than one node: ``--next`` first (copy the key file to every node and reload each),
    then ``--promote`` (copy and reload again): no node ever meets a key it does not know.
    """
    from consent.workflows.key_rotation import rotate_signing_key

    try:
        rotation = rotate_signing_key(runtime(), upcoming=upcoming, promote=promote)
    except ConsentError as exc:
        raise click.UsageError(exc.message) from exc
    current_app.extensions[RUNTIME] = rotation.runtime
    key = rotation.key
    if upcoming:
        click.echo(
            f"new next key {key.key_id}: published and verifying after a reload, not signing; "
            "copy the key file to every node, reload each, then run rotate-key --promote"
        )
    else:
        if rotation.certificate_fingerprint:
            click.echo(
                "new THROW-AWAY document-signing certificate, SHA-256 "
                f"{rotation.certificate_fingerprint}"
            )
        else:
            click.echo(
                "the document-signing certificate is not renewed here: install the hospital's "
                "next one with rotate-document-certificate --cert PEM --key PEM"
            )
        click.echo(f"new active key {key.key_id}; reload the service to sign with it")
    click.echo(key.vkey)


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
@click.option("--role", type=click.Choice(["clinician", "admin", "auditor"]), default="clinician")
@click.option(
    "--team", "teams", multiple=True, help="A team it is a member of (repeatable; by short name)."
)
@click.password_option(
    help="At least 12 characters, not a common one, without your name; asked for when not given."
)
def create_account_command(
    email: str, display_name: str, role: str, teams: tuple[str, ...], password: str
) -> None:
    """Create an account that can log in: a clinician or an admin (who see their teams'
    patients), or an auditor (who reads the pseudonymous records of every team)."""
    from werkzeug.security import generate_password_hash

    from consent.accounts.passwords import password_problems
    from consent.accounts.service import create_account
    from consent.accounts.teams import add_member, team_by_slug

    problems = password_problems(password, email=email, name=display_name)
    if problems:
        raise click.UsageError(" ".join(problems))
    try:
        account = create_account(db.session, email=email, display_name=display_name, role=role)
        for slug in teams:
            add_member(db.session, account=account, team=team_by_slug(db.session, slug))
    except ConsentError as exc:
        db.session.rollback()
        raise click.UsageError(exc.message) from exc
    account.password_hash = generate_password_hash(password)
    db.session.commit()
    where = f" in {', '.join(teams)}" if teams else " (no team yet: add-member)"
    click.echo(f"account {account.email} ({account.role}) created{where}")
