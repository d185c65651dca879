"""Timestamp the checkpoints that wait for one, as a worker: by `flask timestamp-checkpoints`
and by each round of the delivery worker (`flask deliver --loop`, CONSENT_WEBHOOK_WORKER).

Never inside a consent's transaction: a consent commits first, and its checkpoint is
timestamped afterwards, so an authority that is slow or down delays the token, never the
consent. As the delivery worker does, this commits each token itself and holds no transaction
open while an authority answers; two workers that stamp the same checkpoint keep the first
token.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from consent.crypto.timestamps import request_timestamp
from consent.db import AnySession
from consent.errors import ServiceUnavailable
from consent.records.timestamps import checkpoint_note, pending_sizes, record_timestamp
from consent.runtime import Runtime

log = logging.getLogger("consent.timestamps")


@dataclass
class TimestampReport:
    stamped: list[int] = field(default_factory=list)  # tree sizes
    authority_down: bool = False


def timestamp_due(session: AnySession, rt: Runtime, *, limit: int = 100) -> TimestampReport:
    """Ask the configured authorities for a token for each checkpoint without one, oldest
    first, up to ``limit``; stop at the first round where none answers (they are retried on
    the next call). Does nothing without CONSENT_TSA_URLS."""
    report = TimestampReport()
    tsa = rt.timestamping
    if tsa is None:
        return report
    sizes = pending_sizes(session, limit=limit)
    session.commit()  # no transaction stays open while an authority answers
    for size in sizes:
        note = checkpoint_note(session, rt.keyring, origin=rt.log_origin, size=size)
        session.commit()
        try:
            issued = request_timestamp(
                urls=tsa.urls, message=note.encode(), roots=tsa.roots, timeout=tsa.timeout
            )
        except ServiceUnavailable:
            log.warning("no timestamp authority answered; %d checkpoints wait", len(sizes))
            report.authority_down = True
            return report
        try:
            record_timestamp(session, size=size, note=note, issued=issued)
            session.commit()
        except IntegrityError:  # another worker stored its token first: keep that one
            session.rollback()
            continue
        report.stamped.append(size)
    return report
