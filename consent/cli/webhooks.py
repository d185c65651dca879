"""``flask --app consent deliver``: send the webhook deliveries that are due."""

from __future__ import annotations

import time

import click

from consent.db import db
from consent.web.context import runtime
from consent.workflows.deliver import DeliveryReport, deliver_due
from consent.workflows.timestamps import timestamp_due


def _summary(report: DeliveryReport) -> str:
    return (
        f"{report.attempts} attempts: {len(report.delivered)} delivered, "
        f"{len(report.retrying)} to retry, {len(report.dead)} dead"
    )


@click.command("deliver")
@click.option("--loop", is_flag=True, help="Keep going, every --interval seconds, until stopped.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between rounds.")
@click.option("--limit", default=None, type=int, help="Stop after this many attempts (a round).")
def deliver_command(loop: bool, interval: float, limit: int | None) -> None:
    """Send the webhook deliveries that are due, record each attempt, timestamp the checkpoints
    that wait for a token (with CONSENT_TSA_URLS), and exit."""
    while True:
        report = deliver_due(db.session, runtime(), limit=limit)
        # The same worker timestamps the checkpoints that wait (with CONSENT_TSA_URLS).
        stamped = timestamp_due(db.session, runtime())
        if stamped.stamped:
            click.echo(f"{len(stamped.stamped)} checkpoints timestamped")
        for delivery_id in report.dead:
            click.echo(f"dead {delivery_id}: no more attempts")
        if report.attempts or not loop:
            click.echo(_summary(report))
        if not loop:
            return
        db.session.remove()
        time.sleep(interval)
