"""``flask --app consent send-emails``: send the e-mail outbox (withdrawals to clinicians)."""

from __future__ import annotations

import time

import click

from consent.db import db
from consent.web.context import runtime
from consent.workflows.digest import queue_expiring_digests
from consent.workflows.send_email import send_due


@click.command("send-emails")
@click.option("--loop", is_flag=True, help="Keep going, every --interval seconds, until stopped.")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between rounds.")
def send_emails_command(loop: bool, interval: float) -> None:
    """Send the e-mails that are due over SMTP (CONSENT_SMTP_*), retry the others later."""
    while True:
        report = send_due(db.session, runtime())
        if report.sent or report.retrying or report.dead or not loop:
            click.echo(
                f"{len(report.sent)} sent, {len(report.retrying)} to retry, "
                f"{len(report.dead)} given up"
            )
        if not loop:
            return
        db.session.remove()
        time.sleep(interval)


@click.command("queue-digests")
def queue_digests_command() -> None:
    """Queue the weekly digest of consents ending within 30 days (run it daily or weekly:
    at most one per clinician a week); ``send-emails`` sends it."""
    queued = queue_expiring_digests(db.session)
    db.session.commit()
    click.echo(f"{len(queued)} digest(s) queued")
