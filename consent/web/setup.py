"""The web layer bound to an app: sessions, error answers, rate limits, logs; then the WSGI
layers around Flask (request log, security headers, the verify fast path, trusted proxies)."""

from __future__ import annotations

from flask import Flask

from consent.settings import Settings
from consent.web.context import EXTENSION as RUNTIME

__all__ = ["RUNTIME", "init_app", "watch_keys", "wrap"]


def init_app(app: Flask, settings: Settings) -> None:
    from consent.media import decoding
    from consent.web import metrics, ratelimits, textinput
    from consent.web.errors import register_error_handlers
    from consent.web.requestlog import configure_logging
    from consent.web.sessions import LazyCookieSessionInterface
    from consent.web.verifylimit import init_verify_limit
    from consent.web.worker import init_worker

    configure_logging(settings.log_level)
    metrics.init_app(app)
    app.session_interface = LazyCookieSessionInterface()
    register_error_handlers(app)
    textinput.init_app(app)
    decoding.configure(
        slots=settings.image_decodes, wait_seconds=settings.image_decode_wait_seconds
    )
    ratelimits.init_app(app, settings)
    init_verify_limit(app, settings)
    init_worker(app, enabled=settings.webhook_worker, interval=settings.webhook_poll_seconds)


def watch_keys(app: Flask) -> None:
    """Every worker follows the key file (consent.web.keywatch); after the runtime is set."""
    from consent.web import keywatch

    keywatch.init_app(app)


def wrap(app: Flask, settings: Settings) -> None:
    """The WSGI layers, outermost last: every request is logged, the fast path's included."""
    from consent.web.fastpath import VerifyFastPath
    from consent.web.requestlog import RequestLog
    from consent.web.securityheaders import SecurityHeaders

    app.wsgi_app = RequestLog(  # type: ignore[method-assign]
        SecurityHeaders(
            VerifyFastPath(app, app.wsgi_app), public_url_is_https=settings.public_url_is_https
        )
    )
    if settings.trusted_proxies:
        # The client's address and scheme from the nearest N proxies' X-Forwarded-For and
        # -Proto. Per-address rate limits count the address this gives: behind a proxy without
        # it, every visitor shares the proxy's counter; trusting headers with no proxy in front
        # would let a client pick its own address.
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]
