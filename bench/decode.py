"""Peak memory and time of the worst images the compare-only routes accept (issue 17).

Each image is fingerprinted as POST /api/v1/verify does (consent.media.fingerprints.fingerprint
with the default limits), in a fresh process each, whose peak resident memory is read from the
kernel (VmHWM) and compared with the same process before the call. The worst accepted images:
a PNG of exactly CONSENT_MAX_CHECK_PIXELS (PNG decodes whole), and the largest JPEG the image
limit lets through (CONSENT_MAX_IMAGE_PIXELS; JPEG decodes reduced). And the attack of the issue,
the 9400 x 9400 PNG, refused before its decode.

    .venv/bin/python bench/decode.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT, machine, stamp, write_section

BREAK = "  "  # a Markdown line break
CHILD = r"""
import io, json, sys, time
from consent.errors import ConsentError
from consent.media.fingerprints import fingerprint
from consent.settings import load
from tests.factories import photo

def high_water():
    # VmHWM: this process's own peak (ru_maxrss would carry the parent's across exec).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

settings = load(instance_path=None, environ={})
limits = dict(limit=settings.max_media_bytes, max_pixels=settings.max_image_pixels,
              max_decoded_pixels=settings.max_check_pixels)
if sys.argv[2:] == ["unlimited"]:  # the routes before issue 17
    limits["max_decoded_pixels"] = None
fingerprint(io.BytesIO(photo(1)), **limits)  # warm: imports done on the first call
data = open(sys.argv[1], "rb").read()
before = high_water()
started = time.perf_counter()
try:
    fingerprint(io.BytesIO(data), **limits)
    outcome = "accepted"
except ConsentError as exc:
    outcome = type(exc).__name__
seconds = time.perf_counter() - started
after = high_water()
print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_mb": after,
                  "added_mb": after - before}))
"""


def _png(side: int) -> bytes:
    import zlib

    from tests.verify.test_decode_limits import _png_chunk

    compressor = zlib.compressobj(6)
    # Noise-like rows (a repeating ramp, shifted per row): PNG decodes whole whatever it holds.
    rows = []
    for y in range(side):
        row = bytes((x * 7 + y * 13) % 256 for x in range(min(3 * side, 4096)))
        rows.append(compressor.compress(b"\x00" + (row * (3 * side // len(row) + 1))[: 3 * side]))
    body = b"".join(rows) + compressor.flush()
    import struct

    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def _jpeg(side: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((side, side)).convert("RGB").save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def measure(path: Path, rounds: int, *extra: str) -> dict[str, float | str]:
    runs = []
    for _ in range(rounds):
        output = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), *extra],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout
        runs.append(json.loads(output))
    runs.sort(key=lambda run: run["seconds"])
    middle = runs[len(runs) // 2]
    return {**middle, "peak_mb": max(run["peak_mb"] for run in runs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from consent.settings import load

    settings = load(instance_path=None, environ={})
    out = OUT / "decode"
    out.mkdir(parents=True, exist_ok=True)
    check_side = math.isqrt(settings.max_check_pixels)
    # Pillow's own bomb limit (89,478,485 pixels, refused as an error) is below the setting's.
    from PIL import Image

    image_side = math.isqrt(min(settings.max_image_pixels, Image.MAX_IMAGE_PIXELS))
    cases = [
        (f"RGB PNG {check_side}x{check_side} (the check limit, decoded whole)", _png(check_side)),
        (
            f"JPEG {image_side}x{image_side} (the largest accepted, decoded at 1/8)",
            _jpeg(image_side),
        ),
        ("RGB PNG 9400x9400 (the attack of issue 17)", _png(9400)),
        ("RGB PNG 9400x9400 before issue 17 (no check limit)", _png(9400)),
        ("JPEG 4032x3024 (a phone photo)", _phone_jpeg()),
    ]
    lines = []
    for name, data in cases:
        path = out / (
            name.split(" (")[0].replace(" ", "-") + ("-before" if "before" in name else "") + ".img"
        )
        path.write_bytes(data)
        result = measure(path, args.rounds, *(["unlimited"] if "before" in name else []))
        lines.append(
            f"| {name} | {len(data) / 1024:,.0f} KB | {result['outcome']} | "
            f"{result['seconds'] * 1000:,.0f} | {result['peak_mb']:,.0f} | "
            f"{result['added_mb']:,.0f} |"
        )
        print(lines[-1], flush=True)
    write_section(
        "decode",
        f"""## Worst accepted images on verify and the public check (issue 17)

Command: `.venv/bin/python bench/decode.py --rounds {args.rounds}`{BREAK}
Machine: {machine()}.  Date: {stamp()}

Each image fingerprinted as `POST /api/v1/verify` does (default limits:
CONSENT_MAX_CHECK_PIXELS {settings.max_check_pixels:,}, CONSENT_MAX_IMAGE_PIXELS
{settings.max_image_pixels:,}), in a fresh process per run; time is the median of
{args.rounds} runs, peak memory the largest (VmHWM of the whole process, Python and the
service's modules included), "added" what the call added to the process's peak. One decode at a
time per slot: a worker holds at most CONSENT_IMAGE_DECODES (2) of these at once.

| image | file | outcome | ms | peak MB | added MB |
|---|---:|---|---:|---:|---:|
"""
        + "\n".join(lines),
    )
    return 0


def _phone_jpeg() -> bytes:
    from tests.factories import photo

    return photo(7, size=(4032, 3024))


if __name__ == "__main__":
    raise SystemExit(main())
