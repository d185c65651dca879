"""Builders for domain objects and test media, in one place. They go through the services,
so the rows they make are the rows production makes."""

from __future__ import annotations

import io
import random
import re
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from PIL import Image, ImageDraw

from consent.accounts.keys import IssuedApiKey, create_api_key
from consent.accounts.models import Account, Team
from consent.accounts.service import create_account
from consent.accounts.teams import add_member, create_integration, create_team
from consent.db import db

# The team test objects belong to unless a test names another.
WARD = "ward-a"


def care_team(slug: str = WARD) -> Team:
    """The team with this short name, made the first time it is asked for."""
    from sqlalchemy import select

    found = db.session.scalar(select(Team).where(Team.slug == slug))
    return found or create_team(db.session, slug=slug, name=f"Team {slug}")


def staff(role: str = "clinician", *, team_slug: str = WARD, name: str = "Dr Test") -> Account:
    """A new account with ``role``, a member of the team."""
    account = create_account(
        db.session,
        email=f"{role}{random.randrange(10**9)}@hospital.test",
        display_name=name,
        role=role,
    )
    add_member(db.session, account=account, team=care_team(team_slug))
    db.session.flush()
    return account


def member(
    *, email: str, display_name: str, role: str = "clinician", team_slug: str = WARD
) -> Account:
    """``create_account`` for tests: the account, a member of the team."""
    account = create_account(db.session, email=email, display_name=display_name, role=role)
    add_member(db.session, account=account, team=care_team(team_slug))
    db.session.flush()
    return account


def issue_key(
    *,
    name: str,
    scopes: list[str],
    days: int,
    account: Account | None = None,
    team_slug: str = WARD,
) -> IssuedApiKey:
    """``create_api_key`` for tests: for the account, or else for a new integration of the
    team (a publishing tool, say)."""
    holder = (
        {"account": account}
        if account is not None
        else {"integration": create_integration(db.session, team=care_team(team_slug), name=name)}
    )
    return create_api_key(
        db.session, name=name, scopes=scopes, days=days, team=care_team(team_slug), **holder
    )


def key_for(
    account: Account, scopes: tuple[str, ...], *, team_slug: str = WARD, days: int = 800
) -> str:
    issued = create_api_key(
        db.session,
        name="test",
        scopes=list(scopes),
        days=days,
        team=care_team(team_slug),
        account=account,
    )
    db.session.commit()
    return issued.secret


def api_key(
    scopes: tuple[str, ...] = ("verify", "consents:write"), *, days: int = 800, team: str = WARD
) -> str:
    """A key of a new clinician of ``team``."""
    return key_for(staff(team_slug=team), scopes, team_slug=team, days=days)


def admin_key(
    scopes: tuple[str, ...] = ("consents:write",), *, team: str = WARD, days: int = 30
) -> str:
    """A key of an administrator's account (erasure needs one)."""
    return key_for(staff("admin", team_slug=team, name="Admin"), scopes, team_slug=team, days=days)


def auditor_key() -> str:
    """A key of an auditor: the pseudonymous records of every team."""
    return key_for(staff("auditor", name="Auditor"), ("audit",), days=30)


def integration_key(
    scopes: tuple[str, ...] = ("consents:write",), *, team: str = WARD, name: str = "Portal"
) -> str:
    """A key of a system registered for ``team`` (receipts name the integration)."""
    integration = create_integration(db.session, team=care_team(team), name=name)
    issued = create_api_key(
        db.session,
        name=name,
        scopes=list(scopes),
        days=30,
        team=care_team(team),
        integration=integration,
    )
    db.session.commit()
    return issued.secret


def evidence(document: bytes | None = None, **overrides: str) -> dict[str, str]:
    """The evidence of a decision collected elsewhere, as the JSON decision route takes it."""
    import base64

    return {
        "kind": "e-signature",
        "source": "Test e-signature service, envelope 42",
        "document": base64.b64encode(document or scan_pdf("ExternalEvidence")).decode(),
        **overrides,
    }


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(page: str) -> str:
    """The CSRF token of the form on an HTML page (every form carries one)."""
    match = CSRF.search(page)
    assert match, "every form carries a CSRF token"
    return match.group(1)


def log_in(client: FlaskClient, email: str, password: str, **request: Any) -> Any:
    """Log in on the staff log-in page as a person does: the page, then its form with its CSRF
    token. The answer: 302 logged in, 401 refused, 429 slowed down. ``request``: the test
    client's options for both requests (``base_url``, ``headers``, ...)."""
    page = client.get("/clinician/login", **request).get_data(as_text=True)
    return client.post(
        "/clinician/login",
        data={"csrf_token": csrf(page), "email": email, "password": password},
        **request,
    )


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def screen_copy_of(shown: bytes, original: bytes) -> bool:
    """Whether ``shown`` is the tablet's screen copy of ``original`` (issue 21): another file
    (the original is never sent), the same picture (pHash within 6 bits), never enlarged."""
    import imagehash

    with Image.open(io.BytesIO(shown)) as a, Image.open(io.BytesIO(original)) as b:
        distance = imagehash.phash(a) - imagehash.phash(b)
        return shown != original and distance <= 6 and max(a.size) <= max(b.size)


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

    def media(
        self,
        patient_id: str,
        data: bytes,
        name: str = "photo.jpg",
        resolution: str | None = None,
        status: int = 201,
    ) -> dict[str, Any]:
        form: dict[str, Any] = {
            "patient_id": patient_id,
            "description": "wound, day 3",
            "file": (io.BytesIO(data), name),
        }
        if resolution is not None:
            form["resolution"] = resolution
        response = self.client.post("/api/v1/media", data=form, headers=self.headers)
        assert response.status_code == status, response.json
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
        """POST /api/v1/requests/<id>/decision: a decision collected elsewhere, with its
        evidence (the API records no other method)."""
        body = {
            "signer": {"role": "patient"},
            "choices": [{"purpose": p, "granted": g} for p, g in choices.items()],
            "method": "external",
            "evidence": evidence(),
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
    form_id: str = "media-publication",
    language: str = "en",
    *,
    purposes: list[str] | None = None,
) -> dict[str, str]:
    """The right answer to each comprehension question of a form's newest version; with
    ``purposes`` (the request's uses), only the questions asked for them (issue 21: a question
    about one use is asked only when that use is)."""
    import json

    from sqlalchemy import select

    from consent.forms.models import FormVersion

    definition = db.session.scalar(
        select(FormVersion.definition)
        .filter_by(form_id=form_id, language=language)
        .order_by(FormVersion.version.desc())
    )
    assert definition is not None
    return {
        q["key"]: q["correct"]
        for q in json.loads(definition)["comprehension"]
        if purposes is None or q.get("purpose") in (None, *purposes)
    }


# Strings planted in every metadata block of ``tagged_image``: none may survive stripping.
PLANTED = {
    "gps": b"GPSPLANT",  # EXIF GPS IFD (as the GPS processing method)
    "exif": b"CameraSerial-7731",  # EXIF body serial number
    "xmp": b"XmpCreatorJeanneMartin",
    "iptc": b"IptcBylineJeanneMartin",
    "comment": b"CommentRoom12Bed4",
    "text": b"PngTextJeanneMartin",
    "thumbnail": b"ThumbnailMarker",
}


def _exif_block(orientation: int = 1) -> bytes:
    """EXIF with a camera serial, GPS position, an orientation and a thumbnail marker."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PlantCam"  # Make
    exif[0x0132] = "2026:11:29 08:15:00"  # DateTime
    exif.get_ifd(0x8769)[0xA431] = PLANTED["exif"].decode()  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 24.0)
    gps[3], gps[4] = "E", (2.0, 21.0, 3.0)
    gps[0x1B] = b"ASCII\x00\x00\x00" + PLANTED["gps"]  # GPSProcessingMethod
    exif[0x010E] = PLANTED["thumbnail"].decode()  # ImageDescription
    return bytes(exif.tobytes())


def _xmp_packet() -> bytes:
    return (
        b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>'
        + PLANTED["xmp"]
        + b"</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
        b'<?xpacket end="w"?>'
    )


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def tagged_image(kind: str = "jpeg", *, orientation: int = 1, seed: int = 5) -> bytes:
    """A photo carrying every kind of metadata a camera or an editor writes: EXIF with GPS and
    a serial number, XMP, IPTC (JPEG), a comment or text chunks, an ICC profile."""
    from PIL import ImageCms

    with Image.open(io.BytesIO(photo(seed, size=(160, 120)))) as decoded:
        image = decoded.convert("RGB")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    if kind == "jpeg":
        image.save(buffer, "JPEG", quality=90, icc_profile=icc, exif=_exif_block(orientation))
        data = buffer.getvalue()
        iptc = (
            b"Photoshop 3.0\x008BIM\x04\x04\x00\x00"
            + (len(PLANTED["iptc"]) + 5).to_bytes(4, "big")
            + b"\x1c\x02\x50"
            + len(PLANTED["iptc"]).to_bytes(2, "big")
            + PLANTED["iptc"]
            + b"\x00"
        )
        extra = (
            _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + _xmp_packet())
            + _segment(0xED, iptc)
            + _segment(0xFE, PLANTED["comment"])
        )
        # After SOI and Pillow's own APP segments, before the frame, as cameras place them.
        return data[:2] + extra + data[2:]
    if kind == "png":
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text("Author", PLANTED["text"].decode())
        info.add_text("Comment", PLANTED["comment"].decode(), zip=True)
        info.add_itxt("XML:com.adobe.xmp", _xmp_packet().decode())
        image.save(buffer, "PNG", pnginfo=info, icc_profile=icc, exif=_exif_block(orientation))
        data = buffer.getvalue()
        # A tIME chunk (when the image was last changed), which Pillow does not write.
        payload = b"\x07\xea\x0b\x1d\x08\x0f\x00"
        time_chunk = (
            len(payload).to_bytes(4, "big")
            + b"tIME"
            + payload
            + zlib.crc32(b"tIME" + payload).to_bytes(4, "big")
        )
        return data[:33] + time_chunk + data[33:]  # after the signature and IHDR
    if kind == "webp":
        image.save(
            buffer,
            "WEBP",
            quality=90,
            icc_profile=icc,
            exif=_exif_block(orientation),
            xmp=_xmp_packet(),
        )
        return buffer.getvalue()
    raise ValueError(kind)


def tablet_consent(
    request_id: str,
    choices: dict[str, bool],
    *,
    signer: Any = None,
    strokes: str | None = None,
) -> Any:
    """A consent recorded the only way the tablet method is: a signing link opened on a
    browser, the patient's choices and drawn signature submitted, the informing clinician's
    confirmation. Commits; returns the Consent."""
    from consent.accounts.scope import EVERY_TEAM
    from consent.consents import signing
    from consent.consents.decisions import Signer
    from consent.consents.models import ConsentRequest
    from consent.consents.signature import drawn_signature
    from consent.web.context import runtime
    from consent.workflows.decide import confirm_on_tablet

    rt = runtime()
    request = db.session.get_one(ConsentRequest, request_id)
    issued = signing.issue_link(db.session, request_id=request_id, minutes=30, scope=EVERY_TEAM)
    link = signing.open_link(db.session, issued.token, "test-browser")
    signing.submit(
        db.session,
        rt.vault,
        link=link,
        choices=choices,
        signer=signer or Signer("patient"),
        drawn=drawn_signature(strokes or signature_strokes()),
    )
    clinician = db.session.get_one(Account, request.account_id)
    consent = confirm_on_tablet(
        db.session, rt, request_id=request_id, account=clinician, scope=EVERY_TEAM
    )
    db.session.commit()
    return consent


def shown_code(html: str) -> str:
    """The withdrawal code as a page shows it: groups of four that never break (issue 21)."""
    import re

    return "-".join(re.findall(r'<span class="code-group">([0-9A-Z]+)', html))


def consent_of(request_id: str) -> str:
    """The id of the consent recorded for a request (pages no longer print raw addresses)."""
    from consent.consents.decisions import consent_for_request

    consent = consent_for_request(db.session, request_id)
    assert consent is not None
    return consent.id


def tablet_answers(tablet: FlaskClient, answers: dict[str, str]) -> None:
    """Answer the tablet's questions, one screen a use in the request's order, then confirm the
    summary (issue 21: one question at a time)."""
    for number, answer in enumerate(answers.values(), start=1):
        page = tablet.get(f"/tablet/question/{number}").get_data(as_text=True)
        sent = tablet.post(
            f"/tablet/question/{number}", data={"csrf_token": csrf(page), "answer": answer}
        )
        assert sent.status_code == 302, sent.status_code
    summary = tablet.get("/tablet/choose").get_data(as_text=True)
    assert tablet.post("/tablet/choose", data={"csrf_token": csrf(summary)}).status_code == 302
