"""``flask --app consent expire`` and ``flask --app consent due-reviews``."""

from __future__ import annotations

import click

from consent import clock
from consent.consents.expiry import DueReview, due_reviews
from consent.db import db
from consent.db.types import rfc3339
from consent.web.context import runtime
from consent.workflows.expire import ExpiredConsent, assess_batch, expire_batch


def assess_unassessed() -> None:
    """Assess the consents recorded before minors were flagged, a batch per transaction."""
    while assess_batch(db.session, runtime().vault):
        db.session.commit()


def expire_due() -> list[ExpiredConsent]:
    """Expire every consent past its end date, a batch per transaction."""
    now = clock.now()
    expired: list[ExpiredConsent] = []
    while True:
        batch, more = expire_batch(db.session, now)
        db.session.commit()
        expired += batch
        if not more:
            return expired


def _review_line(review: DueReview) -> str:
    when = "review due" if review.review_on <= clock.now().date() else "review soon"
    signer = review.signer.get("role", "?")
    if review.signer.get("relationship"):
        signer += f" ({review.signer['relationship']})"
    return (
        f"{when} {review.consent_id}: patient {review.patient_id} is 18 on "
        f"{review.review_on.isoformat()}; signed by {signer}; still grants "
        f"{', '.join(review.purposes)}; ends {rfc3339(review.expires_at)}"
    )


@click.command("expire")
def expire_command() -> None:
    """Record the consents past their end date and emit consent.expired for each, once; list
    the consents given for a minor who is now of age (nothing is revoked)."""
    assess_unassessed()
    expired = expire_due()
    for item in expired:
        click.echo(
            f"expired {item.consent_id}: ended {rfc3339(item.expires_at)}; "
            f"consent.expired queued for {item.notified} webhook endpoints"
        )
    reviews = due_reviews(db.session)
    for review in reviews:
        click.echo(_review_line(review))
    click.echo(f"{len(expired)} consents expired, {len(reviews)} reviews due")


@click.command("due-reviews")
@click.option(
    "--within",
    "within_days",
    default=0,
    type=click.IntRange(0, 3660),
    help="Also list the patients who turn 18 within this many days.",
)
def due_reviews_command(within_days: int) -> None:
    """List the consents given for a minor who is (or soon will be) 18, to ask them again."""
    assess_unassessed()
    reviews = due_reviews(db.session, within_days=within_days)
    for review in reviews:
        click.echo(_review_line(review))
    due = sum(review.review_on <= clock.now().date() for review in reviews)
    click.echo(f"{due} reviews due" + (f", {len(reviews) - due} soon" if within_days else ""))
