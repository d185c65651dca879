"""The current app's runtime and settings, for the entry points (pages, API, commands).

Domains and workflows never call these: they are handed what they use.
"""

from __future__ import annotations

from flask import Flask, current_app

from consent.runtime import Runtime
from consent.settings import Settings

EXTENSION = "consent"


def runtime(app: Flask | None = None) -> Runtime:
    """The current app's runtime: settings, keys, vault, file store, public links."""
    value: Runtime = (app or current_app).extensions[EXTENSION]
    return value


def settings(app: Flask | None = None) -> Settings:
    return runtime(app).settings


def replace_settings(app: Flask, **changes: object) -> None:
    """Change settings of a running app (tests): by CONSENT_* name or attribute."""
    current = runtime(app)
    app.extensions[EXTENSION] = current.with_settings(current.settings.replace(**changes))
