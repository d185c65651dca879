"""Builders for domain objects and test media, in one place. They go through the services,
so the rows they make are the rows production makes."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from PIL import Image, ImageDraw

from consent.accounts.service import create_account, create_api_key
from consent.extensions import db


def api_key(scopes: tuple[str, ...] = ("verify", "consents:write"), *, days: int = 800) -> str:
    account = create_account(
        email=f"clinician{random.randrange(10**9)}@hospital.test",
        display_name="Dr Test",
        role="clinician",
    )
    issued = create_api_key(name="test", scopes=list(scopes), days=days, account=account)
    db.session.commit()
    return issued.secret


def admin_key(scopes: tuple[str, ...] = ("consents:write",)) -> str:
    """A key of an administrator's account (erasure needs one)."""
    account = create_account(
        email=f"admin{random.randrange(10**9)}@hospital.test", display_name="Admin", role="admin"
    )
    issued = create_api_key(name="admin", scopes=list(scopes), days=30, account=account)
    db.session.commit()
    return issued.secret


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def photo(seed: int, size: tuple[int, int] = (640, 480), quality: int = 92) -> bytes:
    """A JPEG with structure (shapes on a gradient), unlike noise, as a real photo has."""
    rng = random.Random(seed)
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    width, height = size
    for y in range(height):
        shade = int(255 * y / height)
        draw.line([(0, y), (width, y)], fill=(shade, rng.randrange(256) // 4, 255 - shade))
    for _ in range(12):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(40, width // 2), y0 + rng.randrange(40, height // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
    return jpeg(image, quality)


def jpeg(image: Image.Image, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def reencode(data: bytes, *, quality: int, scale: float = 1.0) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
        if scale != 1.0:
            image = image.resize(
                (int(image.width * scale), int(image.height * scale)), Image.Resampling.LANCZOS
            )
        return jpeg(image, quality)


def scan_pdf(marker: str = "SignedPaperForm0001") -> bytes:
    """A small, valid PDF as a scanner makes one: a page, and ``marker`` in its metadata (stored
    uncompressed, so a test can look for it on disk)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": marker})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def scan_png(size: tuple[int, int] = (300, 400)) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 230).save(buffer, "PNG")
    return buffer.getvalue()


def signature_strokes(points: int = 40) -> str:
    """A drawn signature as signature_pad's toData() gives it: a wavy line with times."""
    import json

    return json.dumps(
        [
            {
                "points": [
                    {
                        "x": 10 + 200 * i / points,
                        "y": 50 + 20 * ((i % 6) - 3),
                        "time": 1_700_000_000_000 + 1200 * i / points,
                    }
                    for i in range(points)
                ]
            }
        ]
    )


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Flow:
    """The API walk a clinician's system makes, step by step, asserting each status."""

    def __init__(self, client: FlaskClient, key: str) -> None:
        self.client = client
        self.headers = auth(key)

    def patient(self, record_number: str | None = None, **overrides: Any) -> str:
        body = {
            "record_number": record_number or f"MRN{random.randrange(10**12)}",
            "name": "Jeanne Martin",
            "birth_date": "1948-03-09",
            **overrides,
        }
        response = self.client.post("/api/v1/patients", json=body, headers=self.headers)
        assert response.status_code == 201, response.json
        return str(response.json["id"])

    def media(self, patient_id: str, data: bytes, name: str = "photo.jpg") -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/media",
            data={
                "patient_id": patient_id,
                "description": "wound, day 3",
                "file": (io.BytesIO(data), name),
            },
            headers=self.headers,
        )
        assert response.status_code == 201, response.json
        return dict(response.json)

    def open_request(
        self, patient_id: str, media_ids: list[str], uses: list[dict[str, Any]], **overrides: Any
    ) -> dict[str, Any]:
        """POST /api/v1/requests; the whole answer (id, status, signing_url)."""
        body = {
            "patient_id": patient_id,
            "media_ids": media_ids,
            "form": "media-publication",
            "language": "en",
            "uses": uses,
            "expires_at": in_days(365),
            **overrides,
        }
        response = self.client.post("/api/v1/requests", json=body, headers=self.headers)
        assert response.status_code == 201, response.json
        return dict(response.json)

    def request(
        self, patient_id: str, media_ids: list[str], uses: list[dict[str, Any]], **overrides: Any
    ) -> str:
        return str(self.open_request(patient_id, media_ids, uses, **overrides)["id"])

    def decide(self, request_id: str, choices: dict[str, bool], **overrides: Any) -> dict[str, Any]:
        body = {
            "signer": {"role": "patient"},
            "choices": [{"purpose": p, "granted": g} for p, g in choices.items()],
            "method": "tablet",
            **overrides,
        }
        response = self.client.post(
            f"/api/v1/requests/{request_id}/decision", json=body, headers=self.headers
        )
        assert response.status_code == 201, response.json
        return dict(response.json)

    def consent(
        self,
        data: bytes,
        choices: dict[str, bool],
        channels: dict[str, list[str]] | None = None,
        patient_id: str | None = None,
        **request_overrides: Any,
    ) -> dict[str, Any]:
        """Patient, media, request and decision in one go; returns the decision's answer."""
        patient_id = patient_id or self.patient()
        media = self.media(patient_id, data)
        channels = channels or {}
        uses = [{"purpose": p, "channels": channels.get(p, [])} for p in choices]
        request_id = self.request(patient_id, [media["id"]], uses, **request_overrides)
        decision = self.decide(request_id, choices)
        decision["media"] = media
        decision["patient_id"] = patient_id
        return decision

    def paper(
        self,
        request_id: str,
        choices: dict[str, str],
        scan: bytes,
        name: str = "scan.pdf",
        **fields: str,
    ) -> Any:
        """POST /api/v1/requests/<id>/paper; the response, whatever its status."""
        form: dict[str, Any] = {**choices, **fields, "scan": (io.BytesIO(scan), name)}
        return self.client.post(
            f"/api/v1/requests/{request_id}/paper", data=form, headers=self.headers
        )

    def verify(self, sha256: str, purpose: str, channel: str | None = None) -> dict[str, Any]:
        query = {"sha256": sha256, "purpose": purpose}
        if channel:
            query["channel"] = channel
        response = self.client.get("/api/v1/verify", query_string=query, headers=self.headers)
        assert response.status_code == 200, response.json
        return dict(response.json)

    def verify_upload(
        self, data: bytes, purpose: str, channel: str | None = None
    ) -> dict[str, Any]:
        form: dict[str, Any] = {"purpose": purpose, "file": (io.BytesIO(data), "upload.jpg")}
        if channel:
            form["channel"] = channel
        response = self.client.post("/api/v1/verify", data=form, headers=self.headers)
        assert response.status_code == 200, response.json
        return dict(response.json)


def comprehension_answers(
    form_id: str = "media-publication", language: str = "en"
) -> dict[str, str]:
    """The right answer to each comprehension question of a form version."""
    import json

    from sqlalchemy import select

    from consent.forms.models import FormVersion

    definition = db.session.scalar(
        select(FormVersion.definition).filter_by(form_id=form_id, language=language)
    )
    assert definition is not None
    return {q["key"]: q["correct"] for q in json.loads(definition)["comprehension"]}
