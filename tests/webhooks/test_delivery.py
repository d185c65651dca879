"""Delivery to a real HTTP receiver on 127.0.0.1: Standard Webhooks signatures checked with
the standardwebhooks package and the secret returned at registration, retries with backoff,
every attempt recorded, dead letters, no redirects, and deliverers that never send the same
attempt twice."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from standardwebhooks import Webhook, WebhookVerificationError

from consent import clock
from consent.db import db
from consent.web.context import runtime
from consent.webhooks.models import WebhookAttempt, WebhookDelivery
from consent.webhooks.sender import send
from consent.workflows.deliver import LOST, backoff, claim_next, deliver_due, record
from tests.factories import Flow, auth, evidence, photo
from tests.webhooks.conftest import BACKOFF_SECONDS, Clock, register
from tests.webhooks.receiver import Receiver, running_receiver

LOOPBACK = ("127.0.0.1/32",)
CHOICES = {"teaching": True, "public_social_network": False}


def deliveries() -> list[WebhookDelivery]:
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


def attempts(delivery_id: str) -> list[WebhookAttempt]:
    return list(
        db.session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.number)
        )
    )


def test_retried_delivery_is_signed_for_the_secret_given_at_registration(
    flow: Flow, runner: FlaskCliRunner, moving_clock: Clock, key: str
) -> None:
    with running_receiver(script=[500]) as receiver:
        endpoint = register(flow.client, key, receiver.url)
        assert endpoint["secret"].startswith("whsec_")
        given = flow.consent(photo(1), CHOICES)

        first = runner.invoke(args=["deliver"])
        assert first.exit_code == 0, first.output
        assert "1 attempts: 0 delivered, 1 to retry, 0 dead" in first.output
        assert len(receiver.received) == 1

        # Not due yet: nothing is sent before the backoff has passed.
        assert "0 attempts" in runner.invoke(args=["deliver"]).output
        assert len(receiver.received) == 1

        moving_clock.advance(seconds=BACKOFF_SECONDS)
        second = runner.invoke(args=["deliver"])
        assert "1 attempts: 1 delivered" in second.output
        received = receiver.wait_for(2)

    retry, delivered = received
    # The same message, byte for byte, under the same webhook-id; each attempt signed anew.
    assert retry.body == delivered.body
    assert retry.headers["webhook-id"] == delivered.headers["webhook-id"]
    assert retry.headers["webhook-timestamp"] != delivered.headers["webhook-timestamp"]
    hook = Webhook(endpoint["secret"])
    for request in received:
        payload = hook.verify(request.body, request.headers)
        assert request.path == "/hooks"
        assert request.headers["content-type"] == "application/json"
    assert payload["type"] == "consent.created"
    assert payload["data"] == {
        "consent_id": given["consent_id"],
        "log_index": given["receipt"]["receipt"]["log_index"],
        "method": "external",  # a publisher may accept some methods only
        "media_sha256": [given["media"]["sha256"]],
    }
    assert payload["timestamp"].endswith("Z")
    # Invariant 5: nothing in a webhook names the patient, not even their pseudonymous id.
    for secret_thing in (given["patient_id"], "Jeanne", "1948", "MRN"):
        assert secret_thing not in delivered.body.decode()

    (row,) = deliveries()
    assert row.state == "delivered" and row.attempts == 2 and row.finished_at is not None
    tries = attempts(row.id)
    assert [(a.number, a.status_code, a.error) for a in tries] == [(1, 500, None), (2, 200, None)]
    assert all(a.duration_ms is not None and a.duration_ms >= 0 for a in tries)
    assert tries[0].response_body == b"thanks"
    assert tries[1].attempted_at - tries[0].attempted_at >= timedelta(seconds=BACKOFF_SECONDS)


def test_forged_or_altered_delivery_fails_verification(
    flow: Flow, runner: FlaskCliRunner, receiver: Receiver, key: str
) -> None:
    endpoint = register(flow.client, key, receiver.url)
    flow.consent(photo(2), CHOICES)
    runner.invoke(args=["deliver"])
    (request,) = receiver.wait_for(1)
    hook = Webhook(endpoint["secret"])
    altered = request.body.replace(b"consent.created", b"consent.expired")
    with pytest.raises(WebhookVerificationError):
        hook.verify(altered, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)
    replayed_elsewhere = {**request.headers, "webhook-id": "msg_other"}
    with pytest.raises(WebhookVerificationError):
        hook.verify(request.body, replayed_elsewhere)


def test_withdrawal_is_delivered_with_the_withdrawn_purposes(
    flow: Flow, runner: FlaskCliRunner, receiver: Receiver, key: str
) -> None:
    endpoint = register(flow.client, key, receiver.url, ["consent.withdrawn"])
    given = flow.consent(photo(3), {"teaching": True, "survey": True})
    response = flow.client.post(
        f"/api/v1/consents/{given['consent_id']}/withdrawal",
        json={"purposes": ["survey"]},
        headers=flow.headers,
    )
    assert response.status_code == 201
    runner.invoke(args=["deliver"])
    # Subscribed to withdrawals only: the consent itself was not sent.
    (request,) = receiver.wait_for(1)
    payload = Webhook(endpoint["secret"]).verify(request.body, request.headers)
    withdrawal = response.json["receipt"]["receipt"]
    assert payload["type"] == "consent.withdrawn"
    assert payload["data"] == {
        "consent_id": given["consent_id"],
        "withdrawal_id": response.json["withdrawal_id"],
        "log_index": withdrawal["log_index"],
        "purposes": ["survey"],
        "media_sha256": [given["media"]["sha256"]],
        "rendition_sha256": [],
    }


def test_a_withdrawal_names_the_publishable_copies_too(
    flow: Flow, runner: FlaskCliRunner, receiver: Receiver, key: str
) -> None:
    """A publisher who posted the metadata-free copy knows it by the copy's hash."""
    endpoint = register(flow.client, key, receiver.url, ["consent.withdrawn"])
    given = flow.consent(photo(5), {"teaching": True})
    copy = flow.client.post(
        f"/api/v1/media/{given['media']['id']}/publishable", headers=flow.headers
    )
    assert copy.status_code == 200, copy.json
    response = flow.client.post(
        f"/api/v1/consents/{given['consent_id']}/withdrawal", json={}, headers=flow.headers
    )
    assert response.status_code == 201
    runner.invoke(args=["deliver"])
    (request,) = receiver.wait_for(1)
    payload = Webhook(endpoint["secret"]).verify(request.body, request.headers)
    assert payload["data"]["media_sha256"] == [given["media"]["sha256"]]
    assert payload["data"]["rendition_sha256"] == [copy.headers["ETag"].strip('"')]


def test_refused_second_decision_queues_nothing(flow: Flow, receiver: Receiver, key: str) -> None:
    register(flow.client, key, receiver.url)
    patient = flow.patient()
    media = flow.media(patient, photo(4))
    request_id = flow.request(patient, [media["id"]], [{"purpose": "teaching"}])
    flow.decide(request_id, {"teaching": True})
    again = flow.client.post(
        f"/api/v1/requests/{request_id}/decision",
        json={
            "signer": {"role": "patient"},
            "choices": [{"purpose": "teaching", "granted": False}],
            "method": "external",
            "evidence": evidence(),
        },
        headers=flow.headers,
    )
    assert again.status_code == 409
    # The outbox row is written in the decision's transaction: one decision, one event.
    assert [row.event_type for row in deliveries()] == ["consent.created"]


def test_paper_decision_is_emitted_in_its_transaction(
    flow: Flow, receiver: Receiver, key: str
) -> None:
    from tests.factories import scan_pdf

    register(flow.client, key, receiver.url)
    patient = flow.patient()
    media = flow.media(patient, photo(5))
    request_id = flow.request(patient, [media["id"]], [{"purpose": "teaching"}])
    damaged = flow.paper(request_id, {"teaching": "granted"}, b"%PDF-1.7 broken")
    assert damaged.status_code in (415, 422)
    assert deliveries() == []
    recorded = flow.paper(request_id, {"teaching": "granted"}, scan_pdf())
    assert recorded.status_code == 201, recorded.json
    (row,) = deliveries()
    assert json.loads(row.payload)["data"]["consent_id"] == recorded.json["consent_id"]


def test_delivery_gives_up_after_the_last_attempt(
    flow: Flow, runner: FlaskCliRunner, moving_clock: Clock, hook_config: dict[str, Any], key: str
) -> None:
    hook_config["CONSENT_WEBHOOK_MAX_ATTEMPTS"] = 3
    with running_receiver(script=[500] * 10) as receiver:
        register(flow.client, key, receiver.url)
        flow.consent(photo(6), CHOICES)
        for _ in range(3):
            runner.invoke(args=["deliver"])
            moving_clock.advance(seconds=3600)
        assert "0 attempts" in runner.invoke(args=["deliver"]).output
        assert len(receiver.received) == 3
    (row,) = deliveries()
    db.session.refresh(row)
    assert row.state == "dead" and row.finished_at is not None
    tries = attempts(row.id)
    assert [a.status_code for a in tries] == [500, 500, 500]
    # The wait doubles after each failure: 10 s after the first, 20 s after the second.
    gaps = [later.attempted_at - earlier.attempted_at for earlier, later in pairwise(tries)]
    assert gaps[0] >= timedelta(seconds=3600) and gaps[1] >= timedelta(seconds=3600)


def test_each_failure_doubles_the_wait(
    flow: Flow, runner: FlaskCliRunner, moving_clock: Clock, key: str
) -> None:
    with running_receiver(script=[500] * 10) as receiver:
        register(flow.client, key, receiver.url)
        flow.consent(photo(16), CHOICES)
        waits = []
        for _ in range(3):
            runner.invoke(args=["deliver"])
            (row,) = deliveries()
            db.session.refresh(row)
            waits.append(row.next_attempt_at - attempts(row.id)[-1].attempted_at)
            moving_clock.advance(seconds=3600)
        assert len(receiver.received) == 3
    seconds = [round(wait.total_seconds()) for wait in waits]
    assert seconds == [BACKOFF_SECONDS, 2 * BACKOFF_SECONDS, 4 * BACKOFF_SECONDS]


def test_backoff_doubles_up_to_its_cap() -> None:
    delays = [backoff(n, base=120, cap=3600).total_seconds() for n in range(1, 9)]
    assert delays == [120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert backoff(10_000, base=120, cap=3600) == timedelta(hours=1)


def test_redirect_is_recorded_and_not_followed(
    flow: Flow, runner: FlaskCliRunner, key: str
) -> None:
    with running_receiver(script=[302]) as receiver:
        register(flow.client, key, receiver.url)
        flow.consent(photo(7), CHOICES)
        runner.invoke(args=["deliver"])
        assert len(receiver.wait_for(1)) == 1
    (row,) = deliveries()
    assert row.state == "pending"
    assert [a.status_code for a in attempts(row.id)] == [302]


def test_answer_body_is_kept_to_500_bytes(flow: Flow, runner: FlaskCliRunner, key: str) -> None:
    with running_receiver(script=[503], answer_body=b"x" * 5000) as receiver:
        register(flow.client, key, receiver.url)
        flow.consent(photo(8), CHOICES)
        runner.invoke(args=["deliver"])
        receiver.wait_for(1)
    (row,) = deliveries()
    (attempt,) = attempts(row.id)
    assert attempt.status_code == 503 and attempt.response_body == b"x" * 500


def test_slow_receiver_times_out_and_is_retried(
    flow: Flow, runner: FlaskCliRunner, hook_config: dict[str, Any], key: str
) -> None:
    hook_config["CONSENT_WEBHOOK_TIMEOUT_SECONDS"] = 0.3
    with running_receiver(delay=1.5) as receiver:
        register(flow.client, key, receiver.url)
        flow.consent(photo(9), CHOICES)
        runner.invoke(args=["deliver"])
    (row,) = deliveries()
    (attempt,) = attempts(row.id)
    assert row.state == "pending" and attempt.status_code is None
    assert attempt.error == "timeout"
    assert attempt.duration_ms is not None and attempt.duration_ms >= 300


def test_unreachable_endpoint_is_recorded_as_an_error(
    flow: Flow, runner: FlaskCliRunner, key: str
) -> None:
    with running_receiver() as receiver:
        url = receiver.url
    register(flow.client, key, url)  # the receiver is gone: nothing listens on that port
    flow.consent(photo(10), CHOICES)
    runner.invoke(args=["deliver"])
    (row,) = deliveries()
    (attempt,) = attempts(row.id)
    assert attempt.status_code is None and attempt.error == "refused"


def test_two_deliverers_never_send_the_same_attempt(
    app: Flask, flow: Flow, receiver: Receiver, key: str
) -> None:
    register(flow.client, key, receiver.url)
    for seed in range(6):
        flow.consent(photo(20 + seed), CHOICES)
    assert len(deliveries()) == 6
    db.session.commit()
    reports = []
    errors: list[BaseException] = []

    def deliverer() -> None:
        with app.app_context():
            try:
                reports.append(deliver_due(db.session, runtime()))
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=deliverer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    ids = [request.headers["webhook-id"] for request in receiver.received]
    assert sorted(ids) == sorted(row.id for row in deliveries())  # each sent exactly once
    assert sum(len(report.delivered) for report in reports) == 6
    assert db.session.scalar(select(func.count()).select_from(WebhookAttempt)) == 6


def test_claimed_delivery_cannot_be_claimed_again(
    flow: Flow, receiver: Receiver, key: str, moving_clock: Clock
) -> None:
    register(flow.client, key, receiver.url)
    flow.consent(photo(11), CHOICES)
    lease = timedelta(seconds=30)
    first = claim_next(db.session, now=clock.now(), max_attempts=8, lease=lease)
    assert first is not None and first.number == 1
    assert claim_next(db.session, now=clock.now(), max_attempts=8, lease=lease) is None

    # The first deliverer stalls past its lease: another takes over, and attempt 1 is lost.
    moving_clock.advance(seconds=31)
    second = claim_next(db.session, now=clock.now(), max_attempts=8, lease=lease)
    assert second is not None and second.number == 2 and second.delivery_id == first.delivery_id
    (lost,) = attempts(first.delivery_id)
    assert lost.number == 1 and lost.error == LOST and lost.status_code is None

    # The stalled deliverer's late result changes nothing; the new holder's counts.
    config = {"max_attempts": 8, "base": 10.0, "cap": 60.0}
    late = send(first, secret=_secret(first), timeout=5, allow_http=True, allowed_networks=LOOPBACK)
    assert record(db.session, first, late, **config) == "lost"
    result = send(
        second, secret=_secret(second), timeout=5, allow_http=True, allowed_networks=LOOPBACK
    )
    assert record(db.session, second, result, **config) == "delivered"


def _secret(claim: Any) -> str:
    return runtime().vault.open_service_secret(claim.secret_sealed).decode()


def test_endpoint_deleted_cancels_its_pending_deliveries(
    flow: Flow, runner: FlaskCliRunner, receiver: Receiver, key: str
) -> None:
    endpoint = register(flow.client, key, receiver.url)
    flow.consent(photo(12), CHOICES)
    response = flow.client.delete(f"/api/v1/webhooks/{endpoint['id']}", headers=auth(key))
    assert response.status_code == 204
    flow.consent(photo(13), CHOICES)
    runner.invoke(args=["deliver"])
    assert receiver.received == []
    assert [row.state for row in deliveries()] == ["cancelled"]


def test_http_endpoint_is_not_sent_once_http_is_no_longer_allowed(
    flow: Flow, runner: FlaskCliRunner, receiver: Receiver, key: str, hook_config: dict[str, Any]
) -> None:
    register(flow.client, key, receiver.url)
    flow.consent(photo(14), CHOICES)
    hook_config["CONSENT_WEBHOOKS_ALLOW_HTTP"] = False
    runner.invoke(args=["deliver"])
    assert receiver.received == []
    (row,) = deliveries()
    (attempt,) = attempts(row.id)
    assert attempt.error == "invalid_url"


def test_worker_thread_delivers_when_enabled(
    instance_dir: Any, database_url: str, flow: Flow, receiver: Receiver, key: str
) -> None:
    from tests.conftest import dispose, make_app

    endpoint = register(flow.client, key, receiver.url)
    flow.consent(photo(15), CHOICES)
    db.session.commit()
    serving = make_app(
        instance_dir,
        database_url,
        CONSENT_WEBHOOK_WORKER=True,
        CONSENT_WEBHOOK_POLL_SECONDS=0.05,
        CONSENT_WEBHOOKS_ALLOW_HTTP=True,
        CONSENT_WEBHOOKS_ALLOW_NETWORKS="127.0.0.1/32",
    )
    try:
        assert "webhook_worker" not in serving.extensions  # not before the first request
        serving.test_client().get("/.well-known/consent-keys")
        (request,) = receiver.wait_for(1)
        assert Webhook(endpoint["secret"]).verify(request.body, request.headers)
    finally:
        worker = serving.extensions.get("webhook_worker")
        if worker is not None:
            worker.stop(10)
        dispose(serving)


def test_lost_last_attempt_makes_the_delivery_dead(
    flow: Flow, receiver: Receiver, key: str, moving_clock: Clock
) -> None:
    register(flow.client, key, receiver.url)
    flow.consent(photo(17), CHOICES)
    lease = timedelta(seconds=30)
    only = claim_next(db.session, now=clock.now(), max_attempts=1, lease=lease)
    assert only is not None
    moving_clock.advance(seconds=31)
    assert claim_next(db.session, now=clock.now(), max_attempts=1, lease=lease) is None
    (row,) = deliveries()
    db.session.refresh(row)
    assert row.state == "dead" and row.lease_until is None and row.claim_token is None
    assert [(a.number, a.error) for a in attempts(row.id)] == [(1, LOST)]
    assert receiver.received == []
