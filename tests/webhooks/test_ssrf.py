"""Server-side request forgery through webhooks: an endpoint that names the service's own
network is refused at registration and at each delivery, in every spelling of the address; the
delivery connects to the address checked (no rebinding); errors shown are categories."""

from __future__ import annotations

import socket
import ssl
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from tests.factories import Flow, api_key, auth, photo
from tests.webhooks.conftest import register
from tests.webhooks.receiver import Receiver, running_receiver
from tests.webhooks.test_delivery import CHOICES

INTERNAL = [
    "https://127.0.0.1:8443/",
    "https://localhost/hooks",
    "https://[::1]/hooks",
    "https://0.0.0.0/hooks",
    "https://2130706433/hooks",
    "https://0x7f000001/hooks",
    "https://0177.0.0.1/hooks",
    "https://127.1/hooks",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.1/hooks",
    "https://192.168.1.10/hooks",
    "https://172.16.0.5/hooks",
    "https://100.64.0.1/hooks",
    "https://224.0.0.1/hooks",
    "https://240.0.0.1/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://[::ffff:7f00:1]/hooks",
    "https://[::ffff:a9fe:a9fe]/hooks",
    "https://[64:ff9b::7f00:1]/hooks",
    "https://[2002:7f00:1::]/hooks",
    "https://[fd00::1]/hooks",
    "https://[fe80::1]/hooks",
    "https://[ff02::1]/hooks",
    "https://[::]/hooks",
    "https://intranet.hospital.internal/hooks",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://mixed.example/hooks",
]


def post(client: FlaskClient, key: str, url: str) -> Any:
    return client.post(
        "/api/v1/webhooks", json={"url": url, "events": ["consent.created"]}, headers=auth(key)
    )


@pytest.mark.parametrize("url", INTERNAL)
def test_registering_an_internal_address_is_refused(
    client: FlaskClient, key: str, url: str, hook_config: Any
) -> None:
    hook_config["CONSENT_WEBHOOKS_ALLOW_NETWORKS"] = ""  # the default: no network allowed
    response = post(client, key, url)
    assert response.status_code == 422, (url, response.json)
    assert "url" in response.json["errors"]
    assert client.get("/api/v1/webhooks", headers=auth(key)).json == []


def test_name_that_does_not_resolve_is_checked_again_at_delivery(
    flow: Flow, runner: FlaskCliRunner, key: str, test_host_names: dict[str, list[str]]
) -> None:
    """Accepted while it resolves to nothing (it reaches nothing); once it resolves, to an
    internal address here, nothing is sent."""
    test_host_names["later.example"] = []
    register(flow.client, key, "https://later.example/hooks")
    test_host_names["later.example"] = ["169.254.169.254"]
    delivery = deliver_one(flow, runner, 20)
    assert [attempt["error"] for attempt in delivery["attempts"]] == ["blocked"]


def test_delivery_to_a_name_that_does_not_resolve_is_recorded_as_dns(
    flow: Flow, runner: FlaskCliRunner, key: str, test_host_names: dict[str, list[str]]
) -> None:
    test_host_names["gone.example"] = []
    register(flow.client, key, "https://gone.example/hooks")
    delivery = deliver_one(flow, runner, 19)
    assert [attempt["error"] for attempt in delivery["attempts"]] == ["dns"]


def test_allow_listed_network_is_accepted(client: FlaskClient, key: str, hook_config: Any) -> None:
    hook_config["CONSENT_WEBHOOKS_ALLOW_NETWORKS"] = "10.0.0.0/8"
    assert post(client, key, "https://intranet.hospital.internal/hooks").status_code == 201
    # The allowed network only: loopback stays out.
    assert post(client, key, "https://127.0.0.1/hooks").status_code == 422


def test_a_clinicians_key_cannot_register_an_endpoint(client: FlaskClient, app: Any) -> None:
    clinician = api_key(("verify", "consents:write", "webhooks:manage"))
    response = post(client, clinician, "https://publisher.example/hooks")
    assert response.status_code == 403
    assert client.get("/api/v1/webhooks", headers=auth(clinician)).status_code == 403


def deliver_one(flow: Flow, runner: FlaskCliRunner, image: int) -> dict[str, Any]:
    flow.consent(photo(image), CHOICES)
    runner.invoke(args=["deliver"])
    endpoint = flow.client.get("/api/v1/webhooks", headers=flow.headers).json[0]
    (delivery,) = flow.client.get(
        f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=flow.headers
    ).json
    return dict(delivery)


def test_name_that_turns_internal_after_registration_is_not_sent(
    flow: Flow,
    runner: FlaskCliRunner,
    receiver: Receiver,
    key: str,
    hook_config: Any,
    test_host_names: dict[str, list[str]],
) -> None:
    """Registered while it pointed at an allowed address; the next look-up gives a blocked one:
    checked again at delivery, nothing is sent."""
    port = receiver.url.split(":")[2].split("/")[0]
    test_host_names["rebind.example"] = ["127.0.0.1"]
    register(flow.client, key, f"http://rebind.example:{port}/hooks")
    test_host_names["rebind.example"] = ["127.0.0.2"]
    delivery = deliver_one(flow, runner, 21)
    assert receiver.received == []
    assert [attempt["error"] for attempt in delivery["attempts"]] == ["blocked"]


def test_delivery_connects_to_the_checked_address_not_a_second_lookup(
    flow: Flow,
    runner: FlaskCliRunner,
    receiver: Receiver,
    key: str,
    test_host_names: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the check's look-up answers an allowed address; any later look-up of the
    name by the HTTP client would answer another. The delivery reaches the checked address and
    asks the system resolver nothing about the name."""
    port = receiver.url.split(":")[2].split("/")[0]
    test_host_names["rebind.example"] = ["127.0.0.1"]
    register(flow.client, key, f"http://rebind.example:{port}/hooks")
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(str(host))
        if host == "rebind.example":
            return real("127.0.0.2", *args, **kwargs)  # the rebound answer
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    delivery = deliver_one(flow, runner, 22)
    assert "rebind.example" not in asked
    assert delivery["state"] == "delivered"
    (received,) = receiver.received
    assert received.headers["host"] == f"rebind.example:{port}"


def test_delivery_errors_are_categories_not_raw_messages(
    flow: Flow, runner: FlaskCliRunner, key: str
) -> None:
    with running_receiver() as gone:
        url = gone.url
    register(flow.client, key, url)  # nothing listens there any more
    delivery = deliver_one(flow, runner, 23)
    (attempt,) = delivery["attempts"]
    assert attempt["error"] == "refused"
    assert attempt["status_code"] is None


def test_tls_failure_is_reported_as_tls(
    flow: Flow, runner: FlaskCliRunner, receiver: Receiver, key: str
) -> None:
    register(flow.client, key, receiver.url.replace("http://", "https://"))
    delivery = deliver_one(flow, runner, 24)
    assert [attempt["error"] for attempt in delivery["attempts"]] == ["tls"]


def test_redirect_to_an_internal_address_is_not_followed(
    flow: Flow, runner: FlaskCliRunner, key: str
) -> None:
    with running_receiver(script=[307]) as receiver:
        register(flow.client, key, receiver.url)
        delivery = deliver_one(flow, runner, 25)
        assert len(receiver.received) == 1
    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [307]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A throw-away CA and a certificate for localhost and 127.0.0.1 (openssl, as deploy/)."""
    import shutil

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    from deploy.harness.pki import make_certificates

    return make_certificates(tmp_path_factory.mktemp("pki"))


def tls_server(certificates: Any) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates.certificate, certificates.key)
    return context


def test_tls_to_the_pinned_address_still_checks_the_certificate_against_the_name(
    flow: Flow,
    runner: FlaskCliRunner,
    key: str,
    hook_config: Any,
    certificates: Any,
    test_host_names: dict[str, list[str]],
) -> None:
    """The connection goes to the checked address, and TLS names the host (SNI) and checks the
    certificate against it: a certificate for localhost is accepted for localhost, and refused
    for another name that resolves to the same address."""
    hook_config["CONSENT_WEBHOOK_CA_FILE"] = str(certificates.ca)
    test_host_names["localhost"] = ["127.0.0.1"]
    test_host_names["impostor.example"] = ["127.0.0.1"]
    with running_receiver(tls=tls_server(certificates)) as receiver:
        port = receiver.url.rsplit(":", 1)[1].split("/")[0]
        register(flow.client, key, f"https://localhost:{port}/hooks", ["consent.created"])
        register(flow.client, key, f"https://impostor.example:{port}/hooks", ["consent.created"])
        flow.consent(photo(26), CHOICES)
        runner.invoke(args=["deliver"])
        (received,) = receiver.wait_for(1)
    assert received.headers["host"] == f"localhost:{port}"
    outcomes = {}
    for endpoint in flow.client.get("/api/v1/webhooks", headers=flow.headers).json:
        (delivery,) = flow.client.get(
            f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=flow.headers
        ).json
        outcomes[endpoint["url"].split("/")[2].split(":")[0]] = [
            (attempt["status_code"], attempt["error"]) for attempt in delivery["attempts"]
        ]
    assert outcomes == {"localhost": [(200, None)], "impostor.example": [(None, "tls")]}
