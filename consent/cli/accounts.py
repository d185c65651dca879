"""Commands on staff accounts besides creating one (consent.cli.commands): a new password, and
disabling an account. Both end every session of the account at once, on every worker."""

from __future__ import annotations

import click

from consent.db import db
from consent.errors import ConsentError


@click.command("set-password")
@click.option("--email", required=True)
@click.password_option(
    help="At least 12 characters, not a common one, without your name; asked for when not given."
)
def set_password_command(email: str, password: str) -> None:
    """Give an account a new password; every session opened with the old one ends."""
    from werkzeug.security import generate_password_hash

    from consent.accounts.logins import set_password_hash
    from consent.accounts.passwords import password_problems
    from consent.accounts.service import account_by_email

    try:
        account = account_by_email(db.session, email)
    except ConsentError as exc:
        raise click.UsageError(exc.message) from exc
    problems = password_problems(password, email=account.email, name=account.display_name)
    if problems:
        raise click.UsageError(" ".join(problems))
    set_password_hash(db.session, account, generate_password_hash(password))
    db.session.commit()
    click.echo(f"password of {account.email} changed; its sessions are ended")


@click.command("disable-account")
@click.option("--email", required=True)
def disable_account_command(email: str) -> None:
    """Disable an account: it no longer logs in, its sessions end now and its API keys stop.
    What it recorded stays (receipts name it)."""
    from consent.accounts.service import account_by_email, disable_account

    try:
        account = account_by_email(db.session, email)
    except ConsentError as exc:
        raise click.UsageError(exc.message) from exc
    disable_account(db.session, account)
    db.session.commit()
    click.echo(f"account {account.email} disabled; its sessions and keys are ended")
