"""`make run` is not pinned by slow clients: 50 connections sending a byte at a time leave
the service answering others; each trickling client is closed after its grace; requests with
bodies (forms, uploads past the read-ahead buffer) and kept-alive connections still work.

Once, two connections sending one byte a second stalled `GET /withdraw` for 18 s: `make run`
served with two sync workers and no proxy. The server here is started with the options the
Makefile's `run` uses (read from the Makefile itself). No time is asserted but generous bounds
against hanging: the latency is measured in bench/slow_clients.py.
"""

from __future__ import annotations

import http.client
import io
import re
import shlex
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.common import ROOT, Gunicorn, Instance, free_port
from consent.web import serving


def make_run_options() -> tuple[str, ...]:
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(r"^RUN_SERVER_OPTIONS := (.+)$", makefile, re.MULTILINE)
    assert match, "the Makefile names the server options of `make run`"
    return tuple(shlex.split(match.group(1)))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    instance = Instance.fresh("slow-clients", root=tmp_path_factory.mktemp("served"))
    server = Gunicorn("consent:create_app()", free_port(), instance.env, extra=make_run_options())
    server.start()
    try:
        yield server
    finally:
        server.close()


def trickling(port: int, count: int) -> list[socket.socket]:
    clients = []
    for _ in range(count):
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sendall(b"GET /withdraw HTTP/1.1\r\nHost: x\r\n")
        clients.append(client)
    return clients


def closed_by_the_server(client: socket.socket) -> bool:
    client.setblocking(False)
    try:
        return client.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.mark.slow
def test_fifty_slow_clients_leave_the_service_answering_others(served: Gunicorn) -> None:
    slow = trickling(served.port, 50)
    try:
        for _ in range(3):  # a byte each, a few times: they keep sending, slowly
            for client in slow:
                client.setblocking(True)
                client.sendall(b"X")
            connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=20)
            connection.request("GET", "/withdraw")
            response = connection.getresponse()
            assert response.status == 200
            response.read()
            connection.close()
            time.sleep(1)
        # The trickling clients are still connected and unanswered...
        assert not any(closed_by_the_server(client) for client in slow)
        # ...until their grace ends; then the server closes them, having held no thread.
        deadline = time.monotonic() + serving.HEAD_SECONDS + 20
        while time.monotonic() < deadline and not all(
            closed_by_the_server(client) for client in slow
        ):
            time.sleep(1)
        assert all(closed_by_the_server(client) for client in slow)
    finally:
        for client in slow:
            client.close()


@pytest.mark.slow
def test_bodies_and_kept_alive_connections_still_work(served: Gunicorn) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=20)
    for _ in range(3):  # one connection, three requests
        connection.request("GET", "/.well-known/consent-keys")
        response = connection.getresponse()
        assert response.status == 200
        response.read()
    # A body past the read-ahead buffer is read by the thread: the API answers it (401: no key).
    big = b"x" * (serving.BODY_BUFFER + 100_000)
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
        + big
        + b"\r\n--b--\r\n"
    )
    connection.request(
        "POST",
        "/api/v1/verify",
        body=io.BytesIO(body),
        headers={
            "Content-Type": "multipart/form-data; boundary=b",
            "Content-Length": str(len(body)),
        },
    )
    response = connection.getresponse()
    assert response.status == 401
    response.read()
    connection.close()
    log = Path(served._log.name).read_text()
    assert "Traceback" not in log and "Logging error" not in log, log
