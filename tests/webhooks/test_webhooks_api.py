"""Registering, listing and deleting webhook endpoints: the scope, the URL rules, the secret
shown once and stored sealed, and who owns what."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from consent.db import db
from consent.web.context import runtime
from consent.webhooks.models import WebhookEndpoint
from consent.webhooks.service import MAX_ENDPOINTS_PER_OWNER
from tests.factories import WARD, admin_key, api_key, auth, issue_key, member
from tests.test_instance import publishing_tool
from tests.webhooks.conftest import register

HOOK = "https://publisher.example/hooks/consent"


@pytest.fixture
def https_key(app: Any) -> str:
    """A key on the default configuration: endpoints must be https."""
    return admin_key(("webhooks:manage",))


def error_fields(response: Any) -> dict[str, Any]:
    """The fields named in a 422: by the schema (under "json") or by the service."""
    errors = dict(response.json["errors"])
    return {**errors.pop("json", {}), **errors}


def post(client: FlaskClient, key: str, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/webhooks", json=body, headers=auth(key))


def test_registration_answers_a_standard_webhooks_secret_once(
    client: FlaskClient, key: str
) -> None:
    created = register(client, key, HOOK, ["consent.expired", "consent.created"])
    assert created["id"].startswith("wh_")
    assert created["url"] == HOOK
    assert created["events"] == ["consent.created", "consent.expired"]
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 44
    listed = client.get("/api/v1/webhooks", headers=auth(key))
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json] == [created["id"]]
    assert "secret" not in listed.json[0]
    # Stored sealed with the vault: not in clear, and it opens back to the same secret.
    row = db.session.get_one(WebhookEndpoint, created["id"])
    assert row.secret_sealed is not None and secret.encode() not in row.secret_sealed
    assert secret[6:].encode() not in row.secret_sealed
    assert runtime().vault.open_service_secret(row.secret_sealed).decode() == secret


def test_registration_needs_the_webhooks_scope(client: FlaskClient) -> None:
    writer = api_key(("verify", "consents:write"))
    response = post(client, writer, {"url": HOOK, "events": ["consent.created"]})
    assert response.status_code == 403
    assert "webhooks:manage" in response.json["message"]
    assert client.get("/api/v1/webhooks").status_code == 401


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://publisher.example/hooks", "Use https."),
        ("file:///etc/passwd", "Use https."),
        ("http://publisher.example/hooks", "Use https."),
        ("https://user:pass@publisher.example/hooks", "No user name or password"),
        ("https://token@publisher.example/hooks", "No user name or password"),
        ("https:///hooks", "Name a host."),
        ("https://publisher.example/ho oks", "No spaces"),
        ("https://publisher.example:99999/hooks", "Not a valid URL."),
        ("https://publisher.example/hooks#part", "No #fragment"),
        ("publisher.example/hooks", "Use https."),
    ],
)
def test_endpoint_url_is_refused(
    client: FlaskClient, https_key: str, url: str, message: str
) -> None:
    response = post(client, https_key, {"url": url, "events": ["consent.created"]})
    assert response.status_code == 422, response.json
    assert message in response.json["errors"]["url"][0]
    assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_overlong_url_is_refused(client: FlaskClient, key: str) -> None:
    url = "https://publisher.example/" + "a" * 1975
    assert len(url) == 2001
    response = post(client, key, {"url": url, "events": ["consent.created"]})
    assert response.status_code == 422
    assert "url" in error_fields(response)
    assert post(client, key, {"url": url[:-1], "events": ["consent.created"]}).status_code == 201


def test_http_is_allowed_only_when_configured(
    client: FlaskClient, key: str, hook_config: dict[str, Any]
) -> None:
    assert register(client, key, "http://127.0.0.1:8080/hooks")["url"].startswith("http://")
    hook_config["CONSENT_WEBHOOKS_ALLOW_HTTP"] = False
    response = post(
        client, key, {"url": "http://127.0.0.1:8080/hooks", "events": ["consent.created"]}
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    "events",
    [[], ["consent.deleted"], ["consent.created", "patient.created"], "consent.created", None],
)
def test_events_must_be_among_the_three(client: FlaskClient, key: str, events: Any) -> None:
    response = post(client, key, {"url": HOOK, "events": events})
    assert response.status_code == 422
    assert "events" in error_fields(response)


def test_unknown_fields_and_non_json_are_refused(client: FlaskClient, key: str) -> None:
    response = post(client, key, {"url": HOOK, "events": ["consent.created"], "secret": "mine"})
    assert response.status_code == 422
    form = client.post("/api/v1/webhooks", data={"url": HOOK}, headers=auth(key))
    assert form.status_code == 415


def test_same_url_twice_is_a_conflict(client: FlaskClient, key: str) -> None:
    register(client, key, HOOK)
    response = post(client, key, {"url": HOOK, "events": ["consent.expired"]})
    assert response.status_code == 409
    assert response.json["errors"] == {"url": ["Already registered."]}


def test_an_owner_has_a_bounded_number_of_endpoints(client: FlaskClient, key: str) -> None:
    for n in range(MAX_ENDPOINTS_PER_OWNER):
        register(client, key, f"{HOOK}/{n}")
    response = post(client, key, {"url": HOOK, "events": ["consent.created"]})
    assert response.status_code == 422
    assert "At most" in response.json["message"]


def _key_for(account: Any, team: str = WARD) -> str:
    issued = issue_key(
        name="k", scopes=["webhooks:manage"], days=30, account=account, team_slug=team
    )
    db.session.commit()
    return issued.secret


def test_endpoints_belong_to_the_team(client: FlaskClient) -> None:
    """A team's endpoints hear of its consents only; every admin's webhooks key of the team
    manages them (a system's key does not: docs/roles.md); another team's keys find nothing
    (404), and nothing of theirs changes."""
    alice = member(email="alice@hospital.test", display_name="Dr A", role="admin")
    bob = member(email="bob@hospital.test", display_name="Dr B", role="admin")
    carol = member(
        email="carol@hospital.test", display_name="Dr C", role="admin", team_slug="oncology"
    )
    alice_key, bob_key, carol_key = _key_for(alice), _key_for(bob), _key_for(carol, "oncology")
    system = issue_key(name="desk", scopes=["webhooks:manage"], days=30).secret
    db.session.commit()
    mine = register(client, alice_key, HOOK)
    desk = register(client, bob_key, HOOK + "/desk")
    refused = post(client, system, {"url": HOOK + "/system", "events": ["consent.created"]})
    assert refused.status_code == 403
    assert client.get("/api/v1/webhooks", headers=auth(system)).status_code == 403
    theirs = register(client, carol_key, HOOK + "/oncology")

    def listed(key: str) -> list[str]:
        return sorted(item["id"] for item in client.get("/api/v1/webhooks", headers=auth(key)).json)

    assert listed(alice_key) == listed(bob_key) == sorted([mine["id"], desk["id"]])
    assert listed(carol_key) == [theirs["id"]]

    # Another team's endpoint does not exist for them: 404, and it stays.
    for path in (f"/api/v1/webhooks/{mine['id']}", f"/api/v1/webhooks/{mine['id']}/deliveries"):
        method = client.delete if path.count("/") == 4 else client.get
        assert method(path, headers=auth(carol_key)).status_code == 404
    assert mine["id"] in listed(alice_key)

    assert client.delete(f"/api/v1/webhooks/{desk['id']}", headers=auth(bob_key)).status_code == 204
    assert (
        client.delete(f"/api/v1/webhooks/{mine['id']}", headers=auth(alice_key)).status_code == 204
    )
    assert listed(alice_key) == []
    assert listed(carol_key) == [theirs["id"]]
    again = client.delete(f"/api/v1/webhooks/{mine['id']}", headers=auth(alice_key))
    assert again.status_code == 404
    # Deleted endpoints keep no secret.
    deleted = db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_not(None))
    )
    assert all(row.secret_sealed is None for row in deleted)


def test_deliveries_of_an_endpoint_are_listed_with_their_attempts(
    client: FlaskClient, key: str
) -> None:
    created = register(client, key, HOOK)
    response = client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=auth(key))
    assert response.status_code == 200 and response.json == []


def test_create_api_key_accepts_the_webhooks_scope(runner: FlaskCliRunner) -> None:
    tool = publishing_tool(runner)
    result = runner.invoke(
        args=[
            "create-api-key",
            "--name",
            "publisher",
            "--scopes",
            "verify,webhooks:manage",
            "--team",
            "ward",
            "--integration",
            tool,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "webhooks:manage" in result.stderr
    help_text = runner.invoke(args=["create-api-key", "--help"]).output
    assert "webhooks:manage" in help_text
    bad = runner.invoke(
        args=[
            "create-api-key",
            "--name",
            "x",
            "--scopes",
            "webhooks:admin",
            "--team",
            "ward",
            "--integration",
            tool,
        ]
    )
    assert bad.exit_code != 0 and "webhooks:manage" in bad.output
