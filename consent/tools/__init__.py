"""Command-line tools installed with the package, usable without the service."""
