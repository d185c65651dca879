"""Faces in photos and in sampled video frames, and the masked copy that hides them (issue 19).

The detector is OpenCV's frontal-face Haar cascade (``haarcascade_frontalface_default.xml``),
which ships inside the opencv-python-headless wheel (``cv2.data.haarcascades``): nothing is
downloaded at run time. It was chosen over the other bundled cascades by measured recall and
false alarms (bench/faces.py, bench/RESULTS.md). A detector misses faces (turned away, small,
covered): the clinician checks the boxes and adds or moves them before the request is sent.

Boxes are in the pixels of the photo as shown (EXIF orientation applied), so that the page, the
tablet and the masked copy all mean the same rectangle. Detection runs on a copy whose longest
side is DETECT_LONGEST_SIDE (a 12 MP photo is decoded reduced: bounded in time and memory).
"""

from __future__ import annotations

import io
import json
import subprocess
import tempfile
import threading
import warnings
from dataclasses import dataclass
from typing import IO, Any

import cv2
import numpy as np
from PIL import Image, ImageFilter, ImageOps

from consent.errors import InvalidInput
from consent.media.decoding import decode_slot
from consent.media.fingerprints import UNREADABLE_IMAGE

DETECTOR = "opencv-haar-frontalface-default"
CASCADE_FILE = "haarcascade_frontalface_default.xml"
DETECT_LONGEST_SIDE = 1024
# OpenCV's usual values (docs: Cascade Classifier tutorial); a face smaller than 1/40 of the
# short side (about 19 px at 768) is too small to recognise, and below the cascade's 24 px.
SCALE_FACTOR = 1.1
MIN_NEIGHBOURS = 5
# Video: one frame every VIDEO_FRAME_EVERY seconds, at most VIDEO_FRAMES, within a time limit.
VIDEO_FRAME_EVERY = 2.0
VIDEO_FRAMES = 15
VIDEO_FRAME_SIZE = (640, 360)
VIDEO_SECONDS = 30
# The masked copy: each box grown by a share of its size on each side, then reduced to
# MASK_BLOCKS blocks across and blurred: no feature survives. The frontal-face cascade's box runs
# from the eyebrows to the mouth or the top of the chin, so the mask grows most downwards (chin,
# jaw line, a beard, a face tilted down), then upwards (forehead, hairline) and sideways (ears,
# cheeks of a face turned a little); measured on the astronaut, camera and LFW faces by looking
# at the copies (tests/media/test_faces.py renders them). MASK_SHAPES keeps earlier shapes so a
# copy recorded before a change can still be made again and checked against its receipt.
MASK_BLOCKS = 6


@dataclass(frozen=True)
class MaskShape:
    """How far a mask reaches beyond its box, as shares of the box's width and height."""

    name: str
    top: float
    side: float
    bottom: float


MASK_SHAPE = MaskShape("v2", top=0.4, side=0.3, bottom=0.6)
# v1 (the first release of issue 19): 0.25 of the box on every side; the chin was at its edge.
MASK_SHAPES = (MASK_SHAPE, MaskShape("v1", top=0.25, side=0.25, bottom=0.25))
_MASK_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


@dataclass(frozen=True)
class FaceBox:
    """A rectangle around a face, in the shown photo's pixels; ``t``: seconds into a video."""

    x: int
    y: int
    w: int
    h: int
    by: str = "detector"  # or "clinician"
    t: float | None = None

    def as_json(self) -> dict[str, Any]:
        box: dict[str, Any] = {"x": self.x, "y": self.y, "w": self.w, "h": self.h, "by": self.by}
        if self.t is not None:
            box["t"] = self.t
        return box


# One classifier per thread: OpenCV's CascadeClassifier keeps working state in the object, and
# the face-masked video's check (a background thread, consent.workflows.masked_video) detects
# while a request thread detects in an upload; sharing one object failed under that load.
_cascades = threading.local()


def _classifier() -> cv2.CascadeClassifier:
    cascade: cv2.CascadeClassifier | None = getattr(_cascades, "cascade", None)
    if cascade is None:
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE_FILE)  # type: ignore[attr-defined]
        if cascade.empty():
            raise RuntimeError(f"OpenCV's {CASCADE_FILE} did not load; reinstall opencv.")
        _cascades.cascade = cascade
    return cascade


def detect(gray: np.ndarray[Any, Any]) -> list[tuple[int, int, int, int]]:
    """Face rectangles (x, y, w, h) in an 8-bit grey image."""
    short = min(gray.shape[:2])
    side = max(24, short // 40)
    found = _classifier().detectMultiScale(
        cv2.equalizeHist(gray),
        scaleFactor=SCALE_FACTOR,
        minNeighbors=MIN_NEIGHBOURS,
        minSize=(side, side),
    )
    return [(int(x), int(y), int(w), int(h)) for x, y, w, h in found]


def faces_in_image(image: Image.Image) -> list[FaceBox]:
    """The faces in a decoded, upright photo, in its own pixels (detected on a reduced copy)."""
    width = image.size[0]
    small = image.convert("L")
    small.thumbnail((DETECT_LONGEST_SIDE, DETECT_LONGEST_SIDE))
    scale = width / small.size[0]
    boxes = detect(np.asarray(small))
    return [
        FaceBox(round(x * scale), round(y * scale), round(w * scale), round(h * scale))
        for x, y, w, h in boxes
    ]


def upright(stream: IO[bytes], *, max_pixels: int, reduce: bool) -> Image.Image:
    """The photo decoded (reduced for detection when ``reduce``), its EXIF orientation applied.

    Raises InvalidInput for an undecodable photo or one over ``max_pixels``.
    """
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                if image.size[0] * image.size[1] > max_pixels:
                    raise InvalidInput("The image has more pixels than the limit.")
                full = image.size
                if reduce:
                    image.draft("RGB", (DETECT_LONGEST_SIDE, DETECT_LONGEST_SIDE))
                turned = ImageOps.exif_transpose(image)
                turned.load()
                turned.info["full_size"] = turned_size(full, image)
                return turned
    except UNREADABLE_IMAGE as exc:
        raise InvalidInput("The image is damaged or truncated and cannot be read.") from exc
    finally:
        stream.seek(0)


def turned_size(size: tuple[int, int], image: Image.Image) -> tuple[int, int]:
    """``size`` as shown: width and height swapped when the EXIF orientation turns a quarter."""
    orientation = image.getexif().get(0x0112, 1)  # EXIF 2.32 table 4
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def faces_in_photo(stream: IO[bytes], *, max_pixels: int) -> list[FaceBox]:
    """The faces in a photo, in the full-size upright photo's pixels. Holds a decode slot.

    Raises InvalidInput as ``upright``; ServiceBusy when no decode slot frees up in time.
    """
    with decode_slot().held():
        image = upright(stream, max_pixels=max_pixels, reduce=True)
        full_width = image.info["full_size"][0]
        found = faces_in_image(image)
    scale = full_width / image.size[0]
    return [
        FaceBox(round(b.x * scale), round(b.y * scale), round(b.w * scale), round(b.h * scale))
        for b in found
    ]


def faces_in_video(stream: IO[bytes]) -> list[FaceBox] | None:
    """Faces in frames sampled every VIDEO_FRAME_EVERY seconds (ffmpeg), in the pixels of a
    VIDEO_FRAME_SIZE frame, with ``t`` set; None when ffmpeg cannot read the video in time
    (nothing was looked at: the clinician's check then stands alone)."""
    width, height = VIDEO_FRAME_SIZE
    with tempfile.NamedTemporaryFile(suffix=".video") as copy:
        stream.seek(0)
        while chunk := stream.read(1 << 20):
            copy.write(chunk)
        copy.flush()
        stream.seek(0)
        scale = (
            f"fps=1/{VIDEO_FRAME_EVERY},scale={width}:{height}:force_original_aspect_ratio=decrease,"
            f"pad={width}:{height}"
        )
        command = ["ffmpeg", "-nostdin", "-v", "error", "-i", copy.name, "-vf", scale]
        command += ["-frames:v", str(VIDEO_FRAMES), "-pix_fmt", "gray", "-f", "rawvideo", "-"]
        try:
            # A fixed command; the only input is the path of our own temporary file.
            run = subprocess.run(command, capture_output=True, timeout=VIDEO_SECONDS)  # noqa: S603
        except (OSError, subprocess.TimeoutExpired):
            return None
    frames = run.stdout
    if run.returncode != 0 or not frames:
        return None
    found: list[FaceBox] = []
    size = width * height
    for index in range(len(frames) // size):
        gray = np.frombuffer(frames, np.uint8, size, index * size).reshape(height, width)
        found += [
            FaceBox(x, y, w, h, t=index * VIDEO_FRAME_EVERY) for x, y, w, h in detect(gray.copy())
        ]
    return found


def faces_json(boxes: list[FaceBox]) -> str:
    return json.dumps([box.as_json() for box in boxes], separators=(",", ":"))


def parse_faces(stored: str | None) -> list[FaceBox] | None:
    """The boxes kept on a media item; None when it was never looked at."""
    if stored is None:
        return None
    return [
        FaceBox(int(b["x"]), int(b["y"]), int(b["w"]), int(b["h"]), str(b["by"]), b.get("t"))
        for b in json.loads(stored)
    ]


# Rounds of "mask, then look again": what the detector still finds in the copy is masked too.
MASK_ROUNDS = 3


def masked_copy(
    data: bytes,
    media_type: str,
    boxes: list[FaceBox],
    *,
    max_pixels: int,
    shape: MaskShape = MASK_SHAPE,
) -> tuple[bytes, list[FaceBox]]:
    """The photo with every box pixelated and blurred beyond recognition, upright, re-encoded
    without any metadata, and the boxes hidden: the clinician's, and whatever the detector still
    finds in the copy (up to MASK_ROUNDS looks), so that the copy passes the check that the
    detector finds no face in it. Deterministic for the same input, OpenCV and Pillow.

    Raises InvalidInput for a file that is not a decodable photo.
    """
    hidden = list(boxes)
    for _ in range(MASK_ROUNDS):
        copy = _masked(data, media_type, hidden, max_pixels=max_pixels, shape=shape)
        seen = faces_in_photo(io.BytesIO(copy), max_pixels=max_pixels)
        if not seen:
            break
        hidden += [FaceBox(b.x, b.y, b.w, b.h, "check") for b in seen]
    else:
        copy = _masked(data, media_type, hidden, max_pixels=max_pixels, shape=shape)
    return copy, hidden


def _masked(
    data: bytes, media_type: str, boxes: list[FaceBox], *, max_pixels: int, shape: MaskShape
) -> bytes:
    with decode_slot().held():
        image = upright(io.BytesIO(data), max_pixels=max_pixels, reduce=False)
        image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
        for box in boxes:
            _hide(image, mask_region(box, image.size, shape))
        out = io.BytesIO()
        kind = _MASK_FORMATS[media_type]
        if kind == "JPEG":
            image.save(out, kind, quality=90)
        elif kind == "WEBP":
            image.save(out, kind, quality=90, method=4)
        else:
            image.save(out, kind)
    return out.getvalue()


def mask_region(
    box: FaceBox, size: tuple[int, int], shape: MaskShape = MASK_SHAPE
) -> tuple[int, int, int, int]:
    """The rectangle (left, top, right, bottom) a box's mask covers in a picture of ``size``."""
    left = max(0, box.x - round(box.w * shape.side))
    top = max(0, box.y - round(box.h * shape.top))
    right = min(size[0], box.x + box.w + round(box.w * shape.side))
    bottom = min(size[1], box.y + box.h + round(box.h * shape.bottom))
    return left, top, right, bottom


def _hide(image: Image.Image, region_box: tuple[int, int, int, int]) -> None:
    left, top, right, bottom = region_box
    if right <= left or bottom <= top:
        return
    region = image.crop((left, top, right, bottom))
    blocks = region.resize((MASK_BLOCKS, MASK_BLOCKS), Image.Resampling.BOX)
    hidden = blocks.resize(region.size, Image.Resampling.NEAREST)
    radius = max(2, min(region.size) // MASK_BLOCKS)
    image.paste(hidden.filter(ImageFilter.GaussianBlur(radius)), (left, top))
