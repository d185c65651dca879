"""The form catalogue: definitions in schemas/forms/, loaded into immutable form versions."""
