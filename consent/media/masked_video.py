"""The face-masked copy of a video (issue 19, "yes, only with my face hidden"), made with FFmpeg.

Faces were looked for at upload in one frame every VIDEO_FRAME_EVERY seconds (the first
VIDEO_FRAMES of them): a box says where a face was at one instant, not where it is between two
samples. Each region is therefore hidden for the WHOLE clip, not for a window around its sample
time: a window of a few seconds still loses a face that stays put longer than the window beyond
the last sample, and the whole clip costs only some picture that was not a face; a face that
moves is caught by the check below, which looks at every second of the masked copy (not only
the first 30 s the upload looked at), hides what it finds, and encodes again, up to MASK_ROUNDS
times; a copy in which the detector still finds a face is refused (no copy is offered).

The copy is the same recording: H.264 at most MASKED_VIDEO_HEIGHT px high, the audio kept
(the patient hears it as it will be heard), every metadata block, chapter, subtitle and data
stream left behind, the index first. FFmpeg runs under the rules of consent.media.screen_video:
only a file the service wrote, ``-nostdin``, only the ``file`` protocol and the accepted
containers, no shell, a wall-clock timeout, CPU, memory and file-size limits.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from consent.media.faces import (
    MASK_BLOCKS,
    MASK_ROUNDS,
    VIDEO_FRAME_SIZE,
    FaceBox,
    detect,
    mask_region,
)
from consent.media.screen_video import (
    _DEMUXERS,
    _MP4_BRAND,
    ENCODE_TIMEOUT_SECONDS,
    _limits,
)

log = logging.getLogger(__name__)

MASKED_VIDEO_HEIGHT = 720  # publishable, and light enough for the tablet's Wi-Fi at the cap
MASKED_VIDEO_CRF = 23
MASKED_VIDEO_KBITS = 1200
CHECK_EVERY_SECONDS = 1.0  # the check looks twice as often as the upload did
_SAFE = ["-nostdin", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file"]


@dataclass(frozen=True)
class MaskedVideo:
    """The copy (MP4 bytes) and the boxes hidden in its own pixels; or why there is none."""

    data: bytes | None
    hidden: list[FaceBox]
    refused: str | None = None


def _run(command: list[str], workdir: Path) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(  # noqa: S603 (a fixed program and arguments, no shell)
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=ENCODE_TIMEOUT_SECONDS,
            preexec_fn=_limits,
            cwd=workdir,
            env={"PATH": "/usr/bin:/bin"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("face-masked video: FFmpeg did not finish (%s)", type(exc).__name__)
        return None


def _input(program: str, source: Path) -> list[str]:
    return [program, *_SAFE, "-format_whitelist", _DEMUXERS, "-i", f"file:{source}"]


def frame_size(program: str, source: Path, workdir: Path) -> tuple[int, int] | None:
    """The size of the video's pictures as shown (its rotation applied), from its first frame."""
    target = workdir / "first.png"
    done = _run([*_input(program, source), "-frames:v", "1", "-y", f"file:{target}"], workdir)
    if done is None or done.returncode != 0 or not target.exists():
        return None
    with Image.open(target) as first:
        return first.size


def still(program: str, source: Path, workdir: Path, seconds: float) -> bytes | None:
    """A PNG of the frame at ``seconds`` as the upload's detector saw it (VIDEO_FRAME_SIZE, the
    picture at the top left), so that the clinician's boxes mean what the detector's mean."""
    width, height = VIDEO_FRAME_SIZE
    target = workdir / "still.png"
    frame = f"scale={width}:{height}:force_original_aspect_ratio=decrease,pad={width}:{height}"
    command = [program, *_SAFE, "-ss", f"{max(0.0, seconds):.3f}", "-format_whitelist"]
    command += [_DEMUXERS, "-i", f"file:{source}", "-vf", frame, "-frames:v", "1"]
    done = _run([*command, "-y", f"file:{target}"], workdir)
    if done is None or done.returncode != 0 or not target.exists():
        return None
    return target.read_bytes()


def output_size(shown: tuple[int, int]) -> tuple[int, int]:
    """At most MASKED_VIDEO_HEIGHT px high, never upscaled, even sides (H.264 4:2:0)."""
    width, height = shown
    out_h = min(MASKED_VIDEO_HEIGHT, height) // 2 * 2
    out_w = max(2, round(width * out_h / height / 2) * 2)
    return out_w, max(2, out_h)


def to_output(boxes: list[FaceBox], shown: tuple[int, int], out: tuple[int, int]) -> list[FaceBox]:
    """Boxes in the upload's detection frames (VIDEO_FRAME_SIZE, the picture at the top left)
    as boxes in the copy's pixels."""
    detect_scale = min(VIDEO_FRAME_SIZE[0] / shown[0], VIDEO_FRAME_SIZE[1] / shown[1])
    factor = out[1] / shown[1] / detect_scale
    return [
        FaceBox(
            round(b.x * factor),
            round(b.y * factor),
            round(b.w * factor),
            round(b.h * factor),
            b.by,
            b.t,
        )
        for b in boxes
    ]


def _filters(boxes: list[FaceBox], out: tuple[int, int]) -> str:
    """Scale, then each box's region (MASK_SHAPE, as for photos) pixelated to MASK_BLOCKS
    blocks and blurred, laid over the picture for every frame."""
    width, height = out
    head = f"[0:v]scale={width}:{height}:flags=bicubic,setsar=1,format=yuv420p"
    regions = []
    for box in boxes:
        left, top, right, bottom = mask_region(box, out)
        # Even corners, growing outwards: 4:2:0 chroma is cropped in pairs of pixels.
        left, top = left // 2 * 2, top // 2 * 2
        right, bottom = min(width, (right + 1) // 2 * 2), min(height, (bottom + 1) // 2 * 2)
        if right - left >= 2 and bottom - top >= 2:
            regions.append((left, top, right - left, bottom - top))
    if not regions:
        return head + "[v]"
    parts = [
        head + f",split={len(regions) + 1}[p0]" + "".join(f"[c{i}]" for i in range(len(regions)))
    ]
    for i, (x, y, w, h) in enumerate(regions):
        sigma = max(2, min(w, h) // MASK_BLOCKS)
        parts.append(
            f"[c{i}]crop={w}:{h}:{x}:{y},scale={MASK_BLOCKS}:{MASK_BLOCKS}:flags=area,"
            f"scale={w}:{h}:flags=neighbor,gblur=sigma={sigma}[m{i}]"
        )
        parts.append(f"[p{i}][m{i}]overlay={x}:{y}[p{i + 1}]")
    parts[-1] = parts[-1].rsplit("[", 1)[0] + "[v]"
    return ";".join(parts)


def _encode(program: str, source: Path, workdir: Path, graph: str) -> bytes | None:
    target = workdir / "masked.mp4"
    command = [
        *_input(program, source),
        *("-filter_complex", graph, "-map", "[v]", "-map", "0:a:0?"),
        *("-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn"),
        # No encoder name or version in the container; the same input gives the same bytes.
        *("-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"),
        *("-c:v", "libx264", "-profile:v", "main", "-preset", "veryfast"),
        *("-crf", str(MASKED_VIDEO_CRF), "-maxrate", f"{MASKED_VIDEO_KBITS}k"),
        *("-bufsize", f"{MASKED_VIDEO_KBITS * 2}k", "-force_key_frames", "expr:gte(t,n_forced*2)"),
        *("-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", "-threads", "2"),
        *("-f", "mp4", "-y", f"file:{target}"),
    ]
    done = _run(command, workdir)
    if done is None or done.returncode != 0 or not target.exists():
        log.warning("face-masked video: the encoder failed")
        return None
    data = target.read_bytes()
    return data if data[4:8] == _MP4_BRAND else None


def faces_left(
    program: str, masked: Path, workdir: Path, out: tuple[int, int]
) -> list[FaceBox] | None:
    """What the detector still finds in the masked copy, one frame every CHECK_EVERY_SECONDS
    over the whole clip, in the copy's pixels; None when the copy cannot be read back."""
    scale = min(VIDEO_FRAME_SIZE[0] / out[0], VIDEO_FRAME_SIZE[1] / out[1], 1.0)
    width, height = round(out[0] * scale), round(out[1] * scale)
    command = [
        program, *_SAFE, "-format_whitelist", "mov,mp4,m4a,3gp,3g2,mj2", "-i", f"file:{masked}",
        "-vf", f"fps=1/{CHECK_EVERY_SECONDS},scale={width}:{height}",
        "-pix_fmt", "gray", "-f", "rawvideo", "pipe:1",
    ]  # fmt: skip
    done = _run(command, workdir)
    if done is None or done.returncode != 0 or not done.stdout:
        return None
    size, found = width * height, []
    for index in range(len(done.stdout) // size):
        gray = np.frombuffer(done.stdout, np.uint8, size, index * size).reshape(height, width)
        found += [
            FaceBox(
                round(x / scale),
                round(y / scale),
                round(w / scale),
                round(h / scale),
                "check",
                index * CHECK_EVERY_SECONDS,
            )
            for x, y, w, h in detect(gray.copy())
        ]
    return found


def mask_video(
    program: str, source: Path, workdir: Path, boxes: list[FaceBox]
) -> MaskedVideo | None:
    """The face-masked copy of the video in ``source`` (a file the service wrote, checked).

    None when FFmpeg cannot read or encode it (made again later); a MaskedVideo with ``refused``
    when faces are still found after MASK_ROUNDS more masks. Never raises for what the input
    contains.
    """
    shown = frame_size(program, source, workdir)
    if shown is None:
        return None
    out = output_size(shown)
    hidden = to_output(boxes, shown, out)
    left: list[FaceBox] = []
    for _round in range(MASK_ROUNDS + 1):
        data = _encode(program, source, workdir, _filters(hidden, out))
        if data is None:
            return None
        found = faces_left(program, workdir / "masked.mp4", workdir, out)
        if found is None:
            return None
        left = found
        if not left:
            return MaskedVideo(data, hidden)
        hidden += left
    return MaskedVideo(
        None, hidden, refused=f"{len(left)} faces still found in the sampled frames after masking"
    )
