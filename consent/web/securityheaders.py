"""Security headers on every response, pages and API alike (a WSGI layer, so that the verify
fast path gets them too).

- Content-Security-Policy: scripts, styles and everything else only from the service itself; no
  inline script or style anywhere in the templates (tested by the browser tests, which run with
  the policy enforced); no framing (clickjacking a consent page); forms post only to the service.
- HSTS when the service is reached over TLS (directly, or as configured in CONSENT_PUBLIC_URL
  behind a proxy).
- Referrer-Policy same-origin: a signing link or a withdrawal page never leaks to another site
  through a Referer header, and the service's own forms carry the same-origin Referer that
  Flask-WTF's CSRF check demands over https (WTF_CSRF_SSL_STRICT, on: a forged POST from
  another origin, or one with its Referer stripped, is refused besides the token check). No
  MIME sniffing, no camera, microphone or location.
- API answers are health data: ``Cache-Control: no-store`` unless the view chose otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=63072000; includeSubDomains"

_ALWAYS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SecurityHeaders:
    def __init__(self, wsgi_app: WSGIApp, *, public_url_is_https: bool) -> None:
        self.wsgi_app = wsgi_app
        self.public_url_is_https = public_url_is_https

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        https = self.public_url_is_https or environ.get("wsgi.url_scheme") == "https"
        api = environ.get("PATH_INFO", "").startswith("/api/")

        def start_with_headers(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            present = {name.lower() for name, _ in headers}
            added = [header for header in _ALWAYS if header[0].lower() not in present]
            if https and "strict-transport-security" not in present:
                added.append(("Strict-Transport-Security", HSTS))
            if api and "cache-control" not in present:
                added.append(("Cache-Control", "no-store"))
            return start_response(status, [*headers, *added], *args)

        return self.wsgi_app(environ, start_with_headers)
