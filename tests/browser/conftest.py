"""Browser fixtures: the app served on 127.0.0.1 in a thread, and Debian's Chromium driven by
Playwright (never a browser of Playwright's own: it cannot be downloaded here). Tests skip,
saying why, when /usr/bin/chromium is absent."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.browser.helpers import remember_full_size

CHROMIUM = Path("/usr/bin/chromium")
# Headless as root in a sandboxed machine with no network but the loopback: without the
# background-networking flags Chromium keeps dialling Google's hosts and is refused.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
# A 10-inch tablet in both orientations, in CSS pixels at 100% zoom.
VIEWPORTS = {
    "portrait": {"width": 768, "height": 1024},
    "landscape": {"width": 1024, "height": 768},
}


class _ServerErrors:
    """WSGI middleware that notes every request answered with a 5xx status or an exception.

    The browser only shows an error page, and the app's own handler turns any exception into a
    JSON 500 (logging where it happened, which pytest shows with the failure).
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.errors: list[str] = []

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"

        def noting_start_response(status: str, *args: Any) -> Any:
            if status[:1] == "5":
                self.errors.append(f"{request} -> {status}")
            return start_response(status, *args)

        try:
            return self.app(environ, noting_start_response)
        except Exception:
            self.errors.append(f"{request} raised:\n{traceback.format_exc()}")
            raise


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test app over HTTP on a free loopback port, for one test; yields the base URL.

    Function-scoped like ``app``, whose tables are emptied per test. Each request runs in a
    server thread with its own app context, hence its own database session; the test's own
    session sees what the browser wrote once committed (``db.session.expire_all()`` first if
    it holds objects loaded earlier). Fails the test at teardown when a request was answered
    with a 5xx status.
    """
    errors = _ServerErrors(app)
    server = make_server("127.0.0.1", 0, errors, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live_server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    if errors.errors:
        pytest.fail("the live server failed:\n" + "\n".join(errors.errors), pytrace=False)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, launched once for the browser tests (a Playwright Browser).

    Package-scoped, not session-scoped: Playwright's sync API keeps an event loop running in
    the main thread while it is started, and the tests after this package must not run inside
    it (asyncio.run, which pyHanko's sealing uses, refuses to)."""
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium); browser tests need it"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # launch() gives Chromium a new empty --user-data-dir of its own and deletes it on close
        # (Playwright refuses that flag in args: it belongs to launch_persistent_context).
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def tablet_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """A factory of pages as on a tablet: ``tablet_page(orientation, zoom, *, locale)``.

    ``orientation`` is "portrait" (768x1024) or "landscape" (1024x768); ``zoom`` (1.0 = 100%)
    opens the page as a browser zoomed that far: the CSS viewport divided by it and the
    device-pixel ratio multiplied by it, so screenshots keep the tablet's pixels. Each call
    opens a new browser context (own cookies), closed after the test.
    """
    contexts: list[Any] = []
    # The pages run with the service's Content-Security-Policy enforced: anything it refuses
    # (an inline script or style, a foreign resource) is a failure of the test.
    refused: list[str] = []

    def open_page(
        orientation: str = "portrait", zoom: float = 1.0, *, locale: str = "en-GB"
    ) -> Any:
        if orientation not in VIEWPORTS:
            raise ValueError(f"orientation is 'portrait' or 'landscape', not {orientation!r}")
        if zoom <= 0:
            raise ValueError(f"zoom must be positive, not {zoom}")
        full = VIEWPORTS[orientation]
        context = browser.new_context(
            viewport={"width": round(full["width"] / zoom), "height": round(full["height"] / zoom)},
            device_scale_factor=zoom,
            has_touch=True,
            is_mobile=False,
            locale=locale,
        )
        contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                refused.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        remember_full_size(page, full)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not refused, f"the Content-Security-Policy refused: {refused}"
