"""gunicorn settings for one application node behind nginx (deploy/nginx/consent.conf).

    gunicorn -c deploy/gunicorn.conf.py

Read by gunicorn at start and again on SIGHUP (``systemctl reload consent-web``). Two settings
come from the environment, so that one file serves every node: GUNICORN_BIND (where nginx
reaches this node, default 127.0.0.1:8000) and WEB_CONCURRENCY (worker processes, which
gunicorn itself also reads). Neither starts with CONSENT_: the service reads every CONSENT_*
variable as one of its own settings.

GUNICORN_ENV_FILE names the environment file (consent-web.service: /etc/consent/consent.env).
systemd reads it only when the unit starts, and a reload keeps the master's environment, which
new workers inherit: so this file reads it again on every SIGHUP, and a changed setting (a new
signing key appended to CONSENT_SIGNING_KEYS, say) reaches the new workers without a restart.
A variable removed from the file stays set until a restart.
"""

from __future__ import annotations

import os
import shutil
from typing import Any


def _read_environment_file(path: str) -> dict[str, str]:
    """NAME=value lines, a value in double quotes or not, as systemd reads the simple cases."""
    values = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            name, _, value = line.partition("=")
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            values[name.strip()] = value
    return values


if os.environ.get("GUNICORN_ENV_FILE"):
    os.environ.update(_read_environment_file(os.environ["GUNICORN_ENV_FILE"]))

# Metrics (GET /metrics): each worker writes its counts into this node's own directory, and a
# scrape adds up every worker's files (prometheus_client's multiprocess mode). It must be set
# before a worker imports the service; consent-web.service sets it (RuntimeDirectory=). Two
# nodes on one host need two directories.
METRICS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server: Any) -> None:
    """When the node starts (not on a reload): counts of an earlier run are gone."""
    if METRICS_DIR:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
        os.makedirs(METRICS_DIR, mode=0o700)


def child_exit(server: Any, worker: Any) -> None:
    """A worker exited: its counters stay in the sums, its live gauges go."""
    if METRICS_DIR:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, METRICS_DIR)


wsgi_app = "consent:create_app()"
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]

# Sync workers: nginx reads each request whole before it passes it on and reads each answer
# whole before it sends it (proxy_request_buffering and proxy_buffering on), so a worker is
# never held by a slow client, which is the case gunicorn's documentation ("Deploying
# Gunicorn", "Choosing a worker type") names for sync workers. The work is CPU (hashing,
# signing, PDFs) and PostgreSQL round trips, not long waits that threads would overlap.
worker_class = "sync"
# gunicorn's documentation suggests (2 x cores) + 1 as a starting point.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)

# A worker silent for this long is killed and replaced. The longest legitimate request is a
# verify by upload of the largest video (CONSENT_MAX_MEDIA_BYTES, 50 MiB: hashed and scanned in
# a few seconds) or a receipt PDF with many images; nginx's proxy_read_timeout (75 s) is longer,
# so that gunicorn's limit is the one that acts.
timeout = 60
# On SIGTERM (stop) and SIGHUP (reload), workers finish the request in hand for up to this long.
graceful_timeout = 30
# Sync workers close each connection after its answer; nginx opens one per request.
keepalive = 2
# The application is imported in each worker, not in the master: SIGHUP then loads new code
# (an upgrade without a restart), and no database connection is shared across fork().
preload_app = False

# Header limits, the same as nginx's (large_client_header_buffers 4 8k): a request line or a
# header line nginx lets through, gunicorn accepts (8190 is gunicorn's largest request line).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# The service reads X-Forwarded-For and X-Forwarded-Proto itself (CONSENT_TRUSTED_PROXIES=1,
# werkzeug's ProxyFix), from one proxy. gunicorn would also set the scheme from
# X-Forwarded-Proto when the peer is listed here (its default is 127.0.0.1 and ::1); both read
# the same header from the same nginx, so they agree. Keep nginx the only peer of this port.
forwarded_allow_ips = "127.0.0.1,::1"

# gunicorn 23+ opens a control socket in the user's home (~/.gunicorn/gunicorn.ctl); two nodes on
# one host would fight over it, and the units use signals instead. Ignored by older versions.
control_socket_disable = True

# Logs: every line on stderr is a JSON object (journald keeps them). The service writes one line
# per request itself (consent.web.requestlog), so gunicorn's access log stays off. gunicorn's own
# messages (worker boots, timeouts, exits) use the service's JSON formatter too, so that one
# parser reads every line.
accesslog = None
errorlog = "-"
loglevel = "info"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "consent.web.requestlog.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
    # No root handler: the service's "consent" loggers have their own and propagate.
    "root": {"level": "WARNING", "handlers": []},
}

# Uploads above CONSENT_UPLOAD_MEMORY_BYTES are spooled to TMPDIR (see the environment file);
# gunicorn's worker heartbeat files go to /dev/shm so that a slow disk does not kill workers
# (gunicorn's documentation, "Blocking os.fchmod").
# Only gunicorn's own heartbeat files, created with mkstemp (private names, mode 0600).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
