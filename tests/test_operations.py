"""What operators' tools read: /health (is the node's database reachable) and /metrics (the
Prometheus text format, every gunicorn worker of a node added up), and who may read them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from consent.web import metrics
from consent.web.verifylimit import EXTENSION, VerifyLimit
from tests.conftest import dispose, make_app
from tests.factories import Flow, admin_key, api_key, auth, photo

ROOT = Path(__file__).resolve().parents[1]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, sorted labels), as Prometheus would parse it."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client: FlaskClient, key: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=auth(key))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=0.0.4")
    return samples(response.get_data(as_text=True))


def requests_of(found: dict, route: str, method: str = "GET", status: str = "200") -> float:
    labels = (("method", method), ("route", route), ("status", status))
    return found.get(("consent_http_requests_total", labels), 0.0)


def test_health_answers_ok_when_the_database_answers(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_health_answers_503_in_the_error_shape_when_the_database_is_unreachable(
    tmp_path: Path, instance_dir: Path
) -> None:
    unreachable = f"sqlite:///{tmp_path}/no/such/folder/consent.sqlite3"
    app = make_app(instance_dir, unreachable)
    try:
        response = app.test_client().get("/health")
    finally:
        dispose(app)
    assert response.status_code == 503
    assert response.json["code"] == 503
    assert response.json["message"] == "This node cannot reach its database."
    assert "sqlite" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), (("verify",), 403), (("verify", "consents:write"), 403)],
)
def test_metrics_refuse_publishers_and_clinicians(
    client: FlaskClient, who: tuple[str, ...] | None, status: int
) -> None:
    headers = auth(api_key(who)) if who else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == status
    assert response.json["code"] == status


def test_metrics_are_read_with_an_auditors_or_an_administrators_key(
    client: FlaskClient,
) -> None:
    for key in (api_key(("audit",)), admin_key()):
        assert ("consent_log_entries", ()) in scrape(client, key)


def test_metrics_count_requests_by_route_not_path_and_time_verify(
    client: FlaskClient,
) -> None:
    auditor = api_key(("audit",))
    flow = Flow(client, api_key())
    decision = flow.consent(photo(81), {"teaching": True})
    sha256 = decision["media"]["sha256"]
    before = scrape(client, auditor)
    for _ in range(3):  # the first through Flask's route, the others through the fast path
        flow.verify(sha256, "teaching")
    receipt = f"/api/v1/consents/{decision['consent_id']}/receipt"
    assert client.get(receipt, headers=flow.headers).status_code == 200
    assert client.get("/no/such/page").status_code == 404
    response = client.get("/metrics", headers=auth(auditor))
    text = response.get_data(as_text=True)
    after = samples(text)
    assert requests_of(after, "/api/v1/verify") - requests_of(before, "/api/v1/verify") == 3
    rule = "/api/v1/consents/<consent_id>/receipt"
    assert requests_of(after, rule) - requests_of(before, rule) == 1
    unmatched = requests_of(after, "(unmatched)", status="404")
    assert unmatched - requests_of(before, "(unmatched)", status="404") == 1
    assert decision["consent_id"] not in text and sha256 not in text  # bounded labels only
    timed = ("consent_verify_duration_seconds_count", (("method", "GET"),))
    assert after[timed] - before.get(timed, 0.0) == 3


def test_metrics_read_the_log_size_the_outbox_and_the_keys_from_the_service(
    app: Flask, client: FlaskClient
) -> None:
    auditor = api_key(("audit",))
    hooks = auth(admin_key(("webhooks:manage",)))
    registered = client.post(
        "/api/v1/webhooks",
        json={"url": "https://publisher.example/hooks", "events": ["consent.created"]},
        headers=hooks,
    )
    assert registered.status_code == 201, registered.json
    flow = Flow(client, api_key())
    for seed in (82, 83):
        flow.consent(photo(seed), {"teaching": True})
    found = scrape(client, auditor)
    assert found[("consent_log_entries", ())] == 2
    assert found[("consent_webhook_outbox_waiting", ())] == 2  # nobody delivered them yet
    assert found[("consent_webhook_outbox_retrying", ())] == 0
    assert found[("consent_webhook_deliveries_dead", ())] == 0
    keys = client.get("/.well-known/consent-keys").json["keys"]
    for key in keys:
        labels = (("key_id", key["key_id"]), ("status", key["status"]))
        assert found[("consent_signing_key_info", labels)] == 1


@pytest.fixture
def limited(app: Flask) -> Iterator[None]:
    normal = app.extensions[EXTENSION]
    app.extensions[EXTENSION] = VerifyLimit("1 per minute")
    yield
    app.extensions[EXTENSION] = normal


def test_metrics_count_rate_limit_refusals(client: FlaskClient, limited: None) -> None:
    auditor = api_key(("audit",))
    publisher = auth(api_key(("verify",)))
    name = ("consent_ratelimit_refused_total", (("limit", "verify"),))
    before = scrape(client, auditor).get(name, 0.0)
    statuses = [
        client.get(f"/api/v1/verify?sha256={'a' * 64}&purpose=teaching", headers=publisher)
        for _ in range(3)
    ]
    assert [response.status_code for response in statuses] == [200, 429, 429]
    assert scrape(client, auditor)[name] - before == 2


WORKER = """
import sys
from consent.web import metrics
environ = {"consent.route": "/api/v1/verify", "REQUEST_METHOD": "GET"}
for _ in range(int(sys.argv[1])):
    metrics.observe_request(environ, 200, 0.002)
"""


def test_a_scrape_adds_up_every_worker_process_of_the_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gunicorn's workers are processes: with PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py)
    each writes its counts there, and one scrape answers the sum, exited workers included."""
    env = {**os.environ, metrics.MULTIPROCESS_DIR: str(tmp_path)}
    for count in (5, 7):  # two workers, each its own process, both exited now
        subprocess.run([sys.executable, "-c", WORKER, str(count)], env=env, cwd=ROOT, check=True)
    monkeypatch.setenv(metrics.MULTIPROCESS_DIR, str(tmp_path))
    text = metrics.exposition([]).decode()
    found = samples(text)
    assert requests_of(found, "/api/v1/verify") == 12
    assert found[("consent_verify_duration_seconds_count", (("method", "GET"),))] == 12
    assert re.search(r'le="0.0025",method="GET"\} 12.0', text)
