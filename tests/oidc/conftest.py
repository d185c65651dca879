"""The sign-on tests' fixtures live in tests/oidc/support.py (the browser tests use them too)."""

from tests.oidc.support import oidc_provider

__all__ = ["oidc_provider"]
