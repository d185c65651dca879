"""Screen copies of videos for the patient's tablet (issue 21, "a video playing within 3 s").

A video as a phone records it (H.264 at 10-17 Mbit/s, its index at the end of the file) or as a
browser records it (WebM without cues) cannot start playing on a tablet over a slow, shared
hospital Wi-Fi (1.6 Mbit/s) before several MB have arrived. The tablet is sent instead a copy made
with FFmpeg: H.264 Main at most 480 px high and at most 300 kbit/s, AAC mono at 48 kbit/s, the
index (moov atom) first (``+faststart``) so that playing starts after the first kilobytes, every
metadata block and every stream but the first video and audio left behind. What the patient sees
is the same recording: the receipt binds the original's SHA-256, which is what was uploaded.

The encoder is handed only a file the service wrote itself (the original, decrypted, checked
against its hash, under a fixed name in a private folder), with ``-nostdin``, only the ``file``
protocol and only the container formats the service accepts, no shell, within a wall-clock
timeout and CPU-time, memory and file-size limits. Anything else it does is refused as a failure:
the tablet then streams the original, which always works.
"""

from __future__ import annotations

import logging
import resource
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

SCREEN_VIDEO_HEIGHT = 480  # an iPad shows the video in a column about 800 points wide
SCREEN_VIDEO_KBITS = 300  # under a fifth of the hospital Wi-Fi's 1.6 Mbit/s (bench/RESULTS.md)
SCREEN_VIDEO_CRF = 28  # x264's constant-quality scale (0-51): plain to see on a tablet
SCREEN_AUDIO_KBITS = 48
# Bounds on one encoding; a copy past them is not made (the original is streamed instead).
ENCODE_TIMEOUT_SECONDS = 600
ENCODE_CPU_SECONDS = 900
ENCODE_MEMORY_BYTES = 2 * 1024**3
SCREEN_VIDEO_MAX_BYTES = 200 * 1024**2
# The containers of consent.media.fingerprints.VIDEO_TYPES, by FFmpeg's demuxer names.
_DEMUXERS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"
_MP4_BRAND = b"ftyp"


def encoder() -> str | None:
    """The FFmpeg program, or None when it is not installed."""
    return shutil.which("ffmpeg")


def _limits() -> None:  # pragma: no cover (runs in the child process)
    resource.setrlimit(resource.RLIMIT_CPU, (ENCODE_CPU_SECONDS, ENCODE_CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (ENCODE_MEMORY_BYTES, ENCODE_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_FSIZE, (SCREEN_VIDEO_MAX_BYTES, SCREEN_VIDEO_MAX_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def encode_screen_video(program: str, source: Path, workdir: Path) -> bytes | None:
    """The screen copy of the video in ``source`` (a file the service wrote), as MP4 bytes.

    None when FFmpeg fails, runs past its limits or writes something that is not an MP4: the
    caller then streams the original. Never raises for what the input contains.
    """
    target = workdir / "screen.mp4"
    command = [
        program,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        _DEMUXERS,
        "-i",
        f"file:{source}",
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-sn",
        "-dn",
        # Never upscale; an even width for H.264 4:2:0.
        "-vf",
        f"scale=-2:'min({SCREEN_VIDEO_HEIGHT},ih)':flags=bicubic,format=yuv420p",
        "-c:v",
        "libx264",
        "-profile:v",
        "main",
        "-preset",
        "veryfast",
        # Constant quality, capped: a quiet scene takes less than the cap, never more, so that
        # the copy is not larger than a lean original.
        "-crf",
        str(SCREEN_VIDEO_CRF),
        "-maxrate",
        f"{SCREEN_VIDEO_KBITS}k",
        "-bufsize",
        f"{SCREEN_VIDEO_KBITS * 2}k",
        # A key frame every 2 s at most: seeking and starting need only a little of the file.
        "-force_key_frames",
        "expr:gte(t,n_forced*2)",
        "-c:a",
        "aac",
        "-ac",
        "1",
        "-b:a",
        f"{SCREEN_AUDIO_KBITS}k",
        "-movflags",
        "+faststart",
        "-threads",
        "2",
        "-fs",
        str(SCREEN_VIDEO_MAX_BYTES),
        "-f",
        "mp4",
        "-y",
        f"file:{target}",
    ]
    try:
        finished = subprocess.run(  # noqa: S603 (a fixed program and arguments, no shell)
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=ENCODE_TIMEOUT_SECONDS,
            preexec_fn=_limits,
            cwd=workdir,
            env={"PATH": "/usr/bin:/bin"},
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning("screen copy of a video: the encoder ran out of time")
        return None
    except OSError as exc:
        log.warning("screen copy of a video: the encoder did not start (%s)", type(exc).__name__)
        return None
    if finished.returncode != 0 or not target.exists():
        # FFmpeg's own message names no patient: the input is always ``source``.
        log.warning(
            "screen copy of a video: the encoder failed",
            extra={"fields": {"returncode": finished.returncode}},
        )
        return None
    data = target.read_bytes()
    if data[4:8] != _MP4_BRAND:
        return None
    return data
