"""The interop tests use the webhook fixtures: a key that manages webhooks and writes consents,
http endpoints allowed, a clock the test can move."""

from tests.webhooks.conftest import (  # noqa: F401  (fixtures, found by name)
    flow,
    hook_config,
    key,
    moving_clock,
)
