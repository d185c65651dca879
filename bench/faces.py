"""Face detection (issue 19): recall on faces, false alarms on face-free clinical-like images,
and the time per 12 MP photo, for each face cascade that ships in opencv-python-headless.

Everything is made or loaded offline:
- faces: scikit-image's bundled ``astronaut`` and ``camera`` (one person each), and the 100 face
  crops of its bundled ``lfw_subset`` (25x25, Labeled Faces in the Wild), each enlarged to
  ``--face-px`` and set at a random place on a 320x320 noisy background (a face is found when a
  box's centre falls inside the true rectangle);
- face-free: the 100 non-face crops of ``lfw_subset`` set the same way; scikit-image's bundled
  ``retina`` (fundus photo), ``immunohistochemistry`` (stained tissue), ``cell``, ``coins``,
  ``brick``, ``gravel``, ``grass``, ``moon``, ``hubble_deep_field``; and images made here:
  skin patches (skin tones, pores, hair, a mole), hands (a palm and five fingers in skin tones
  on a dark drape, several poses) and radiographs (bones as bright blurred ellipses on a dark,
  noisy field);
- 12 MP: the astronaut enlarged into a 4000x3000 JPEG, run through the upload's own path
  (consent.media.faces.faces_in_photo: reduced decode, EXIF orientation, detection).

Command: .venv/bin/python bench/faces.py [--write]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, write_section
from consent.media import faces

CASCADES = (
    "haarcascade_frontalface_default.xml",
    "haarcascade_frontalface_alt.xml",
    "haarcascade_frontalface_alt2.xml",
    "haarcascade_frontalface_alt_tree.xml",
)


def _placed(crop: np.ndarray[Any, Any], size: int, rng: np.random.Generator) -> tuple[Any, Any]:
    face = Image.fromarray((crop * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)
    canvas = rng.normal(128, 30, (320, 320)).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(canvas).filter(ImageFilter.GaussianBlur(3))
    x, y = (int(v) for v in rng.integers(0, 320 - size, 2))
    image.paste(face, (x, y))
    return np.asarray(image), (x, y, size, size)


def _skin(rng: np.random.Generator) -> np.ndarray[Any, Any]:
    tone = rng.uniform([150, 100, 80], [235, 190, 160])
    base = rng.normal(0, 8, (600, 800, 3)) + tone
    image = Image.fromarray(base.clip(0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2))
    draw = ImageDraw.Draw(image)
    for _ in range(300):  # pores and hairs
        x, y = rng.integers(0, 800), rng.integers(0, 600)
        draw.ellipse((x, y, x + 3, y + 3), fill=tuple(int(c * 0.8) for c in tone))
        draw.line((x, y, x + rng.integers(-20, 20), y + 15), fill=(70, 50, 40), width=1)
    x, y = rng.integers(100, 700), rng.integers(100, 500)
    draw.ellipse((x, y, x + 30, y + 26), fill=(90, 60, 45))  # a mole
    return np.asarray(image.convert("L"))


def _hand(rng: np.random.Generator) -> np.ndarray[Any, Any]:
    image = Image.new("RGB", (800, 600), (30, 60, 80))  # a surgical drape
    draw = ImageDraw.Draw(image)
    tone = tuple(int(c) for c in rng.uniform([160, 110, 90], [235, 190, 160]))
    cx, cy = rng.integers(300, 500), rng.integers(300, 400)
    draw.ellipse((cx - 110, cy - 120, cx + 110, cy + 120), fill=tone)
    for k in range(5):
        angle = np.radians(-60 + 30 * k + rng.normal(0, 5))
        ex, ey = cx + 260 * np.sin(angle), cy - 260 * np.cos(angle)
        draw.line((cx, cy, ex, ey), fill=tone, width=int(rng.integers(38, 50)))
        draw.ellipse((ex - 12, ey - 12, ex + 12, ey + 12), fill=(200, 150, 140))  # a nail
    blurred = image.filter(ImageFilter.GaussianBlur(2))
    return np.asarray(blurred.convert("L"))


def _xray(rng: np.random.Generator) -> np.ndarray[Any, Any]:
    image = Image.new("L", (800, 1000), 20)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 8))):
        x, y = rng.integers(100, 700), rng.integers(100, 900)
        w, h = rng.integers(30, 90), rng.integers(150, 400)
        draw.ellipse((x - w, y - h, x + w, y + h), fill=int(rng.integers(150, 230)))
        draw.ellipse((x - w // 3, y - h + 20, x + w // 3, y + h - 20), fill=110)  # marrow
    noisy = np.asarray(image.filter(ImageFilter.GaussianBlur(6)), float)
    return (noisy + rng.normal(0, 10, noisy.shape)).clip(0, 255).astype(np.uint8)


def _gray(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    image = Image.fromarray(array if array.dtype == np.uint8 else (array * 255).astype(np.uint8))
    return np.asarray(image.convert("L"))


def datasets(face_px: int) -> tuple[list[Any], list[Any]]:
    rng = np.random.default_rng(19)
    lfw = data.lfw_subset()
    positives = [(_gray(data.astronaut()), None), (_gray(data.camera()), None)]
    positives += [_placed(crop, face_px, rng) for crop in lfw[:100]]
    negatives = [("lfw non-face", _placed(crop, face_px, rng)[0]) for crop in lfw[100:]]
    for name in ("retina", "immunohistochemistry", "cell", "coins", "brick", "gravel", "grass"):
        negatives.append((name, _gray(getattr(data, name)())))
    negatives += [("moon", _gray(data.moon())), ("hubble", _gray(data.hubble_deep_field()))]
    negatives += [("skin", _skin(rng)) for _ in range(20)]
    negatives += [("hand", _hand(rng)) for _ in range(20)]
    negatives += [("x-ray", _xray(rng)) for _ in range(20)]
    return positives, negatives


def _hit(boxes: list[tuple[int, int, int, int]], truth: tuple[int, int, int, int] | None) -> bool:
    if truth is None:
        return bool(boxes)
    x, y, w, h = truth
    return any(x <= bx + bw / 2 <= x + w and y <= by + bh / 2 <= y + h for bx, by, bw, bh in boxes)


def measure(cascade: str, face_px: int) -> dict[str, Any]:
    faces._cascade = cv2.CascadeClassifier(cv2.data.haarcascades + cascade)  # type: ignore[attr-defined]
    positives, negatives = datasets(face_px)
    found = sum(_hit(faces.detect(gray), truth) for gray, truth in positives)
    alarms = [(name, len(faces.detect(gray))) for name, gray in negatives]
    twelve = io.BytesIO()
    Image.fromarray(data.astronaut()).resize((4000, 3000)).save(twelve, "JPEG", quality=90)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        boxes = faces.faces_in_photo(twelve, max_pixels=50_000_000)
        times.append(time.perf_counter() - started)
    return {
        "cascade": cascade,
        "recall": found / len(positives),
        "found": found,
        "positives": len(positives),
        "alarm_images": sum(1 for _, n in alarms if n),
        "alarm_boxes": sum(n for _, n in alarms),
        "negatives": len(negatives),
        "where": sorted({name for name, n in alarms if n}),
        "ms_12mp": statistics.median(times) * 1000,
        "found_12mp": len(boxes),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--face-px", type=int, default=96)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    rows = [measure(cascade, args.face_px) for cascade in CASCADES]
    lines = [
        "## Face detection (issue 19)",
        "",
        f"Command: `.venv/bin/python bench/faces.py --face-px {args.face_px} --write`  ",
        f"Machine: {machine()}; OpenCV {cv2.__version__} (opencv-python-headless, the "
        "cascades from its wheel).",
        "",
        "Faces: scikit-image's bundled astronaut and camera, and the 100 faces of its bundled "
        f"lfw_subset enlarged to {args.face_px} px on a noisy 320x320 background. Face-free: "
        "lfw_subset's 100 non-faces placed the same way, scikit-image's retina, "
        "immunohistochemistry, cell, coins, brick, gravel, grass, moon and Hubble images, and "
        "20 each of skin patches, hands on a drape and radiographs made by bench/faces.py. "
        "12 MP: the astronaut enlarged to 4000x3000 (JPEG), through the upload's own path "
        "(reduced decode to 1024 px, then detection), median of 5.",
        "",
        "| cascade | recall | false alarms (images with a box / boxes, of N) | where "
        "| ms per 12 MP photo | faces found in it |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['cascade']} | {row['recall']:.2f} ({row['found']}/{row['positives']}) "
            f"| {row['alarm_images']} / {row['alarm_boxes']} of {row['negatives']} "
            f"| {', '.join(row['where']) or '-'} | {row['ms_12mp']:.0f} | {row['found_12mp']} |"
        )
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section("faces", text)


if __name__ == "__main__":
    main()
