"""The backup tests build the interop data set, with the webhook fixtures it needs."""

from tests.webhooks.conftest import (  # noqa: F401  (fixtures, found by name)
    flow,
    hook_config,
    key,
    moving_clock,
)
