"""The uses a form asks about, one by one, and the channels a use may be limited to."""

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
# Channels are free lower-case names (linkedin, x, youtube ...).
CHANNEL = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
