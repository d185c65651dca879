"""The tablet's pages over a slow hospital Wi-Fi (issue 21): each step of the patient's path in
Chromium with the network throttled (Chrome DevTools Protocol: 1.6 Mbit/s down, 750 kbit/s up,
150 ms round trips), measuring the bytes transferred (pages vs media) and the time until the
page is usable (its load event), and the first photo's time to visible.

Against a running service (started as in the preamble of docs/walkthrough.md, demo instance):

    .venv/bin/python bench/tablet_pages.py --url http://127.0.0.1:5121 --key csk_... \\
        --email demo.clinician@hospital.example --password ...

Budget (issue 21): every page under 150 KB besides media, each photo under 400 KB, the first
photo visible within 2.5 s. The photo uploaded is a 12-megapixel JPEG, as a phone takes.
Writes its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from PIL import Image
from playwright.sync_api import sync_playwright

RESULTS = Path(__file__).with_name("RESULTS.md")
START, END = "<!-- tablet_pages:start -->", "<!-- tablet_pages:end -->"
THROTTLE = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1_600_000 / 8,
    "uploadThroughput": 750_000 / 8,
}
PAGE_BUDGET, PHOTO_BUDGET, FIRST_PHOTO_S = 150_000, 400_000, 2.5


def phone_photo() -> bytes:
    """A 12-megapixel JPEG with detail (noise compresses like a real photo, not a flat one)."""
    small = Image.merge("RGB", [Image.effect_noise((800, 600), 60) for _ in range(3)])
    image = small.resize((4000, 3000), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def open_request(url: str, key: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    patient = requests.post(
        url + "/api/v1/patients",
        json={"record_number": f"B{time.time_ns()}", "name": "Bench", "birth_date": "1940-01-01"},
        headers=headers,
        timeout=60,
    ).json()["id"]
    media = requests.post(
        url + "/api/v1/media",
        data={"patient_id": patient, "description": "bench"},
        files={"file": ("photo.jpg", phone_photo(), "image/jpeg")},
        headers=headers,
        timeout=120,
    ).json()
    return dict(
        requests.post(
            url + "/api/v1/requests",
            json={
                "patient_id": patient,
                "media_ids": [media["id"]],
                "form": "media-publication",
                "language": "en",
                "uses": [{"purpose": "teaching"}, {"purpose": "journal_publication"}],
                "expires_at": "2031-01-01T00:00:00Z",
            },
            headers=headers,
            timeout=60,
        ).json()
    )


class Meter:
    """Bytes on the wire per navigation, from the DevTools protocol, split page / media."""

    def __init__(self, cdp: Any) -> None:
        self.types: dict[str, str] = {}
        self.urls: dict[str, str] = {}
        self.reset()
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)

    def reset(self) -> None:
        self.page_bytes = 0
        self.media: dict[str, int] = {}

    def _response(self, event: dict[str, Any]) -> None:
        self.types[event["requestId"]] = event["response"].get("mimeType", "")
        self.urls[event["requestId"]] = event["response"]["url"]

    def _finished(self, event: dict[str, Any]) -> None:
        size = int(event.get("encodedDataLength", 0))
        kind = self.types.get(event["requestId"], "")
        if kind.startswith(("image/", "video/")) and "/tablet/media/" in self.urls.get(
            event["requestId"], ""
        ):
            self.media[self.urls[event["requestId"]]] = size
        else:
            self.page_bytes += size


def walk(url: str, key: str, email: str, password: str) -> list[dict[str, Any]]:
    opened = open_request(url, key)
    rows: list[dict[str, Any]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 820, "height": 1180}, locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(300_000)  # a 12 MP photo at 1.6 Mbit/s takes its time
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", THROTTLE)
        meter = Meter(cdp)

        def step(name: str, action: Any) -> None:
            meter.reset()
            began = time.perf_counter()
            action()
            page.wait_for_load_state("load")
            usable = time.perf_counter() - began
            photo = None
            if page.locator("main img").count():
                page.wait_for_function(
                    "() => [...document.querySelectorAll('main img')].every(i => i.complete)"
                )
                photo = time.perf_counter() - began
            rows.append(
                {
                    "step": name,
                    "page_bytes": meter.page_bytes,
                    "media_bytes": max(meter.media.values(), default=0),
                    "usable_s": usable,
                    "photo_s": photo,
                }
            )

        step("start", lambda: page.goto(opened["signing_url"]))
        step("media", lambda: page.click("main a.button.primary"))
        step("read 1", lambda: page.click("main a.button.primary"))
        for number in range(2, 6):
            step(f"read {number}", lambda: page.click("nav.steps a.button.primary"))
        step("check", lambda: page.click("nav.steps a.button.primary"))
        for key_, answer in (("who_can_see", "b"), ("delete_shared", "c"), ("saying_no", "a")):
            page.check(f"#{key_}-{answer}")
        step("question 1", lambda: page.click("main button.primary"))
        step("question 2", lambda: page.click("button.answer.yes"))
        step("summary", lambda: page.click("button.answer.no"))
        step("who", lambda: page.click("main button.primary"))
        page.check("#role-patient")
        step("sign", lambda: page.click("main button.primary"))
        browser.close()
    del email, password
    return rows


def write(rows: list[dict[str, Any]], command: str) -> str:
    first_photo = next((r["photo_s"] for r in rows if r["photo_s"] is not None), None)
    lines = [
        START,
        "## The tablet's pages over a throttled network (issue 21)",
        "",
        f"Command: `{command}`  ",
        f"Machine: {os.cpu_count()} cores (AMD EPYC), Python {platform.python_version()}, "
        f"Chromium (Debian) through Playwright; network throttled by CDP to 1.6 Mbit/s down, "
        f"750 kbit/s up, 150 ms latency.  Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "Photo: a 12-megapixel JPEG as uploaded. 'Usable' is the page's load event after the tap.",
        "",
        "| step | page KB (besides media) | media KB | usable (s) | photo visible (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        photo = f"{r['photo_s']:.2f}" if r["photo_s"] is not None else ""
        lines.append(
            f"| {r['step']} | {r['page_bytes'] / 1000:.1f} | {r['media_bytes'] / 1000:.0f} "
            f"| {r['usable_s']:.2f} | {photo} |"
        )
    pages_ok = all(r["page_bytes"] < PAGE_BUDGET for r in rows)
    photos_ok = all(r["media_bytes"] < PHOTO_BUDGET for r in rows)
    photo_ok = first_photo is not None and first_photo <= FIRST_PHOTO_S
    lines += [
        "",
        f"Budget: pages under 150 KB besides media: **{'met' if pages_ok else 'NOT met'}**; "
        f"each photo under 400 KB: **{'met' if photos_ok else 'NOT met'}**; first photo visible "
        f"within 2.5 s: **{'met' if photo_ok else 'NOT met'}**"
        + (f" ({first_photo:.1f} s)." if first_photo is not None else "."),
        END,
    ]
    section = "\n".join(lines)
    text = RESULTS.read_text(encoding="utf-8")
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text, encoding="utf-8")
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--email", default="")
    parser.add_argument("--password", default="")
    args = parser.parse_args()
    rows = walk(args.url.rstrip("/"), args.key, args.email, args.password)
    command = f".venv/bin/python bench/tablet_pages.py --url {args.url} --key ..."
    print(write(rows, command))


if __name__ == "__main__":
    main()
