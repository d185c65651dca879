"""The settings of what the service sends out: webhooks to publishers (where they may go, how
long to wait, how often to retry) and e-mails to clinicians (the SMTP server)."""

from __future__ import annotations

from consent.settings.coerce import (
    flag,
    networks,
    optional,
    seconds,
    text,
    whole,
)
from consent.settings.setting import Setting, _s

OUTBOUND_SETTINGS: tuple[Setting, ...] = (
    _s(
        "CONSENT_WEBHOOKS_ALLOW_HTTP",
        False,
        flag,
        "Accept http:// webhook endpoints (development and tests only).",
    ),
    _s(
        "CONSENT_WEBHOOKS_ALLOW_NETWORKS",
        (),
        networks,
        "Networks (CIDR, comma-separated) of publishers inside the hospital that webhooks may "
        "reach although they are private; loopback, private, link-local and reserved addresses "
        "are refused otherwise.",
    ),
    _s(
        "CONSENT_WEBHOOK_CA_FILE",
        None,
        optional(text(1000)),
        "A PEM file of certificate authorities to trust for webhook endpoints (an internal CA), "
        "besides the system's.",
    ),
    _s(
        "CONSENT_WEBHOOK_TIMEOUT_SECONDS",
        10,
        seconds(0.1, 120),
        "Seconds to wait for an endpoint's answer.",
    ),
    _s(
        "CONSENT_SMTP_HOST",
        None,
        optional(text(255)),
        "SMTP server for e-mail to staff (withdrawals); none: messages wait in the outbox.",
    ),
    _s("CONSENT_SMTP_PORT", 25, whole(1, 65535), "SMTP server port."),
    _s(
        "CONSENT_SMTP_FROM",
        "consent@localhost",
        text(254),
        "The From address of e-mail to staff.",
    ),
    _s("CONSENT_SMTP_STARTTLS", False, flag, "Upgrade the SMTP connection with STARTTLS."),
    _s("CONSENT_SMTP_USERNAME", None, optional(text(254)), "SMTP log-in name, if any."),
    _s(
        "CONSENT_SMTP_PASSWORD",
        None,
        optional(text(500)),
        "SMTP password, if any.",
        secret=True,
    ),
    _s("CONSENT_WEBHOOK_MAX_ATTEMPTS", 8, whole(1, 50), "Attempts before a delivery is given up."),
    _s(
        "CONSENT_WEBHOOK_BACKOFF_SECONDS",
        120,
        seconds(0, 86_400),
        "Wait after the first failed attempt; doubles after each.",
    ),
    _s(
        "CONSENT_WEBHOOK_BACKOFF_CAP_SECONDS",
        6 * 3600,
        seconds(0, 7 * 86_400),
        "Longest wait between attempts.",
    ),
    _s(
        "CONSENT_WEBHOOK_WORKER",
        False,
        flag,
        "Deliver from a thread in each web worker too (else run `flask deliver --loop`).",
    ),
    _s("CONSENT_WEBHOOK_POLL_SECONDS", 5, seconds(0.05, 3600), "Delivery worker's poll period."),
)
