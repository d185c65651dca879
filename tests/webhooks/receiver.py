"""A real HTTP receiver for webhook tests: http.server in a thread, on 127.0.0.1 and a port the
system picks. It answers each POST with the next status of its script (then 200), and keeps
what it received."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names lower-cased: HTTP header names are case-insensitive
    body: bytes


@dataclass
class Receiver:
    url: str
    # Statuses answered in turn; 200 once the script runs out.
    script: list[int] = field(default_factory=list)
    # Seconds to wait before answering (to make the sender time out).
    delay: float = 0.0
    answer_body: bytes = b"thanks"
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"received {len(self.received)} requests, expected {count}")


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with receiver.lock:
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.received.append(Received(self.path, headers, body))
                status = receiver.script.pop(0) if receiver.script else 200
            if receiver.delay:
                time.sleep(receiver.delay)
            try:
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", str(len(receiver.answer_body)))
                self.end_headers()
                self.wfile.write(receiver.answer_body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up waiting (a timeout test)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running_receiver(
    script: list[int] | None = None, *, tls: ssl.SSLContext | None = None, **options: object
) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1; with ``tls``, over https (its URL names 127.0.0.1: a test
    changes the host to a name its certificate carries)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Receiver(url="")))
    host, port = server.server_address[:2]
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    receiver = Receiver(url=f"{scheme}://{host}:{port}/hooks", script=list(script or []))
    for name, value in options.items():
        setattr(receiver, name, value)
    server.RequestHandlerClass = _handler(receiver)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
