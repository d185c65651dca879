"""The delivery worker as a thread inside each web worker process (CONSENT_WEBHOOK_WORKER);
`flask --app consent deliver --loop` is the default."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from consent.db import db
from consent.web.context import runtime
from consent.workflows.deliver import deliver_due
from consent.workflows.timestamps import timestamp_due

log = logging.getLogger("consent.webhooks.delivery")


class DeliveryWorker(threading.Thread):
    """Drains the outbox every CONSENT_WEBHOOK_POLL_SECONDS, in the app's context."""

    def __init__(self, app: Flask, interval: float) -> None:
        super().__init__(name="webhook-delivery", daemon=True)
        self.app = app
        self.interval = interval
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            with self.app.app_context():
                try:
                    deliver_due(db.session, runtime(self.app))
                    # Checkpoints wait for their timestamps here too, after the consents'
                    # commits, never in them (consent.workflows.timestamps).
                    timestamp_due(db.session, runtime(self.app))
                except Exception as exc:  # keep going: the next round may work
                    # The type only: a database error's message quotes the row it failed on.
                    log.error("webhook delivery round failed: %s", type(exc).__name__)
                finally:
                    db.session.remove()
            self._stopping.wait(self.interval)

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        self.join(timeout)


def init_worker(app: Flask, *, enabled: bool, interval: float) -> None:
    """Start a DeliveryWorker with the first request, when enabled.

    Not at start-up: `flask` commands build the app too, and a server that forks after
    loading the app would lose a thread started before the fork.
    """
    if not enabled:
        return
    lock = threading.Lock()

    def start_worker() -> None:
        if "webhook_worker" in app.extensions:
            return
        with lock:
            if "webhook_worker" not in app.extensions:
                worker = DeliveryWorker(app, interval)
                app.extensions["webhook_worker"] = worker
                worker.start()

    app.before_request(start_worker)
