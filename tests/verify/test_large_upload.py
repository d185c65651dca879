"""Verify by upload of a large video: the body is spooled to disk and hashed in chunks, never
held in memory, and the request body limit follows the media limit."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bench.client import Multipart
from consent import create_app
from consent.settings import MULTIPART_ALLOWANCE
from tests.conftest import LiveSettings, dispose
from tests.factories import Flow, api_key

MIB = 1024 * 1024
VIDEO_BYTES = 96 * MIB
# Far below the file's size: a server that read the upload whole would pass it.
MEMORY_BOUND = 40 * MIB


def write_video(path: Path, size: int) -> str:
    """An MP4 (an ftyp box, then one mdat box of random bytes) of ``size`` bytes; its SHA-256."""
    ftyp = b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00isomiso2mp41"
    mdat = (1).to_bytes(4, "big") + b"mdat" + (size - len(ftyp)).to_bytes(8, "big")
    digest = hashlib.sha256()
    with path.open("wb") as sink:
        for piece in (ftyp, mdat):
            sink.write(piece)
            digest.update(piece)
        left = size - len(ftyp) - len(mdat)
        while left:
            chunk = os.urandom(min(MIB, left))
            sink.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/self/status")


@pytest.mark.skipif(
    not os.path.exists("/proc/self/clear_refs"), reason="measures memory through Linux's /proc"
)
def test_large_video_is_hashed_right_without_being_held_in_memory(
    app: Flask,
    client: FlaskClient,
    tmp_path: Path,
    configure: LiveSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flow = Flow(client, api_key(("verify",)))
    video = tmp_path / "video.mp4"
    expected = write_video(video, VIDEO_BYTES)
    upload = Multipart({"purpose": "teaching"}, "video.mp4", "video/mp4", video)
    body = tmp_path / "body"
    with body.open("wb") as sink:
        for chunk in upload.chunks():
            sink.write(chunk)
    configure["CONSENT_MAX_MEDIA_BYTES"] = 2 * VIDEO_BYTES
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2 * VIDEO_BYTES + MULTIPART_ALLOWANCE)
    with body.open("rb") as stream:
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM starts again from here
        before = peak_kib()
        response = client.post(
            "/api/v1/verify",
            input_stream=stream,
            content_length=upload.length,
            content_type=upload.content_type,
            headers=flow.headers,
        )
        grown = (peak_kib() - before) * 1024
    assert response.status_code == 200, response.json
    answer = response.json["answer"]
    assert answer["media_sha256"] == expected
    assert answer["decision"] == "unknown"
    assert grown < MEMORY_BOUND, f"memory grew by {grown / MIB:.0f} MiB for a 96 MiB upload"


def test_the_body_limit_follows_the_media_limit(instance_dir: Path, database_url: str) -> None:
    raised = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(instance_dir),
            "SQLALCHEMY_DATABASE_URI": database_url,
            "CONSENT_MAX_MEDIA_BYTES": 600 * MIB,
        }
    )
    chosen = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(instance_dir),
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MAX_CONTENT_LENGTH": 10 * MIB,
        }
    )
    try:
        assert raised.config["MAX_CONTENT_LENGTH"] == 600 * MIB + MULTIPART_ALLOWANCE
        assert chosen.config["MAX_CONTENT_LENGTH"] == 10 * MIB  # an explicit bound is kept
    finally:
        dispose(raised)
        dispose(chosen)


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    app: Flask, client: FlaskClient
) -> None:
    flow = Flow(client, api_key(("verify",)))
    # By default: the media limit (50 MiB, above the scans' 25 MiB) plus the allowance.
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 50 * MIB + MULTIPART_ALLOWANCE
    upload = Multipart({"purpose": "teaching"}, "video.mp4", "video/mp4", b"\x00" * 16)
    response = client.post(
        "/api/v1/verify",
        input_stream=io.BytesIO(b"".join(upload.chunks())),
        content_type=upload.content_type,
        headers=flow.headers,
        # Announced, not sent: the refusal must come from the header alone.
        environ_overrides={"CONTENT_LENGTH": str(limit + 1)},
    )
    assert response.status_code == 413
    assert response.json["code"] == 413
