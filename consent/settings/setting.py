"""What a setting is: its CONSENT_* name, default, coercer and meaning (consent.settings.known
lists them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ENV_PREFIX = "CONSENT_"


@dataclass(frozen=True)
class Setting:
    """One setting: its name (the CONSENT_* variable), default, coercer and meaning."""

    name: str
    attribute: str
    default: Any
    coerce: Callable[[object], Any]
    help: str
    secret: bool = False
    aliases: tuple[str, ...] = ()


MiB = 1024 * 1024


def _s(name: str, default: Any, coerce: Callable[[object], Any], help: str, **kw: Any) -> Setting:
    return Setting(name, name.removeprefix(ENV_PREFIX).lower(), default, coerce, help, **kw)
