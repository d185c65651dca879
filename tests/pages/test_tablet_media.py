"""Light pages (issue 21): the tablet keeps each photo in its own private cache for the signing
session, and a video is served in ranges so that it can start playing before it has arrived."""

from __future__ import annotations

from typing import Any

from flask import Flask

from consent.web.context import runtime
from tests.factories import photo
from tests.pages.test_tablet_flow import clinician, opened

__all__ = ["clinician", "opened"]  # fixtures


def test_the_tablet_caches_a_photo_privately_for_the_signing_session(
    app: Flask, opened: dict[str, Any]
) -> None:
    tablet = app.test_client()
    tablet.get(opened["path"])
    image = tablet.get(f"/tablet/media/{opened['media']['id']}")
    assert image.status_code == 200 and image.get_data() == photo(3)
    with app.app_context():
        minutes = runtime().settings.signing_link_minutes
    assert image.headers["Cache-Control"] == f"private, max-age={minutes * 60}"
    assert image.headers["Accept-Ranges"] == "bytes"
    assert int(image.headers["Content-Length"]) == len(photo(3))
    # Without the signing session, nothing (the cache is the browser's own, never shared).
    assert app.test_client().get(f"/tablet/media/{opened['media']['id']}").status_code == 410


def test_ranges_are_served_from_the_decrypted_file(app: Flask, opened: dict[str, Any]) -> None:
    tablet = app.test_client()
    tablet.get(opened["path"])
    url = f"/tablet/media/{opened['media']['id']}"
    whole = photo(3)
    size = len(whole)
    first = tablet.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and first.get_data() == whole[:100]
    assert first.headers["Content-Range"] == f"bytes 0-99/{size}"
    half = size // 2
    middle = tablet.get(url, headers={"Range": f"bytes={half}-{size + 50}"})
    assert middle.status_code == 206 and middle.get_data() == whole[half:]
    tail = tablet.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.get_data() == whole[-10:]
    beyond = tablet.get(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"
    several = tablet.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.get_data() == whole
