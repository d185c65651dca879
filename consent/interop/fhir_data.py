"""What a FHIR Consent provision covers: the media and case texts by SHA-256, or the
face-masked copies for a use granted only with the patient's face hidden (issue 19)."""

from __future__ import annotations

from typing import Any

from consent.interop.fhir_codes import SHA256_SYSTEM


def provision_data(
    receipt: dict[str, Any], resource_type: str, use: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """What a provision covers: the media and texts, or for a use granted only with the face
    hidden, the face-masked copies instead of the photos (and the texts)."""
    hidden = use is not None and use.get("face") == "hidden"
    media = [
        {
            "meaning": "instance",
            "reference": {
                "type": resource_type,
                "identifier": {"system": SHA256_SYSTEM, "value": item["sha256"]},
            },
        }
        for item in receipt["media"]
        if not hidden
    ] + [
        {
            "meaning": "instance",
            "reference": {
                "type": resource_type,
                "identifier": {"system": SHA256_SYSTEM, "value": item["masked_sha256"]},
                "display": "face-masked copy",
            },
        }
        for item in receipt["media"]
        if hidden and "masked_sha256" in item
    ]
    return media + [
        # The case texts the patient read (issue 20), by the SHA-256 of their normal form.
        {
            "meaning": "instance",
            "reference": {
                "type": "DocumentReference",
                "identifier": {"system": SHA256_SYSTEM, "value": item["sha256"]},
                "display": "case text",
            },
        }
        for item in receipt.get("texts", [])
    ]
