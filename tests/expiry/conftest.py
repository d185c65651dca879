"""The expiry tests use the webhook fixtures: a receiver, a key that manages webhooks, a clock
the test can move."""

from tests.webhooks.conftest import (  # noqa: F401  (fixtures, found by name)
    flow,
    hook_config,
    key,
    moving_clock,
    receiver,
)
