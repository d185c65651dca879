"""Backup and restore of the service's records: ``flask --app consent export DIR`` and
``flask --app consent import DIR``. Keys are never part of it (see README, Operating)."""
