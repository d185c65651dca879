"""Scripts that build an app: set up an instance folder (``python -m consent.scripts.bootstrap``,
what `make run` calls) and write the OpenAPI document (``python -m consent.scripts.openapi``)."""
