"""Every setting the service knows: its CONSENT_* name, default, coercer and meaning.

A name not listed here stops the start (consent.settings.load), so a misspelt variable never
silently does nothing.
"""

from __future__ import annotations

from consent.settings.coerce import (
    database_url,
    http_url,
    http_urls,
    log_level,
    optional,
    rate_limit,
    seconds,
    storage_uri,
    text,
    whole,
)
from consent.settings.outbound import OUTBOUND_SETTINGS
from consent.settings.setting import ENV_PREFIX, MiB, Setting, _s
from consent.settings.sign_on import SIGN_ON_SETTINGS

__all__ = ["ENV_PREFIX", "SETTINGS", "Setting"]

SETTINGS: tuple[Setting, ...] = (
    _s(
        "CONSENT_SECRET_KEY",
        None,
        optional(text(500)),
        "Signs session cookies.",
        secret=True,
        aliases=("SECRET_KEY",),
    ),
    _s(
        "CONSENT_DATABASE_URL",
        None,
        optional(database_url),
        "PostgreSQL or SQLite; by default consent.sqlite3 in the instance folder.",
        secret=True,
        aliases=("SQLALCHEMY_DATABASE_URI",),
    ),
    _s("CONSENT_INSTANCE_PATH", None, optional(text(4000)), "The instance folder."),
    _s(
        "CONSENT_PUBLIC_URL",
        "http://127.0.0.1:5000",
        http_url,
        "The address patients and printed forms use; links and QR codes are built on it.",
    ),
    _s(
        "CONSENT_MAX_MEDIA_BYTES",
        50 * MiB,
        whole(1, 64 * 1024 * MiB),
        "Largest photo or video stored or verified by upload.",
    ),
    _s(
        "CONSENT_UPLOAD_MEMORY_BYTES",
        16 * MiB,
        whole(0, 1024 * MiB),
        "Request bodies up to this size keep their files in memory; larger ones go to disk.",
    ),
    _s(
        "CONSENT_MAX_SCAN_BYTES",
        25 * MiB,
        whole(1, 1024 * MiB),
        "Largest scan of a signed paper form.",
    ),
    _s("CONSENT_MAX_JSON_BYTES", 256 * 1024, whole(1024, 64 * MiB), "Largest JSON body."),
    _s(
        "CONSENT_MAX_IMAGE_PIXELS",
        100_000_000,
        whole(1, 2_000_000_000),
        "Largest image decoded (decompression bombs).",
    ),
    _s(
        "CONSENT_MAX_CHECK_PIXELS",
        24_000_000,
        whole(1, 2_000_000_000),
        "Most pixels decoded to compare an image (verify by upload, the public file check): "
        "JPEG decodes reduced to an eighth, so a 9400x9400 JPEG passes; a PNG or WebP larger "
        "than this gets 413.",
    ),
    _s(
        "CONSENT_IMAGE_DECODES",
        2,
        whole(1, 64),
        "Images decoded at once per worker process; more wait for a slot.",
    ),
    _s(
        "CONSENT_IMAGE_DECODE_WAIT_SECONDS",
        5.0,
        seconds(0, 120),
        "How long a decode waits for a slot before the request gets 503 with Retry-After.",
    ),
    _s(
        "CONSENT_PHASH_MAX_DISTANCE",
        6,
        whole(0, 7),
        "Hamming distance (of 64 bits) under which a re-encoded image still matches; the band "
        "index finds every match up to 7.",
    ),
    _s("CONSENT_KEYS_DIR", "keys", text(4000), "Signing and master keys (under the instance)."),
    _s("CONSENT_MEDIA_DIR", "media", text(4000), "Encrypted media (under the instance)."),
    _s(
        "CONSENT_SIGNING_KEYS",
        None,
        optional(text(10_000)),
        "Signing key seeds, base64, comma separated, newest last, instead of keys/.",
        secret=True,
    ),
    _s(
        "CONSENT_NEXT_SIGNING_KEYS",
        None,
        optional(text(10_000)),
        "A seed published and verifying but not yet signing (rotation across nodes), base64.",
        secret=True,
    ),
    _s(
        "CONSENT_KEY_NAME",
        None,
        optional(text(200)),
        "Signed-note name of keys given in the environment.",
    ),
    _s(
        "CONSENT_LOG_ORIGIN",
        None,
        optional(text(200)),
        "The log's origin line in checkpoints; by default the signing keys' name.",
    ),
    _s(
        "CONSENT_MASTER_KEY",
        None,
        optional(text(200)),
        "The vault's master key, base64.",
        secret=True,
    ),
    _s(
        "CONSENT_DOCUMENT_SIGNING_CERT",
        "document-signing-cert.pem",
        text(4000),
        "X.509 certificate (PEM, then its chain) that seals receipt PDFs (PAdES), under the "
        "keys folder unless absolute; with its key absent too, PDFs are not sealed.",
    ),
    _s(
        "CONSENT_DOCUMENT_SIGNING_KEY",
        "document-signing-key.pem",
        text(4000),
        "The certificate's private key (PEM, unencrypted, RSA, mode 0600), under the keys folder "
        "unless absolute.",
    ),
    _s(
        "CONSENT_TSA_URLS",
        None,
        optional(http_urls),
        "RFC 3161 timestamping authorities, comma separated, tried in order: they timestamp "
        "each checkpoint and each PDF seal.",
    ),
    _s(
        "CONSENT_TSA_CA_CERTS",
        None,
        optional(text(4000)),
        "PEM file of the root certificates the timestamping authorities' tokens must chain to.",
    ),
    _s(
        "CONSENT_TSA_TIMEOUT_SECONDS",
        10,
        seconds(0.1, 120),
        "Seconds to wait for a timestamping authority's answer.",
    ),
    _s("CONSENT_API_KEY_DAYS", 365, whole(1, 3650), "Days an API key lives by default."),
    _s(
        "CONSENT_CONSENT_DAYS",
        730,
        whole(1, 3650),
        "Days a new request's consent lasts unless the clinician picks another end date.",
    ),
    _s(
        "CONSENT_API_KEY_CACHE_SECONDS",
        5,
        seconds(0, 3600),
        "Seconds a worker trusts a key it looked up: a revocation reaches every worker within.",
    ),
    _s(
        "CONSENT_CONTROLLER",
        "Demo Hospital",
        text(200),
        "The data controller named on forms and in receipts.",
    ),
    _s(
        "CONSENT_DPO_CONTACT",
        "dpo@hospital.example",
        text(200),
        "The data protection officer's contact.",
    ),
    _s("CONSENT_JURISDICTION", "FR", text(10), "The jurisdiction named in receipts."),
    _s(
        "CONSENT_SCREEN_PLACES",
        None,
        optional(text(4000)),
        "Hospital, site and ward names (separated by ';') that screening finds in case texts "
        "as identifying places, e.g. 'Hôpital Saint-Louis;Service de dermatologie'.",
    ),
    _s("CONSENT_LOG_LEVEL", "INFO", log_level, "Level of the JSON logs on stderr."),
    _s("CONSENT_SESSION_HOURS", 10, whole(1, 24 * 7), "Hours a clinician's log-in lasts."),
    _s(
        "CONSENT_INVITATION_HOURS",
        72,
        whole(1, 24 * 30),
        "Hours an account invitation's link works (an administrator can send a new one).",
    ),
    _s(
        "CONSENT_SIGNING_LINK_MINUTES",
        30,
        whole(1, 24 * 60),
        "Minutes a tablet signing link stays valid.",
    ),
    _s(
        "CONSENT_PDF_CACHE_BYTES",
        64 * MiB,
        whole(0, 4096 * MiB),
        "Bytes of rendered PDFs each worker keeps in memory.",
    ),
    _s(
        "CONSENT_RATELIMIT_STORAGE_URI",
        "memory://",
        storage_uri,
        "Where rate-limit counters live: memory:// per worker, redis://... shared.",
    ),
    _s(
        "CONSENT_TRUSTED_PROXIES",
        0,
        whole(0, 5),
        "Reverse proxies in front (nginx: 1): the client's address from X-Forwarded-For.",
    ),
    _s("CONSENT_RATELIMIT_VERIFY", "1200 per minute", rate_limit, "Verify calls per API key."),
    _s(
        "CONSENT_RATELIMIT_LOGIN",
        "10 per minute;50 per hour",
        rate_limit,
        "Failed log-ins per address (per account and address pair: a growing delay, "
        "consent.accounts.logins).",
    ),
    _s(
        "CONSENT_RATELIMIT_WITHDRAWAL_CODE",
        "5 per minute;30 per hour",
        rate_limit,
        "Wrong withdrawal codes per address.",
    ),
    _s(
        "CONSENT_RATELIMIT_SIGNING_LINK",
        "20 per minute;100 per hour",
        rate_limit,
        "Signing links that fail to open, per address.",
    ),
    _s(
        "CONSENT_RATELIMIT_FILE_CHECK",
        "10 per minute;60 per hour",
        rate_limit,
        "Files checked on the public page, per address.",
    ),
    _s(
        "CONSENT_MAX_FILE_CHECK_BYTES",
        50 * MiB,
        whole(1, 64 * 1024 * MiB),
        "Largest file the public verification page checks.",
    ),
    _s(
        "CONSENT_WITHDRAWAL_SESSION_MINUTES",
        15,
        whole(1, 24 * 60),
        "Minutes a patient's withdrawal page stays open after the code was typed.",
    ),
    _s(
        "CONSENT_TABLET_DONE_MINUTES",
        3,
        whole(1, 60),
        "Minutes the tablet's last page (withdrawal code, receipt) stays open once the consent "
        "is confirmed; then the patient's session ends by itself (the page says when).",
    ),
    *OUTBOUND_SETTINGS,
    *SIGN_ON_SETTINGS,
)
_BY_NAME = {setting.name: setting for setting in SETTINGS}
_BY_ALIAS = {alias: setting for setting in SETTINGS for alias in setting.aliases}
