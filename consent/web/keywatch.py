"""Every worker follows the key file: a rotation made by one worker (the admin page) or by the
CLI is taken up by every worker of this instance within a second, without a reload.

Without it, the workers that did not rotate kept signing with the retired key and could not
check the receipts the new key signed: their verify answers failed until someone reloaded
them. The file is looked at (one ``stat``) at most once a second per worker; the keyring is
read again only when the file changed. Keys given in the environment (CONSENT_SIGNING_KEYS)
change only with a restart, and are not watched.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time

from flask import Flask

from consent.crypto.keyring import SIGNING_KEYS_FILE, Keyring
from consent.errors import ConfigurationError
from consent.runtime import keys_dir, load_keyring
from consent.web.context import EXTENSION, runtime

EXTENSION_NAME = "consent.keywatch"
# How often a worker looks at the key file, in seconds.
CHECK_EVERY = 1.0

log = logging.getLogger("consent.keys")


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


class KeyFileWatch:
    """The app's keyring, read again when the key file changes."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        settings = runtime(app).settings
        self._path = None if settings.signing_keys else str(keys_dir(settings) / SIGNING_KEYS_FILE)
        self._stamp = _stamp(self._path) if self._path else None
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def keyring(self) -> Keyring:
        """The current keyring; takes up a changed key file first (at most once a second)."""
        if self._path is not None and time.monotonic() - self._checked >= CHECK_EVERY:
            self._refresh()
        return runtime(self.app).keyring

    def _refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._checked < CHECK_EVERY:
                return  # another thread looked while this one waited
            self._checked = time.monotonic()
            stamp = _stamp(self._path or "")
            if stamp is None or stamp == self._stamp:
                return
            current = runtime(self.app)
            try:
                keyring = load_keyring(current.settings)
            except ConfigurationError as exc:
                # A file half written or made readable by others: keep the keys in use, and say
                # so; the next change is looked at again.
                log.error("signing key file changed but cannot be read: %s", exc)
                return
            self._stamp = stamp
            if _ids(keyring) != _ids(current.keyring):
                self.app.extensions[EXTENSION] = dataclasses.replace(current, keyring=keyring)
                log.info("signing keys read again: %s signs", keyring.active.key_id)


def _ids(keyring: Keyring) -> list[tuple[str, str]]:
    return [(key.key_id, key.status) for key in keyring.public_keys()]


def init_app(app: Flask) -> KeyFileWatch:
    """Watch the key file of ``app`` (after its runtime is installed)."""
    watch = KeyFileWatch(app)
    app.extensions[EXTENSION_NAME] = watch

    @app.before_request
    def follow_the_key_file() -> None:
        watch.keyring()

    return watch


def current_keyring(app: Flask) -> Keyring:
    """The keyring, through the watch when the app has one (the fast path's way in)."""
    watch: KeyFileWatch | None = app.extensions.get(EXTENSION_NAME)
    return watch.keyring() if watch is not None else runtime(app).keyring
