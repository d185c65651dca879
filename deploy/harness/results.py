"""What the self-test found: one line per check (passed or failed, and why) and the figures."""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


class CheckFailed(Exception):
    """A check whose outcome is not what the deployment must give."""


def require(condition: bool, message: str) -> None:
    """Raises CheckFailed with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


@dataclass
class Results:
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def check(self, name: str) -> Iterator[None]:
        """Run a check: its failure is recorded (with the reason) and the next check runs."""
        started = time.monotonic()
        print(f"-- {name}", flush=True)
        try:
            yield
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, CheckFailed):
                detail += "\n" + "".join(traceback.format_exception(exc)[-4:])
            self.checks.append((name, False, detail))
            print(f"   FAILED: {detail}", flush=True)
        else:
            self.checks.append((name, True, f"{time.monotonic() - started:.1f} s"))
            print(f"   ok ({time.monotonic() - started:.1f} s)", flush=True)

    def figure(self, name: str, value: Any) -> None:
        self.figures[name] = value
        print(f"   {name}: {value}", flush=True)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(passed for _, passed, _ in self.checks)
