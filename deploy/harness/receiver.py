"""A publisher's webhook receiver over HTTPS (a certificate of the throw-away CA, which the
deliverer trusts through SSL_CERT_FILE): it checks each delivery's Standard Webhooks signature
and keeps every one it got, so that duplicates can be counted."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

from deploy.harness.pki import Certificates


@dataclass
class Receiver:
    url: str
    secret: str = ""  # set once the endpoint is registered (the service shows it once)
    received: list[dict[str, Any]] = field(default_factory=list)  # verified payloads, with id
    forged: int = 0  # deliveries whose signature did not verify
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> list[str]:
        with self.lock:
            return [item["webhook_id"] for item in self.received]

    def wait_for(self, count: int, timeout: float) -> None:
        """Until ``count`` deliveries arrived. Raises RuntimeError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while len(self.ids()) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(self.ids())} webhook deliveries, expected {count}")
            time.sleep(0.1)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                payload = Webhook(receiver.secret).verify(body, headers)
            except Exception:  # any failure to verify is a forgery, for this receiver
                with receiver.lock:
                    receiver.forged += 1
                self.send_response(400)
                self.end_headers()
                return
            with receiver.lock:
                receiver.received.append(
                    {"webhook_id": headers.get("webhook-id", ""), **json.loads(json.dumps(payload))}
                )
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def https_receiver(certs: Certificates) -> Iterator[Receiver]:
    """A receiver on https://127.0.0.1:<port>/hooks until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certs.certificate), str(certs.key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    receiver = Receiver(url=f"https://127.0.0.1:{server.server_address[1]}/hooks")
    server.RequestHandlerClass = _handler(receiver)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
