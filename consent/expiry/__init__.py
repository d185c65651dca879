"""Consents past their end date, and consents given for a minor who comes of age."""
