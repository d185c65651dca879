"""Checking a setting's value: each coercer takes a Python value (from instance/config.py, a
test, or an environment variable read as JSON when it is a number or true/false) and returns it
checked, or raises ValueError naming the rule it breaks. A value of another type is refused, not
converted: "1" is not a number of proxies."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
RATELIMIT_STORAGES = ("memory://", "redis://", "rediss://", "redis+unix://", "memcached://")


def whole(low: int, high: int) -> Callable[[object], int]:
    def coerce(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return value

    return coerce


def seconds(low: float, high: float) -> Callable[[object], float]:
    def coerce(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"a number of seconds from {low} to {high}")
        if not low <= value <= high:
            raise ValueError(f"a number of seconds from {low} to {high}")
        return float(value)

    return coerce


def flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def text(max_length: int = 500) -> Callable[[object], str]:
    def coerce(value: object) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # an environment variable that reads as a number
        if not isinstance(value, str) or not value.strip() or len(value) > max_length:
            raise ValueError(f"a text of 1 to {max_length} characters")
        return value.strip()

    return coerce


def optional(coerce: Callable[[object], Any]) -> Callable[[object], Any]:
    def maybe(value: object) -> Any:
        return None if value is None or value == "" else coerce(value)

    return maybe


def http_url(value: object) -> str:
    url = text(2000)(value)
    if not url.startswith(("http://", "https://")) or "://" not in url[:8] or " " in url:
        raise ValueError("an http:// or https:// address")
    return url.rstrip("/")


def database_url(value: object) -> str:
    url = text(2000)(value)
    # psycopg 3 is the PostgreSQL driver; accept the plain postgresql:// forms too.
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            url = "postgresql+psycopg://" + url[len(plain) :]
    if not url.startswith(("sqlite:", "postgresql+psycopg://")):
        raise ValueError("a sqlite:/// or postgresql:// address")
    return url


def log_level(value: object) -> str:
    level = text(20)(value).upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"one of {', '.join(LOG_LEVELS)}")
    return level


def rate_limit(value: object) -> str:
    """A Flask-Limiter string ("10 per minute;50 per hour"); empty turns the limit off."""
    from limits import parse_many

    if value is None or value == "":
        return ""
    spec = text(300)(value)
    try:
        parse_many(spec)
    except ValueError as exc:
        raise ValueError('limits such as "10 per minute;50 per hour"') from exc
    return spec


def storage_uri(value: object) -> str:
    uri = text(2000)(value)
    if not uri.startswith(RATELIMIT_STORAGES):
        raise ValueError(f"an address starting with one of {', '.join(RATELIMIT_STORAGES)}")
    return uri


# A provider's group name; a team slug (consent.accounts.models.TEAM_SLUG) or * for no team.
_GROUP_RULE = re.compile(r"^([^=,\s]{1,200})=(\*|[a-z0-9][a-z0-9-]{0,58}[a-z0-9]):([a-z]+)$")
GROUP_MAP_ROLES = ("clinician", "admin", "auditor")


def group_map(value: object) -> str:
    """ "group=team:role,..." (the sign-on's mapping): checked here, parsed by
    consent.accounts.sign_on.parse_group_map."""
    spec = text(4000)(value)
    for rule in spec.split(","):
        match = _GROUP_RULE.match(rule.strip())
        if match is None or match.group(3) not in GROUP_MAP_ROLES:
            raise ValueError(
                'rules "group=team:role" separated by commas (team: a team\'s short name or *; '
                f"role: {', '.join(GROUP_MAP_ROLES)})"
            )
    return spec
