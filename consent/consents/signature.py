"""Drawn signatures: the strokes as signature_pad records them (points and times), checked,
normalised, rendered to SVG; both are hashed into the receipt and kept sealed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from consent.errors import InvalidInput

MAX_STROKES = 200
MAX_POINTS = 20_000
MAX_JSON_BYTES = 512 * 1024
# Below these a mark is a tap or a dot, not a signature (in CSS pixels and milliseconds).
MIN_POINTS = 15
MIN_EXTENT = 40
MIN_DURATION_MS = 300
TRIVIAL = "This is too short to be a signature. Please sign with your name or your usual mark."


@dataclass(frozen=True)
class DrawnSignature:
    strokes_json: bytes  # canonical: [[[x, y, t], ...], ...], rounded
    svg: bytes
    strokes_sha256: str
    svg_sha256: str

    def receipt_block(self) -> dict[str, str]:
        return {
            "kind": "drawn",
            "strokes_sha256": self.strokes_sha256,
            "svg_sha256": self.svg_sha256,
        }


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput("The signature data is not valid.", errors={"signature": ["points"]})
    return float(value)


def parse_strokes(raw: str) -> list[list[tuple[float, float, float]]]:
    """Strokes from signature_pad's toData() JSON: [{points: [{x, y, time}]}].

    Raises InvalidInput for malformed, oversized or trivial input.
    """
    if len(raw.encode()) > MAX_JSON_BYTES:
        raise InvalidInput("The signature is too large.", errors={"signature": ["too large"]})
    try:
        data = json.loads(raw) if raw else []
    except ValueError as exc:
        raise InvalidInput("Please sign in the box.", errors={"signature": ["empty"]}) from exc
    if not isinstance(data, list) or not data:
        raise InvalidInput("Please sign in the box.", errors={"signature": ["empty"]})
    if len(data) > MAX_STROKES:
        raise InvalidInput("The signature has too many strokes.", errors={"signature": ["size"]})
    strokes = []
    total = 0
    for stroke in data:
        points = stroke.get("points") if isinstance(stroke, dict) else None
        if not isinstance(points, list) or not points:
            raise InvalidInput("The signature data is not valid.", errors={"signature": ["form"]})
        total += len(points)
        if total > MAX_POINTS:
            raise InvalidInput("The signature is too large.", errors={"signature": ["size"]})
        strokes.append(
            [
                (
                    round(_number(p.get("x")), 1),
                    round(_number(p.get("y")), 1),
                    round(_number(p.get("time")), 0),
                )
                if isinstance(p, dict)
                else (_number(None), 0.0, 0.0)
                for p in points
            ]
        )
    xs = [p[0] for stroke in strokes for p in stroke]
    ys = [p[1] for stroke in strokes for p in stroke]
    times = [p[2] for stroke in strokes for p in stroke]
    extent = max(max(xs) - min(xs), max(ys) - min(ys))
    if total < MIN_POINTS or extent < MIN_EXTENT or max(times) - min(times) < MIN_DURATION_MS:
        raise InvalidInput(TRIVIAL, errors={"signature": ["trivial"]})
    return strokes


def render_svg(strokes: list[list[tuple[float, float, float]]]) -> bytes:
    """A deterministic SVG of the strokes (one polyline each), fitted to its bounding box."""
    xs = [p[0] for stroke in strokes for p in stroke]
    ys = [p[1] for stroke in strokes for p in stroke]
    left, top = min(xs) - 4, min(ys) - 4
    width, height = max(xs) - left + 4, max(ys) - top + 4
    lines = [
        '<svg xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width:.1f} {height:.1f}" width="{width:.1f}" height="{height:.1f}">'
    ]
    for stroke in strokes:
        points = " ".join(f"{x - left:.1f},{y - top:.1f}" for x, y, _ in stroke)
        lines.append(
            f'<polyline points="{points}" fill="none" stroke="#000" stroke-width="2.5" '
            'stroke-linecap="round" stroke-linejoin="round"/>'
        )
    lines.append("</svg>")
    return "\n".join(lines).encode()


def drawn_signature(raw: str) -> DrawnSignature:
    """Check and normalise a drawn signature. Raises InvalidInput."""
    strokes = parse_strokes(raw)
    strokes_json = json.dumps(strokes, separators=(",", ":")).encode()
    svg = render_svg(strokes)
    return DrawnSignature(
        strokes_json,
        svg,
        hashlib.sha256(strokes_json).hexdigest(),
        hashlib.sha256(svg).hexdigest(),
    )
