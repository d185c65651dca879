"""The three events and what their ``data`` holds, in one place. None names a patient.
The test event (``webhook.test``) goes to one endpoint, when an administrator asks.

Each is written to the outbox by ``emit`` in the transaction that records what it reports, for
the endpoints of the consent's team.
``log_index`` is the log position of the receipt that records the event: the consent's
receipt for created and expired, the withdrawal's own receipt for withdrawn. Withdrawn and
expired also name the publishable copies made of the media (``rendition_sha256``).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from consent import clock
from consent.db import AnySession
from consent.db.types import new_id, rfc3339
from consent.media.models import MediaItem, MediaRendition
from consent.webhooks.models import TEST_EVENT, WebhookDelivery, WebhookEndpoint
from consent.webhooks.service import emit


def media_sha256(receipt: bytes) -> list[str]:
    """The SHA-256 of every media item a consent receipt binds, in its order."""
    return [item["sha256"] for item in json.loads(receipt)["media"]]


def text_sha256(receipt: bytes) -> list[str]:
    """The SHA-256 of every case text a consent receipt binds (issue 20), in its order."""
    return [item["sha256"] for item in json.loads(receipt).get("texts", [])]


def _texts(texts: list[str] | None) -> dict[str, list[str]]:
    # Only when the consent has texts: the payloads of other consents keep their shape.
    return {"text_sha256": texts} if texts else {}


def rendition_sha256(session: AnySession, media: list[str]) -> list[str]:
    """The SHA-256 of every publishable copy made of these media items: a publisher who posted
    the copy knows it by that hash, not by the original's."""
    return sorted(
        set(
            session.scalars(
                select(MediaRendition.sha256)
                .join(MediaItem, MediaItem.id == MediaRendition.media_id)
                .where(MediaItem.sha256.in_(media))
            )
        )
    )


def consent_created(
    session: AnySession,
    *,
    team_id: str,
    consent_id: str,
    log_index: int,
    method: str,
    media: list[str],
    texts: list[str] | None = None,
) -> int:
    return emit(
        session,
        team_id,
        "consent.created",
        {
            "consent_id": consent_id,
            "log_index": log_index,
            # How it was collected: a publisher may accept only some methods.
            "method": method,
            "media_sha256": media,
            **_texts(texts),
        },
    )


def consent_withdrawn(
    session: AnySession,
    *,
    team_id: str,
    consent_id: str,
    withdrawal_id: str,
    log_index: int,
    purposes: list[str],
    media: list[str],
    texts: list[str] | None = None,
) -> int:
    return emit(
        session,
        team_id,
        "consent.withdrawn",
        {
            "consent_id": consent_id,
            "withdrawal_id": withdrawal_id,
            "log_index": log_index,
            "purposes": sorted(purposes),
            "media_sha256": media,
            "rendition_sha256": rendition_sha256(session, media),
            **_texts(texts),
        },
    )


def consent_expired(
    session: AnySession,
    *,
    team_id: str,
    consent_id: str,
    log_index: int,
    expired_at: datetime,
    media: list[str],
    texts: list[str] | None = None,
) -> int:
    return emit(
        session,
        team_id,
        "consent.expired",
        {
            "consent_id": consent_id,
            "log_index": log_index,
            "expired_at": rfc3339(expired_at),
            "media_sha256": media,
            "rendition_sha256": rendition_sha256(session, media),
            **_texts(texts),
        },
    )


def test_event(session: AnySession, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a ``webhook.test`` delivery to this one endpoint, whatever events it hears: the
    deliverers send it, signed and retried like any other (the caller commits)."""
    now = clock.now()
    payload = json.dumps(
        {"type": TEST_EVENT, "timestamp": rfc3339(now), "data": {"endpoint_id": endpoint.id}},
        separators=(",", ":"),
        sort_keys=True,
    )
    delivery = WebhookDelivery(
        id=new_id("msg"),
        endpoint_id=endpoint.id,
        event_type=TEST_EVENT,
        payload=payload,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery
