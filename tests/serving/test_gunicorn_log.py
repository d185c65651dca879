"""gunicorn's own messages, logged inside a worker once the service is loaded, come out whole.

consent.web.requestlog once turned off ``logging.logProcesses`` for the whole process; gunicorn's
format prints ``%(process)d``, so every message a worker logged after loading the app (its exit
above all) failed with ``--- Logging error ---`` and a traceback instead of the message.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from bench.common import ROOT, Gunicorn, Instance, free_port

CONFIG = str(ROOT / "deploy" / "gunicorn.conf.py")


def stop_a_worker_and_read_the_log(server: Gunicorn) -> str:
    server.start()
    worker = server.worker_pids()[0]
    os.kill(worker, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and worker in server.worker_pids():
        time.sleep(0.1)
    server.wait_up()  # the master booted a new worker, and logged it
    server.stop()
    return Path(server._log.name).read_text()


@pytest.mark.slow
@pytest.mark.parametrize("config", ["gunicorn defaults", "deploy/gunicorn.conf.py"])
def test_a_stopped_worker_logs_its_exit_without_a_logging_error(
    tmp_path: Path, config: str
) -> None:
    instance = Instance.fresh("gunicorn-log", root=tmp_path)
    extra: tuple[str, ...] = ("--log-level", "info")
    if config != "gunicorn defaults":
        extra = ("-c", CONFIG, *extra)
    server = Gunicorn("consent:create_app()", free_port(), instance.env, workers=1, extra=extra)
    try:
        log = stop_a_worker_and_read_the_log(server)
    finally:
        server.close()
    assert "Worker exiting" in log, log
    assert "Logging error" not in log, log
    assert "Traceback" not in log, log
