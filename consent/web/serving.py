"""A gunicorn worker that slow clients cannot pin: requests are read whole before a thread
takes them, as a buffering reverse proxy would.

``make run`` once served with two sync workers and no proxy: two connections sending one byte a
second held both, and ``GET /withdraw`` waited 18 s. gunicorn's threaded worker alone moves the
problem to its threads, since a thread reads the request it was handed, however slowly it comes.
This worker reads each request head (and a body up to ``BODY_BUFFER`` bytes) in the worker's
event loop, without a thread, and hands it to a thread only once it is all there:

- a head must be whole within ``HEAD_SECONDS``, plus a second per ``MIN_RATE`` bytes sent
  (a client that trickles is closed; one that sends at any real speed is not);
- a connection waiting costs a socket, not a thread (``worker_connections`` of them at most);
- a body larger than ``BODY_BUFFER`` (a video upload) is read by the thread, each read within
  ``BODY_READ_SECONDS``, as gunicorn's ``sync`` worker behind a proxy would.

Used as ``--worker-class consent.web.serving.BufferingThreadWorker`` (the Makefile's ``run``);
behind nginx (deploy/), nginx does this buffering itself.
"""

from __future__ import annotations

import contextlib
import re
import selectors
import socket
import time
from collections import deque
from functools import partial
from typing import Any

from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import ThreadWorker

HEAD_SECONDS = 10.0
MIN_RATE = 4096  # bytes a second: a trickle below this only buys the grace above
BODY_BUFFER = 1024 * 1024
BODY_READ_SECONDS = 30.0
READ_SIZE = 64 * 1024
# The largest head read before a thread takes it anyway (gunicorn refuses it: too many fields).
MAX_HEAD = 128 * 1024
_HEAD_END = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d{1,12})[ \t]*\r\n", re.IGNORECASE)


class _Buffered:
    """What the event loop read of a connection's next request, and until when it may read."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.started = time.monotonic()

    @property
    def deadline(self) -> float:
        return self.started + HEAD_SECONDS + len(self.data) / MIN_RATE

    def complete(self) -> bool:
        end = self.data.find(_HEAD_END)
        if end < 0:
            return len(self.data) >= MAX_HEAD
        head = bytes(self.data[: end + 2])
        length = _CONTENT_LENGTH.search(head)
        if length is None:
            return True  # no body, or a chunked one: the thread reads it
        wanted = int(length.group(1))
        return wanted > BODY_BUFFER or len(self.data) >= end + 4 + wanted


class BufferingThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker, reading each request in its event loop first (see above)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading: deque[tuple[Any, _Buffered]] = deque()

    def enqueue_req(self, conn: Any) -> None:
        ready = getattr(conn, "consent_ready", False)
        leftover = conn.parser is not None and conn.parser.unreader.buf.getvalue()
        if ready or leftover:
            conn.consent_ready = False
            super().enqueue_req(conn)
            return
        buffered = _Buffered()
        conn.consent_buffered = buffered
        conn.sock.setblocking(False)
        self._reading.append((conn, buffered))
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._read_some, conn))

    def _read_some(self, conn: Any, client: Any) -> None:
        buffered: _Buffered = conn.consent_buffered
        try:
            chunk = _raw(conn.sock).recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(conn)
            return
        buffered.data += chunk
        if buffered.complete():
            self.poller.unregister(client)
            self._hand_over(conn, buffered)

    def _hand_over(self, conn: Any, buffered: _Buffered) -> None:
        conn.consent_buffered = None
        conn.consent_ready = True
        conn.data_ready = True
        conn.sock.setblocking(True)
        if not conn.initialized:
            conn.init()
        conn.parser.unreader.unread(bytes(buffered.data))
        if not isinstance(conn.sock, _BodyReadTimeout):
            conn.sock = _BodyReadTimeout(conn.sock)
            conn.parser.unreader.sock = conn.sock
        super().enqueue_req(conn)
        conn.consent_ready = False

    def _drop(self, conn: Any) -> None:
        conn.consent_buffered = None
        with contextlib.suppress(OSError, KeyError, ValueError):  # not registered any more
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        keep: deque[tuple[Any, _Buffered]] = deque()
        for conn, buffered in self._reading:
            if conn.consent_buffered is not buffered:
                continue  # handed over or closed already
            if buffered.deadline <= now:
                self._drop(conn)  # a head that trickles: closed, no thread was ever held
            else:
                keep.append((conn, buffered))
        self._reading = keep


def _raw(sock: Any) -> socket.socket:
    return sock._sock if isinstance(sock, _BodyReadTimeout) else sock


class _BodyReadTimeout:
    """The connection's socket as the thread reads a body past BODY_BUFFER: each read within
    BODY_READ_SECONDS, else the client is treated as gone."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def recv(self, size: int, *flags: int) -> bytes:
        self._sock.settimeout(BODY_READ_SECONDS)
        try:
            return self._sock.recv(size, *flags)
        except TimeoutError:
            raise NoMoreData() from None
        finally:
            self._sock.settimeout(None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)
