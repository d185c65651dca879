"""The settings a self-test node gets: deploy/consent.env.example read as systemd reads it,
the few values the self-test changes, and the instance folder the runbook prescribes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from consent.crypto.keyring import SIGNING_KEYS_FILE, write_private_file

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / "deploy" / "consent.env.example"
KEY_NAME = "deploy-selftest.example/consent-log"
# Verify is counted per API key (1200 a minute by default): the throughput runs send tens of
# thousands with one key, so the limit is raised out of their reach, as bench/ does. The
# counting itself (a Redis round trip per call) stays in.
SELFTEST_SETTINGS = {"CONSENT_RATELIMIT_VERIFY": "100000000 per minute"}


def csrf_workaround() -> str:
    """The CSRF line of the runbook's config.py: none any more.

    Over https Flask-WTF wants a Referer from the same origin on every form POST
    (WTF_CSRF_SSL_STRICT); the service's Referrer-Policy is same-origin (issue 17), so browsers
    send one, and the self-test checks the service as it is, with a client that sends a Referer
    exactly when the page's policy lets a browser. Kept so that the checks of older checkouts
    read the same; it returns "" while the policy lets a Referer through.
    """
    from consent.web.securityheaders import _ALWAYS

    policy = dict(_ALWAYS).get("Referrer-Policy")
    return "WTF_CSRF_SSL_STRICT = False\n" if policy == "no-referrer" else ""


def webhook_settings(ca: Path) -> dict[str, str]:
    """The webhook egress settings of issue 17, when this checkout has them: deliveries refuse
    loopback addresses unless allowed, and the self-test's receiver is on 127.0.0.1 with a
    certificate of the throw-away CA. Without them, nothing (SSL_CERT_FILE trusts the CA)."""
    from consent.settings import SETTINGS

    known = {setting.name for setting in SETTINGS}
    wanted = {
        "CONSENT_WEBHOOKS_ALLOW_NETWORKS": "127.0.0.1/32",
        "CONSENT_WEBHOOK_CA_FILE": str(ca),
    }
    return {name: value for name, value in wanted.items() if name in known}


def read_env_file(path: Path) -> dict[str, str]:
    """NAME=value lines (a value may be in double quotes), as systemd's EnvironmentFile reads
    the simple cases; comments and blank lines skipped."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        values[name.strip()] = value
    return values


def write_instance_folder(folder: Path, rate_prefix: str, secrets: dict[str, str] | None) -> None:
    """config.py as the runbook writes it (the CSRF line while needed), with this run's
    rate-limit key prefix; with ``secrets``, also the secret key and the key files (mode 0600) of
    consent.scripts.bootstrap. Without, the node takes its secrets from its environment."""
    # The runbook's config.py (docs/operations.md, "Settings and secrets").
    config = csrf_workaround() + f"RATELIMIT_KEY_PREFIX = {rate_prefix!r}\n"
    if secrets is not None:
        config = f"SECRET_KEY = {secrets['secret_key']!r}\n" + config
        created = datetime.now(UTC).isoformat(timespec="seconds")
        document = {"name": KEY_NAME, "keys": [{"seed": secrets["seed"], "created_at": created}]}
        write_private_file(folder / "keys" / SIGNING_KEYS_FILE, json.dumps(document).encode())
        write_private_file(folder / "keys" / "master.key", secrets["master"].encode())
    write_private_file(folder / "config.py", config.encode())
