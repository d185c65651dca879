"""What nginx itself must do: HTTP/2 over TLS, the redirect, static files with the service's
security headers (and the service's answers with each header once), the body limit at the
service's own bound, the request id carried through, and no signing-link token in a log."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time

from consent.settings import load
from consent.web.securityheaders import _ALWAYS, HSTS
from deploy.harness.client import tls_context
from deploy.harness.deployment import Deployment
from deploy.harness.results import Results, require

SECURITY_HEADERS = {
    name.lower(): value for name, value in (*_ALWAYS, ("Strict-Transport-Security", HSTS))
}


def check_http2(deployment: Deployment) -> None:
    context = tls_context(deployment.certs.ca)
    context.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", deployment.ports.https), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        require(tls.selected_alpn_protocol() == "h2", f"ALPN chose {tls.selected_alpn_protocol()}")
        require(tls.version() in ("TLSv1.2", "TLSv1.3"), f"TLS version {tls.version()}")
    old = tls_context(deployment.certs.ca)
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        with (
            socket.create_connection(("127.0.0.1", deployment.ports.https), timeout=5) as raw,
            old.wrap_socket(raw, server_hostname="127.0.0.1"),
        ):
            raise AssertionError("nginx accepted TLS 1.1")
    except (ssl.SSLError, OSError):
        pass


def check_redirect(deployment: Deployment) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", deployment.ports.http, timeout=5)
    connection.request("GET", "/withdraw?x=1")
    response = connection.getresponse()
    location = response.getheader("Location") or ""
    connection.close()
    require(
        response.status == 301 and location.startswith("https://"),
        f"plain http answered {response.status} {location!r}",
    )


def check_headers(deployment: Deployment) -> None:
    client = deployment.client(key="")
    static = client.request("GET", "/static/css/app.css")
    require(static.status == 200, f"/static/css/app.css: {static.status}")
    require("x-request-id" not in static.headers, "a static file reached the application")
    app = client.request("GET", "/.well-known/consent-keys")
    require(app.status == 200 and "x-request-id" in app.headers, f"keys: {app.status}")
    for name, value in SECURITY_HEADERS.items():
        require(
            static.headers.get(name) == value,
            f"static {name}: {static.headers.get(name)!r}, the service sends {value!r}",
        )
        count = sum(1 for sent, _ in app.header_list if sent.lower() == name)
        require(count == 1, f"the service's answer carries {name} {count} times through nginx")
    # Exactly the same bytes as the service's own static route would send.
    direct = deployment.nodes["a"].base + "/static/css/app.css"
    import urllib.request

    with urllib.request.urlopen(direct, timeout=5) as response:  # noqa: S310
        require(response.read() == static.body, "nginx serves another app.css than the service")
    require(
        "server" not in static.headers or "/" not in static.headers["server"],
        f"nginx tells its version: {static.headers.get('server')}",
    )


def _post_length(
    deployment: Deployment, length: int, body: bytes | None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPSConnection(
        "127.0.0.1", deployment.ports.https, context=tls_context(deployment.certs.ca), timeout=60
    )
    try:
        connection.putrequest("POST", "/api/v1/media")
        connection.putheader("Authorization", f"Bearer {deployment.keys['writer']}")
        connection.putheader("Content-Type", "application/octet-stream")
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        if body is not None:
            view = memoryview(body)
            for start in range(0, len(body), 1 << 20):
                connection.send(view[start : start + (1 << 20)])
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def check_body_limit(deployment: Deployment, results: Results) -> None:
    limit = load(instance_path=None, environ={}).body_limit
    results.figure("body limit (bytes)", limit)
    status, headers, body = _post_length(deployment, limit + 1, None)
    require(status == 413, f"a body of limit + 1 bytes got {status}")
    require("x-request-id" not in headers, "a body over the limit reached the application")
    shape = json.loads(body)
    require(
        set(shape) == {"code", "status", "message", "errors"} and shape["code"] == 413,
        f"nginx's 413 is not the API's error shape: {body[:200]!r}",
    )
    status, headers, body = _post_length(deployment, limit, bytes(limit))
    require(
        "x-request-id" in headers, f"a body of exactly the limit was stopped by nginx ({status})"
    )
    require(status != 413, f"the service refused a body of exactly its limit: {body[:200]!r}")


def check_request_id_and_log(deployment: Deployment) -> None:
    token = f"SecretLinkToken{deployment.run_id}"
    request_id = f"selftest-{deployment.run_id}"
    answer = deployment.client(key="").request(
        "GET", f"/tablet/s/{token}/page?x=1", headers={"X-Request-ID": request_id}
    )
    require(
        answer.headers.get("x-request-id") == request_id,
        f"request id came back as {answer.headers.get('x-request-id')!r}",
    )
    time.sleep(0.5)  # nginx writes its log line when the answer is sent
    access = (deployment.work / "nginx" / "logs" / "access.log").read_text()
    lines = [json.loads(line) for line in access.splitlines() if request_id in line]
    require(len(lines) == 1, f"{len(lines)} nginx log lines carry the request id")
    require(lines[0]["path"] == "/tablet/s/.../page", f"nginx logged the path {lines[0]['path']!r}")
    nodes = "".join(node.log.read_text() for node in deployment.nodes.values())
    require(request_id in nodes, "the service's log line does not carry nginx's request id")
    for where, text in (("nginx's access log", access), ("a node's log", nodes)):
        require(token not in text, f"the signing-link token is in {where}")


def run(deployment: Deployment, results: Results) -> None:
    with results.check("nginx: HTTP/2 and TLS 1.2+ only, with the throw-away CA's certificate"):
        check_http2(deployment)
    with results.check("nginx: plain http redirects to https"):
        check_redirect(deployment)
    with results.check("nginx: static files with the service's security headers, none doubled"):
        check_headers(deployment)
    with results.check("nginx: 413 in the API's shape past the service's body limit, not at it"):
        check_body_limit(deployment, results)
    with results.check("nginx: request id carried to the service; no link token in any log"):
        check_request_id_and_log(deployment)
