"""Slow clients (slowloris): connections to nginx that send one byte a second, half of them
still in their headers, half in a body, reconnecting whenever nginx drops them."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading


class SlowClients:
    """``count`` TLS connections to 127.0.0.1:port, fed a byte a second by one thread."""

    def __init__(
        self, port: int, context: ssl.SSLContext | None, count: int, *, headers_only: bool = False
    ) -> None:
        self.port, self.context, self.count = port, context, count
        self.headers_only = headers_only
        self.sockets: list[tuple[socket.socket, bytes, int]] = []  # socket, script, sent
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, daemon=True)

    def _script(self, number: int) -> bytes:
        head = f"POST /api/v1/media HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: {number}\r\n"
        if number % 2 or self.headers_only:  # headers that never end
            return (head + "X-Padding: " + "a" * 4000 + "\r\n").encode()
        return (head + "Content-Length: 1000000\r\n\r\n").encode() + b"b" * 1_000_000

    def _open(self, number: int) -> tuple[socket.socket, bytes, int]:
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        connection = (
            self.context.wrap_socket(raw, server_hostname="127.0.0.1") if self.context else raw
        )
        script = self._script(number)
        if not (number % 2 or self.headers_only):  # a body client: headers at once, body slowly
            end = script.index(b"\r\n\r\n") + 4
            connection.sendall(script[:end])
            return connection, script, end
        return connection, script, 0

    def start(self) -> None:
        self.sockets = [self._open(number) for number in range(self.count)]
        self._thread.start()

    def _feed(self) -> None:
        while not self._stop.wait(1.0):
            for number, (connection, script, sent) in enumerate(self.sockets):
                try:
                    connection.sendall(script[sent : sent + 1])
                    self.sockets[number] = (connection, script, sent + 1)
                except OSError:  # dropped by the server (header timeout): come back
                    with contextlib.suppress(OSError):
                        connection.close()
                    if self._stop.is_set():
                        return
                    try:
                        self.sockets[number] = self._open(number)
                        self.reconnects += 1
                    except OSError:
                        continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for connection, _, _ in self.sockets:
            with contextlib.suppress(OSError):
                connection.close()
