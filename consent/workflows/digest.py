"""The weekly digest of consents ending soon: one e-mail per informing clinician who has any,
queued in the outbox (sent by ``send-emails``), at most once a week whatever how often the
command runs. It says no name and no number: a link to the worklist's "ending soon" filter.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from consent import clock
from consent.consents.models import ConsentRequest
from consent.db import AnySession
from consent.db.types import new_id
from consent.notifications.models import EmailMessage
from consent.workflows.worklist import in_state

KIND = "consents.expiring"


def week_start(now: datetime) -> datetime:
    """Monday 00:00 (UTC) of ``now``'s week."""
    monday = now.date() - timedelta(days=now.weekday())
    return datetime.combine(monday, time(), tzinfo=now.tzinfo)


def queue_expiring_digests(session: AnySession, *, now: datetime | None = None) -> list[str]:
    """Queue this week's digest for each clinician with a consent ending within 30 days and
    none queued yet this week; the ids queued."""
    now = now or clock.now()
    wanted = session.execute(
        select(ConsentRequest.account_id, ConsentRequest.team_id)
        .where(in_state("expiring", now), ConsentRequest.account_id.is_not(None))
        .distinct()
        .order_by(ConsentRequest.account_id, ConsentRequest.team_id)
    ).all()
    done = set(
        session.scalars(
            select(EmailMessage.account_id).where(
                EmailMessage.kind == KIND, EmailMessage.created_at >= week_start(now)
            )
        )
    )
    queued = []
    for account_id, team_id in wanted:
        if account_id is None or account_id in done:
            continue
        done.add(account_id)
        message = EmailMessage(
            id=new_id("em"),
            team_id=team_id,
            account_id=account_id,
            request_id=None,
            kind=KIND,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(message)
        queued.append(message.id)
    session.flush()
    return queued
