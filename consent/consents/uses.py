"""The uses a patient decides on, one by one."""

from __future__ import annotations

import re

# DOMAIN.md: each use is a separate yes/no choice.
PURPOSES = (
    "care_record",
    "teaching",
    "professional_network",
    "public_social_network",
    "journal_publication",
    "survey",
)
SIGNER_ROLES = ("patient", "legal_representative")
RELATIONSHIPS = ("parent", "guardian", "other_legal_representative")
METHODS = ("tablet", "paper", "integration")
# Channels are free lower-case names (linkedin, x, youtube ...).
CHANNEL = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")


def channel_covered(channels: list[str], channel: str | None) -> bool:
    """Whether a use limited to ``channels`` (empty: any channel) covers ``channel``.

    A caller that names no channel is covered only by a use that is not limited.
    """
    if not channels:
        return True
    return channel is not None and channel in channels
